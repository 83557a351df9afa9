import {
  AssumeRoleCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  ModifySnapshotAttributeCommand,
  DescribeVolumesCommand,
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyEbsDefaultKmsKeyIdCommand,
  ResetEbsDefaultKmsKeyIdCommand,
  RunInstancesCommand,
  waitUntilSnapshotCompleted,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowRoleActions, type Localcloud } from '@opsauto/localcloud';
import { seedEc2, SNAPSHOT_COMPLETED_DELAY_MS, VOLUME_AVAILABLE_DELAY_MS } from '../../packages/localcloud/src/services/ec2.js';
import { availabilityZoneId, kmsKeyArn } from '../../packages/localcloud/src/services/ec2-ebs-encryption.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('localcloud EBS encryption by default, KMS keys and CopySnapshot', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  async function volume(extra: Partial<ConstructorParameters<typeof CreateVolumeCommand>[0]> = {}) {
    const out = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8, ...extra }));
    await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
    return out;
  }

  async function completedSnapshot(volumeId: string, description?: string) {
    const out = await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId, ...(description ? { Description: description } : {}) }));
    await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);
    return out;
  }

  it('is off by default; once enabled, new volumes and instance root volumes are encrypted with the default key, and off again it stops', async () => {
    expect(await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).toMatchObject({ EbsEncryptionByDefault: false, SseType: 'sse-ebs' });
    expect((await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}))).KmsKeyId).toBe('alias/aws/ebs');
    expect((await volume()).Encrypted).toBe(false);

    expect((await ec2.send(new EnableEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(true);
    expect((await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(true);
    const encrypted = await volume();
    expect(encrypted).toMatchObject({ Encrypted: true, KmsKeyId: kmsKeyArn(ACCOUNT, 'us-east-1', 'alias/aws/ebs', 'KmsKeyId') });
    expect(encrypted.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);

    const imageId = seedEc2(cloud.store, ACCOUNT, 'us-east-1', { images: [{ name: 'base' }] }).imageIds[0];
    const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const rootId = run.Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId!;
    expect((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [rootId] }))).Volumes![0]).toMatchObject({ Encrypted: true, KmsKeyId: encrypted.KmsKeyId });

    // Another region is not affected.
    const west = new EC2Client(clientConfig(cloud, 'us-west-2'));
    expect((await west.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(false);
    west.destroy();

    expect((await ec2.send(new DisableEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(false);
    expect((await volume()).Encrypted).toBe(false);
  });

  it('uses the default key set by ModifyEbsDefaultKmsKeyId until it is reset', async () => {
    await ec2.send(new EnableEbsEncryptionByDefaultCommand({}));
    const set = await ec2.send(new ModifyEbsDefaultKmsKeyIdCommand({ KmsKeyId: KEY_ID }));
    expect(set.KmsKeyId).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`);
    expect((await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}))).KmsKeyId).toBe(set.KmsKeyId);
    expect((await volume()).KmsKeyId).toBe(set.KmsKeyId);
    expect((await ec2.send(new ResetEbsDefaultKmsKeyIdCommand({}))).KmsKeyId).toBe('alias/aws/ebs');
    expect(await errorWithStatusOf(ec2.send(new ModifyEbsDefaultKmsKeyIdCommand({ KmsKeyId: 'not a key' })))).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('KmsKeyId') });
  });

  it('keeps the KmsKeyId CreateVolume is given, reports it on the volume and its snapshots, and refuses KmsKeyId without Encrypted', async () => {
    const created = await volume({ Encrypted: true, KmsKeyId: 'alias/backup' });
    expect(created.KmsKeyId).toBe(kmsKeyArn(ACCOUNT, 'us-east-1', 'alias/backup', 'KmsKeyId'));
    const described = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [created.VolumeId!] }))).Volumes![0];
    expect(described).toMatchObject({ Encrypted: true, KmsKeyId: created.KmsKeyId, AvailabilityZone: 'us-east-1a', AvailabilityZoneId: 'use1-az1' });
    const snapshot = await completedSnapshot(created.VolumeId!);
    expect(snapshot).toMatchObject({ Encrypted: true, KmsKeyId: created.KmsKeyId, Description: '' });
    const fromSnapshot = await volume({ SnapshotId: snapshot.SnapshotId!, Size: undefined });
    expect(fromSnapshot).toMatchObject({ Encrypted: true, KmsKeyId: created.KmsKeyId });

    expect(await errorWithStatusOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8, KmsKeyId: KEY_ID })))).toMatchObject({
      name: 'InvalidParameterDependency',
      message: 'The parameter KmsKeyId requires the parameter Encrypted to be set.',
    });
  });

  it('always reports a snapshot description ("" when none) and zone ids of other zones and regions', async () => {
    const plain = await volume();
    await completedSnapshot(plain.VolumeId!);
    const [snap] = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!;
    expect(snap.Description).toBe('');
    expect(snap.KmsKeyId).toBeUndefined();
    expect(availabilityZoneId('us-east-1c')).toBe('use1-az3');
    expect(availabilityZoneId('ap-southeast-2b')).toBe('apse2-az2');
    expect(availabilityZoneId('eu-central-1a')).toBe('euc1-az1');
  });

  it('copies a completed snapshot within the region and from another, encrypting on request, and answers EC2 errors', async () => {
    const plain = await volume();
    const source = await ec2.send(new CreateSnapshotCommand({ VolumeId: plain.VolumeId!, Description: 'nightly' }));
    expect(await errorWithStatusOf(ec2.send(new CopySnapshotCommand({ SourceSnapshotId: source.SnapshotId!, SourceRegion: 'us-east-1' })))).toMatchObject({ name: 'IncorrectState' });
    await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);

    const copy = await ec2.send(
      new CopySnapshotCommand({
        SourceSnapshotId: source.SnapshotId!,
        SourceRegion: 'us-east-1',
        Encrypted: true,
        KmsKeyId: KEY_ID,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'copy', Value: 'yes' }] }],
      }),
    );
    expect(copy.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(copy.Tags).toEqual([{ Key: 'copy', Value: 'yes' }]);
    await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);
    await waitUntilSnapshotCompleted({ client: ec2, maxWaitTime: 5, minDelay: 1 }, { SnapshotIds: [copy.SnapshotId!] });
    const [copied] = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [copy.SnapshotId!] }))).Snapshots!;
    expect(copied).toMatchObject({
      State: 'completed',
      VolumeId: 'vol-ffffffff',
      VolumeSize: 8,
      Description: `[Copied ${source.SnapshotId} from us-east-1]`,
      Encrypted: true,
      KmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`,
    });

    // To another region: the copy is made where the request is sent.
    const west = new EC2Client(clientConfig(cloud, 'us-west-2'));
    const far = await west.send(new CopySnapshotCommand({ SourceSnapshotId: source.SnapshotId!, SourceRegion: 'us-east-1', Description: 'dr copy' }));
    const [farCopy] = (await west.send(new DescribeSnapshotsCommand({ SnapshotIds: [far.SnapshotId!] }))).Snapshots!;
    expect(farCopy).toMatchObject({ State: 'pending', Description: 'dr copy', Encrypted: false });
    expect(await errorWithStatusOf(west.send(new CopySnapshotCommand({ SourceSnapshotId: source.SnapshotId!, SourceRegion: 'eu-west-1' })))).toMatchObject({ name: 'InvalidSnapshot.NotFound' });
    west.destroy();

    expect(await errorWithStatusOf(ec2.send(new CopySnapshotCommand({ SourceSnapshotId: 'snap-x', SourceRegion: 'us-east-1' })))).toMatchObject({ name: 'InvalidSnapshotID.Malformed' });
    expect(await errorWithStatusOf(ec2.send(new CopySnapshotCommand({ SourceSnapshotId: source.SnapshotId!, SourceRegion: 'us-east-1', KmsKeyId: KEY_ID })))).toMatchObject({ name: 'InvalidParameterDependency' });
    expect(await errorWithStatusOf(ec2.send(new CopySnapshotCommand({ SourceSnapshotId: source.SnapshotId!, SourceRegion: 'us-east-1', DryRun: true })))).toMatchObject({ name: 'DryRunOperation', status: 412 });
  });

  it('shares a snapshot and makes it public or private again through createVolumePermission, and never makes an encrypted one public', async () => {
    const plain = await volume();
    const { SnapshotId } = await completedSnapshot(plain.VolumeId!);
    const permissions = async (id = SnapshotId!) => (await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))).CreateVolumePermissions;
    expect(await permissions()).toEqual([]);
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'], UserIds: ['111122223333'] }));
    expect(await permissions()).toEqual([{ Group: 'all' }, { UserId: '111122223333' }]);
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission', CreateVolumePermission: { Remove: [{ Group: 'all' }] } }));
    expect(await permissions()).toEqual([{ UserId: '111122223333' }]);
    expect(await errorWithStatusOf(ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission', UserIds: ['111122223333'] })))).toMatchObject({ name: 'MissingParameter' });

    const secret = await completedSnapshot((await volume({ Encrypted: true })).VolumeId!);
    expect(await errorWithStatusOf(ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: secret.SnapshotId, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] })))).toMatchObject({
      name: 'OperationNotPermitted',
    });
    expect(await permissions(secret.SnapshotId)).toEqual([]);
  });

  it('lists the snapshots others may restore (RestorableByUserIds) and takes the attribute name in any case', async () => {
    const { SnapshotId: shared } = await completedSnapshot((await volume({})).VolumeId!);
    const { SnapshotId: mine } = await completedSnapshot((await volume({})).VolumeId!);
    // AWS's own remediation scripts write the attribute as CreateVolumePermission.
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: shared, Attribute: 'CreateVolumePermission' as 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] }));
    const restorableBy = async (ids: string[]) => (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], RestorableByUserIds: ids }))).Snapshots!.map((s) => s.SnapshotId).sort();
    expect(await restorableBy(['all'])).toEqual([shared]);
    expect(await restorableBy([ACCOUNT])).toEqual([shared, mine].sort());
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: shared, Attribute: 'createVolumePermission', CreateVolumePermission: { Remove: [{ Group: 'all' }] } }));
    expect(await restorableBy(['all'])).toEqual([]);
  });

  it('refuses EnableEbsEncryptionByDefault to a role allowed only to read the setting', async () => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/ebs-reader`;
    await allowRoleActions(cloud.url, { roleArn, actions: ['ec2:GetEbsEncryptionByDefault'] });
    const sts = new STSClient(clientConfig(cloud));
    const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reader' }))).Credentials!;
    sts.destroy();
    const reader = new EC2Client({ ...clientConfig(cloud), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } });
    expect((await reader.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(false);
    expect(await errorWithStatusOf(reader.send(new EnableEbsEncryptionByDefaultCommand({})))).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    reader.destroy();
    expect((await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(false);
  });
});
