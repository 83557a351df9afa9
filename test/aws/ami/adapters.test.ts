import { DisableImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, Ec2ImageCatalog, MAX_PARAMETER_VERSIONS, SsmImageParameter } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { seedEc2 } from '../../../packages/localcloud/src/services/ec2.js';
import { createFamilyImage, waitForImages } from '../../helpers/ec2.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

let cloud: Localcloud;
let clients: AwsClients;
let imageId: string;
let euImageId: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }] }, 'eu-west-1': { images: [{ name: 'base', tags: { team: 'eu' } }] } } });
  clients = new AwsClients('us-east-1', clientConfig(cloud));
  imageId = await createFamilyImage(cloud, new EC2Client(clientConfig(cloud)), 'web-1', 'web');
  euImageId = await createFamilyImage(cloud, new EC2Client(clientConfig(cloud, 'eu-west-1')), 'web-eu-1', 'web');
  await waitForImages(cloud);
});
afterAll(async () => {
  await cloud.stop();
});

describe('Ec2ImageCatalog', () => {
  const catalog = () => new Ec2ImageCatalog(clients);
  const OWN = ['self'];

  it('describes an image with its name, creation date, state, tags and owner', async () => {
    expect(await catalog().describe('us-east-1', imageId, OWN)).toMatchObject({ imageId, region: 'us-east-1', name: 'web-1', state: 'available', tags: { 'opsauto:ami-family': 'web' }, ownerId: '000000000000', creationDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('asks the region it is given, with a client of that region', async () => {
    expect(await catalog().describe('eu-west-1', euImageId, OWN)).toMatchObject({ imageId: euImageId, region: 'eu-west-1' });
    expect(await catalog().describe('us-east-1', euImageId, OWN)).toBeUndefined();
  });

  it('answers undefined for an unknown or malformed image ID', async () => {
    expect(await catalog().describe('us-east-1', 'ami-0123456789abcdef0', OWN)).toBeUndefined();
    expect(await catalog().describe('us-east-1', 'ami-0123456789example', OWN)).toBeUndefined();
    expect(await catalog().ownerOf('us-east-1', 'ami-0123456789abcdef0')).toBeUndefined();
  });

  it("does not describe another account's public image unless its owner is trusted, but tells who owns it", async () => {
    // Prepare
    const [stranger] = seedEc2(cloud.store, '111111111111', 'us-east-1', { images: [{ name: 'web-stranger', public: true, tags: { 'opsauto:ami-family': 'web' } }] }).imageIds;
    // Act
    const untrusted = await catalog().describe('us-east-1', stranger, OWN);
    const trusted = await catalog().describe('us-east-1', stranger, ['self', '111111111111']);
    const owner = await catalog().ownerOf('us-east-1', stranger);
    // Assess
    expect(untrusted).toBeUndefined();
    expect(trusted).toMatchObject({ imageId: stranger, ownerId: '111111111111', name: 'web-stranger' });
    expect(owner).toBe('111111111111');
  });

  it('describes a disabled image as disabled (EC2 hides it unless asked)', async () => {
    const ec2 = new EC2Client(clientConfig(cloud));
    const [doomed] = seedEc2(cloud.store, '000000000000', 'us-east-1', { images: [{ name: 'web-doomed' }] }).imageIds;
    await ec2.send(new DisableImageCommand({ ImageId: doomed }));
    expect(await catalog().describe('us-east-1', doomed, OWN)).toMatchObject({ imageId: doomed, state: 'disabled' });
  });

  it('refuses to describe without an owner, which would let anyone\'s public image through', async () => {
    await expect(catalog().describe('us-east-1', imageId, [])).rejects.toThrow(/at least one owner/);
  });
});

describe('SsmImageParameter', () => {
  const parameter = () => new SsmImageParameter(clients);

  it('writes an aws:ec2:image value, reads it back and labels its version', async () => {
    const name = '/opsauto/test/adapter/latest';
    expect(await parameter().current('us-east-1', name)).toBeUndefined();
    const version = await parameter().put('us-east-1', name, imageId, 'test');
    expect(await parameter().current('us-east-1', name)).toEqual({ value: imageId, version });
    await parameter().label('us-east-1', name, version, [imageId]);
  });

  it('sees a write of an image Parameter Store rejects succeed and never show, as AWS validates asynchronously', async () => {
    const name = '/opsauto/test/rejected/latest';
    await parameter().put('us-east-1', name, imageId, 'test');
    await parameter().put('us-east-1', name, 'ami-0000000000000dead', 'test');
    expect((await parameter().current('us-east-1', name))?.value).toBe(imageId);
  });

  it('makes room so that a parameter whose 100 versions all carry labels takes a new version', async () => {
    const name = '/opsauto/test/full/latest';
    let version = 0;
    for (let i = 0; i < MAX_PARAMETER_VERSIONS; i++) {
      version = await parameter().put('us-east-1', name, imageId, 'test');
      await parameter().label('us-east-1', name, version, [`v${version}`]);
    }
    await expect(parameter().put('us-east-1', name, imageId, 'test')).rejects.toThrow(/ParameterMaxVersionLimitExceeded|oldest/i);
    await parameter().makeRoom('us-east-1', name, version);
    expect(await parameter().put('us-east-1', name, imageId, 'test')).toBe(version + 1);
  });
});
