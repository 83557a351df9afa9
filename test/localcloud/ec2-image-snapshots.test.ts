import { CreateImageCommand, DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { SNAPSHOT_COMPLETED_DELAY_MS, seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { errorWithStatusOf } from '../helpers/errors.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

describe('localcloud EC2 CreateImage snapshots', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;
  let instanceId: string;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
    [instanceId] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'base' }], instances: [{}] }).instanceIds;
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  it('snapshots the root volume for a new image, with EC2 description and the snapshot tags of the request', async () => {
    // Prepare
    const rootVolume = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId;
    // Act
    const { ImageId } = await ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'nightly',
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'Kind', Value: 'image' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'Kind', Value: 'snapshot' }] },
        ],
      }),
    );
    // Assess
    const snapshotId = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const [snapshot] = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots!;
    expect(snapshot).toMatchObject({
      SnapshotId: snapshotId,
      VolumeId: rootVolume,
      State: 'pending',
      OwnerId: ACCOUNT,
      Description: `Created by CreateImage(${instanceId}) for ${ImageId} from ${rootVolume}`,
      Tags: [{ Key: 'Kind', Value: 'snapshot' }],
    });
    await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);
    expect((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots![0].State).toBe('completed');
  });

  it('keeps the snapshot in use while the image is registered, and lets it be deleted once deregistered', async () => {
    // Prepare
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'doomed' }));
    const snapshotId = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;
    // Act
    const inUse = await errorWithStatusOf(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    await ec2.send(new DeregisterImageCommand({ ImageId }));
    const stillThere = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots!.length;
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    // Assess
    expect(inUse).toMatchObject({ name: 'InvalidSnapshot.InUse', status: 400 });
    expect(stillThere).toBe(1);
    expect((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.map((s) => s.SnapshotId)).not.toContain(snapshotId);
  });
});
