import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  paginateListBuckets,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  waitUntilBucketExists,
  waitUntilBucketNotExists,
  type BucketVersioningStatus,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { seedBuckets } from '../../packages/localcloud/src/services/s3.js';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';

const s3Client = (cloud: Localcloud, region = 'us-east-1', extra: { followRegionRedirects?: boolean } = {}) =>
  new S3Client({ forcePathStyle: true, ...clientConfig(cloud, region), ...extra });

describe('localcloud S3', () => {
  let cloud: Localcloud;
  let s3: S3Client;
  let s3eu: S3Client;

  beforeEach(async () => {
    cloud = await startTestCloud();
    s3 = s3Client(cloud);
    s3eu = s3Client(cloud, 'eu-west-1');
  });
  afterEach(async () => {
    s3.destroy();
    s3eu.destroy();
    await cloud.stop();
  });

  const bucketNames = async (client = s3) => (await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name) ?? [];

  describe('CreateBucket and ListBuckets', () => {
    it('creates buckets in us-east-1 and in the client region, and lists them all with their regions', async () => {
      const created = await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-artifacts' }));
      expect(created.Location).toBe('/opsauto-artifacts');
      // The SDK sends the client's region as LocationConstraint outside us-east-1.
      await s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-eu-logs' }));
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-tokyo', CreateBucketConfiguration: { LocationConstraint: 'ap-northeast-1' } }));

      const listed = await s3.send(new ListBucketsCommand({}));
      expect(listed.Buckets?.map((b) => [b.Name, b.BucketRegion])).toEqual([
        ['opsauto-artifacts', 'us-east-1'],
        ['opsauto-eu-logs', 'eu-west-1'],
        ['opsauto-tokyo', 'ap-northeast-1'],
      ]);
      expect(listed.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
      expect(listed.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
      expect(listed.ContinuationToken).toBeUndefined();
      // Buckets belong to the account, whatever region the listing is signed for.
      expect(await bucketNames(s3eu)).toEqual(await bucketNames(s3));
    });

    it('refuses names that break the bucket naming rules', async () => {
      for (const bad of ['ab', 'Upper-Case', 'under_score', '-leading', 'trailing-', 'two..dots', '192.168.5.4', 'xn--punycode', 'name-s3alias', 'a'.repeat(64)]) {
        const err = await errorWithStatusOf(s3.send(new CreateBucketCommand({ Bucket: bad })));
        expect(err, bad).toMatchObject({ name: 'InvalidBucketName', message: 'The specified bucket is not valid.', status: 400 });
      }
      expect(await bucketNames()).toEqual([]);
    });

    it('answers BucketAlreadyOwnedByYou outside us-east-1, and a legacy 200 inside it', async () => {
      await s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-eu' }));
      const again = await errorWithStatusOf(s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-eu' })));
      expect(again).toMatchObject({ name: 'BucketAlreadyOwnedByYou', status: 409 });

      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-us' }));
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-us' }));
      expect(await bucketNames()).toEqual(['opsauto-eu', 'opsauto-us']);
    });

    it('checks the location constraint against the endpoint region', async () => {
      const mismatch = await errorWithStatusOf(s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-x', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } })));
      expect(mismatch).toMatchObject({
        name: 'IllegalLocationConstraintException',
        message: 'The eu-west-2 location constraint is incompatible for the region specific endpoint this request was sent to.',
      });
      const explicitUsEast = await errorWithStatusOf(s3.send(new CreateBucketCommand({ Bucket: 'opsauto-x', CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never } })));
      expect(explicitUsEast).toMatchObject({ name: 'InvalidLocationConstraint' });
    });

    it('pages ListBuckets with MaxBuckets and filters by prefix and region', async () => {
      seedBuckets(cloud.store, ACCOUNT, 'us-east-1', [{ name: 'logs-a' }, { name: 'logs-b' }, { name: 'data-a' }]);
      seedBuckets(cloud.store, ACCOUNT, 'eu-west-1', [{ name: 'logs-eu' }, { name: 'data-eu' }]);
      const pages: string[][] = [];
      for await (const page of paginateListBuckets({ client: s3, pageSize: 2 }, {})) pages.push(page.Buckets!.map((b) => b.Name!));
      expect(pages).toEqual([['data-a', 'data-eu'], ['logs-a', 'logs-b'], ['logs-eu']]);

      const logs = await s3.send(new ListBucketsCommand({ Prefix: 'logs-' }));
      expect(logs.Buckets?.map((b) => b.Name)).toEqual(['logs-a', 'logs-b', 'logs-eu']);
      expect(logs.Prefix).toBe('logs-');
      expect((await s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }))).Buckets?.map((b) => b.Name)).toEqual(['data-eu', 'logs-eu']);
      expect(await errorWithStatusOf(s3.send(new ListBucketsCommand({ MaxBuckets: 0 })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
      expect(await errorWithStatusOf(s3.send(new ListBucketsCommand({ ContinuationToken: 'bogus' })))).toMatchObject({ name: 'InvalidArgument' });
    });
  });

  describe('HeadBucket, GetBucketLocation and DeleteBucket', () => {
    it('reports the bucket region, and the SDK waiters see it exist and then not', async () => {
      await s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-head' }));
      await waitUntilBucketExists({ client: s3eu, maxWaitTime: 5, minDelay: 1 }, { Bucket: 'opsauto-head' });
      expect((await s3eu.send(new HeadBucketCommand({ Bucket: 'opsauto-head' }))).BucketRegion).toBe('eu-west-1');
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'opsauto-head' }))).LocationConstraint).toBe('eu-west-1');

      await s3eu.send(new DeleteBucketCommand({ Bucket: 'opsauto-head' }));
      await waitUntilBucketNotExists({ client: s3eu, maxWaitTime: 5, minDelay: 1 }, { Bucket: 'opsauto-head' });
      expect(await bucketNames()).toEqual([]);
    });

    it('answers NotFound to HeadBucket and NoSuchBucket to the others for a bucket that does not exist', async () => {
      expect(await errorWithStatusOf(s3.send(new HeadBucketCommand({ Bucket: 'opsauto-none' })))).toMatchObject({ name: 'NotFound', status: 404 });
      expect(await errorWithStatusOf(s3.send(new DeleteBucketCommand({ Bucket: 'opsauto-none' })))).toMatchObject({
        name: 'NoSuchBucket',
        message: 'The specified bucket does not exist',
        status: 404,
      });
      expect(await errorWithStatusOf(s3.send(new GetBucketLocationCommand({ Bucket: 'opsauto-none' })))).toMatchObject({ name: 'NoSuchBucket' });
    });

    it('answers us-east-1 buckets with an empty location constraint', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-virginia' }));
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'opsauto-virginia' }))).LocationConstraint).toBeUndefined();
    });
  });

  describe('requests signed for another region than the bucket', () => {
    it('answers 301 PermanentRedirect with the bucket region, which the SDK follows when told to', async () => {
      await s3eu.send(new CreateBucketCommand({ Bucket: 'opsauto-moved' }));
      const redirected = await errorWithStatusOf(s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-moved' })));
      expect(redirected).toMatchObject({ name: 'PermanentRedirect', status: 301 });
      expect((await errorWithStatusOf(s3.send(new HeadBucketCommand({ Bucket: 'opsauto-moved' })))).status).toBe(301);

      const following = s3Client(cloud, 'us-east-1', { followRegionRedirects: true });
      try {
        expect((await following.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-moved' }))).ServerSideEncryptionConfiguration?.Rules).toHaveLength(1);
      } finally {
        following.destroy();
      }
    });
  });

  describe('GetBucketVersioning and PutBucketVersioning', () => {
    it('answers no status before versioning is configured, then Enabled and Suspended', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-versions' }));
      const before = await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-versions' }));
      expect(before.Status).toBeUndefined();
      expect(before.MFADelete).toBeUndefined();

      await s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-versions', VersioningConfiguration: { Status: 'Enabled' } }));
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-versions' }))).Status).toBe('Enabled');
      await s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-versions', VersioningConfiguration: { Status: 'Suspended' } }));
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-versions' }))).Status).toBe('Suspended');
    });

    it('takes the MFA device code to configure MFA delete, and keeps requiring it', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-mfa' }));
      const withoutMfa = await errorWithStatusOf(
        s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-mfa', VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } })),
      );
      expect(withoutMfa).toMatchObject({ name: 'AccessDenied', status: 403 });

      const MFA = `arn:aws:iam::${ACCOUNT}:mfa/root-account-mfa-device 123456`;
      await s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-mfa', MFA, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }));
      expect(await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-mfa' }))).toMatchObject({ Status: 'Enabled', MFADelete: 'Enabled' });
      expect(
        await errorWithStatusOf(s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-mfa', VersioningConfiguration: { Status: 'Suspended' } }))),
      ).toMatchObject({ name: 'AccessDenied' });
    });

    it('refuses a status S3 does not know, and a bucket that does not exist', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-versions' }));
      const illegal = await errorWithStatusOf(
        s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-versions', VersioningConfiguration: { Status: 'Disabled' as BucketVersioningStatus } })),
      );
      expect(illegal).toMatchObject({ name: 'IllegalVersioningConfigurationException', status: 400 });
      expect(await errorWithStatusOf(s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-none' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
      expect(
        await errorWithStatusOf(s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-none', VersioningConfiguration: { Status: 'Enabled' } }))),
      ).toMatchObject({ name: 'NoSuchBucket' });
    });
  });

  describe('GetBucketEncryption and PutBucketEncryption', () => {
    it('answers the SSE-S3 default of every new bucket, then the configuration put, and the default again once deleted', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-secure' }));
      const defaults = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-secure' }));
      expect(defaults.ServerSideEncryptionConfiguration?.Rules).toEqual([{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }]);

      const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: 'opsauto-secure',
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key }, BucketKeyEnabled: true }] },
        }),
      );
      expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-secure' }))).ServerSideEncryptionConfiguration?.Rules).toEqual([
        { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key }, BucketKeyEnabled: true },
      ]);

      await s3.send(new DeleteBucketEncryptionCommand({ Bucket: 'opsauto-secure' }));
      expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-secure' }))).ServerSideEncryptionConfiguration?.Rules?.[0]).toEqual({
        ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
        BucketKeyEnabled: false,
      });
    });

    it('refuses a KMS key with SSE-S3, an unknown algorithm, and a bucket that does not exist', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-secure' }));
      const put = (SSEAlgorithm: string, KMSMasterKeyID?: string, Bucket = 'opsauto-secure') =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket,
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: SSEAlgorithm as never, KMSMasterKeyID } }] },
          }),
        );
      expect(await errorWithStatusOf(put('AES256', 'some-key'))).toMatchObject({ name: 'InvalidArgument', status: 400 });
      expect(await errorWithStatusOf(put('ROT13'))).toMatchObject({ name: 'MalformedXML', status: 400 });
      expect(await errorWithStatusOf(put('AES256', undefined, 'opsauto-none'))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
      expect(await errorWithStatusOf(s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-none' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    });
  });

  it('answers NotImplemented for object operations, which are not emulated', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-objects' }));
    expect(await errorWithStatusOf(s3.send(new PutObjectCommand({ Bucket: 'opsauto-objects', Key: 'a.txt', Body: 'x' })))).toMatchObject({ name: 'NotImplemented', status: 501 });
  });

  it('seeds buckets with their configuration', async () => {
    seedBuckets(cloud.store, ACCOUNT, 'us-east-1', [
      { name: 'opsauto-seeded', versioning: 'Enabled', encryption: { algorithm: 'aws:kms', kmsMasterKeyId: 'alias/aws/s3', bucketKeyEnabled: false } },
    ]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-seeded' }))).Status).toBe('Enabled');
    expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-seeded' }))).ServerSideEncryptionConfiguration?.Rules?.[0]).toEqual({
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/aws/s3' },
      BucketKeyEnabled: false,
    });
    expect(() => seedBuckets(cloud.store, ACCOUNT, 'eu-west-1', [{ name: 'opsauto-seeded' }])).toThrow(/already exists/);
  });

  it('retries a throttled call (SlowDown) to success through the SDK', async () => {
    cloud.faults.set([{ service: 's3', throttleRate: 0.5 }]);
    cloud.calls.reset();
    for (let i = 0; i < 5; i++) expect(await bucketNames()).toEqual([]);
    cloud.faults.set([]);
    expect(cloud.calls.snapshot().s3?.ListBuckets).toBeGreaterThan(5);
  });
});

describe('localcloud S3 state across a restart', () => {
  const dataDirs: string[] = [];
  afterAll(async () => {
    for (const dir of dataDirs) await removeDir(dir);
  });

  it('keeps buckets with their region, versioning and encryption', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-s3-'));
    dataDirs.push(dataDir);
    let cloud = await startTestCloud({ dataDir });
    let s3 = s3Client(cloud, 'eu-west-1');
    await s3.send(new CreateBucketCommand({ Bucket: 'opsauto-kept' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'opsauto-kept', VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'opsauto-kept',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
      }),
    );
    s3.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    s3 = s3Client(cloud, 'eu-west-1');
    try {
      expect(cloud.restored).toBe(true);
      expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => [b.Name, b.BucketRegion])).toEqual([['opsauto-kept', 'eu-west-1']]);
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'opsauto-kept' }))).Status).toBe('Enabled');
      expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: 'opsauto-kept' }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled).toBe(true);
    } finally {
      s3.destroy();
      await cloud.stop();
    }
  });
});
