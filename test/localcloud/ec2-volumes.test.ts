import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  paginateDescribeSnapshots,
  paginateDescribeVolumes,
  RunInstancesCommand,
  waitUntilSnapshotCompleted,
  waitUntilVolumeAvailable,
  waitUntilVolumeDeleted,
  waitUntilVolumeInUse,
  type CreateVolumeCommandInput,
  type Filter,
  type Volume,
} from '@aws-sdk/client-ec2';
import { WaiterState } from '@smithy/util-waiter';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import {
  generateVolumes,
  INSTANCE_RUNNING_DELAY_MS,
  seedEc2,
  seedVolumes,
  SNAPSHOT_COMPLETED_DELAY_MS,
  VOLUME_ATTACH_DELAY_MS,
  VOLUME_AVAILABLE_DELAY_MS,
  VOLUME_DETACH_DELAY_MS,
} from '../../packages/localcloud/src/services/ec2.js';
import { ec2State } from '../../packages/localcloud/src/services/ec2-model.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const DAY = 86_400_000;
/** Fast polling for the SDK's waiters (their defaults wait 15 s between polls). */
const FAST = { minDelay: 0.02, maxDelay: 0.05, maxWaitTime: 5 };

function tagsOf(r: { Tags?: { Key?: string; Value?: string }[] }): Record<string, string | undefined> {
  return Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value]));
}

const tagged = (tags: Record<string, string>) => [{ ResourceType: 'volume' as const, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }];

describe('localcloud EC2 volumes and snapshots', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;
  let imageId: string;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
    imageId = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'al2023-base' }] }).imageIds[0]!;
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  async function volume(input: Partial<CreateVolumeCommandInput> = {}, { settle = true } = {}): Promise<string> {
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 10, ...input }));
    if (settle) await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
    return VolumeId!;
  }

  async function runningInstance(zone = 'us-east-1a'): Promise<string> {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zone } }));
    await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
    return out.Instances![0].InstanceId!;
  }

  const describeOne = async (volumeId: string): Promise<Volume> => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes![0];

  /** Every volume id passing the filters, through the SDK paginator with small pages. */
  async function idsMatching(filters: Filter[], pageSize = 5): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of paginateDescribeVolumes({ client: ec2, pageSize }, { Filters: filters })) ids.push(...(page.Volumes ?? []).map((v) => v.VolumeId!));
    return ids;
  }

  describe('CreateVolume', () => {
    it('creates a gp2 volume that is creating, then available once the clock moves, as the SDK waiter sees it', async () => {
      const before = cloud.clock.nowMs();
      const out = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1b', Size: 80, TagSpecifications: tagged({ Name: 'data', Team: 'ops' }) }));
      expect(out).toMatchObject({ Size: 80, VolumeType: 'gp2', Iops: 240, AvailabilityZone: 'us-east-1b', State: 'creating', Encrypted: false, SnapshotId: '' });
      expect(out.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
      expect(tagsOf(out)).toEqual({ Name: 'data', Team: 'ops' });
      expect(Math.abs(out.CreateTime!.getTime() - before)).toBeLessThan(1000);

      // The waiter polls (creating: retry) while the virtual clock moves past the creation delay.
      const waiting = waitUntilVolumeAvailable({ client: ec2, ...FAST }, { VolumeIds: [out.VolumeId!] });
      await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
      const result = await waiting;
      expect(result.state).toBe(WaiterState.SUCCESS);
      expect(await describeOne(out.VolumeId!)).toMatchObject({ State: 'available', Attachments: [], MultiAttachEnabled: false });
    });

    it('answers a retried request (same ClientToken) with the volume it created', async () => {
      const first = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 5, ClientToken: 'retry-1' }));
      const again = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 5, ClientToken: 'retry-1' }));
      expect(again.VolumeId).toBe(first.VolumeId);
      expect((await ec2.send(new DescribeVolumesCommand({}))).Volumes).toHaveLength(1);
    });

    it('applies the documented defaults of each volume type', async () => {
      const gp3 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 100, VolumeType: 'gp3' }));
      expect(gp3).toMatchObject({ VolumeType: 'gp3', Iops: 3000, Throughput: 125 });
      const io2 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 100, VolumeType: 'io2', Iops: 20_000 }));
      expect(io2).toMatchObject({ VolumeType: 'io2', Iops: 20_000 });
      expect(io2.Throughput).toBeUndefined();
      const st1 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 500, VolumeType: 'st1' }));
      expect(st1.Iops).toBeUndefined();
      const big = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 16_000 }));
      expect(big.Iops).toBe(16_000); // gp2's baseline is capped
    });

    it('rejects what EC2 rejects: missing zone or size, zones of other regions, wrong types, sizes and IOPS', async () => {
      const create = (input: Partial<CreateVolumeCommandInput>) => errorWithStatusOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 10, ...input })));
      expect(await errorWithStatusOf(ec2.send(new CreateVolumeCommand({ Size: 10 } as CreateVolumeCommandInput)))).toMatchObject({ name: 'MissingParameter', status: 400 });
      expect((await create({ Size: undefined })).name).toBe('MissingParameter');
      expect(await create({ AvailabilityZone: 'eu-west-1a' })).toMatchObject({ name: 'InvalidZone.NotFound', message: "The zone 'eu-west-1a' does not exist." });
      expect((await create({ VolumeType: 'gp9' as 'gp2' })).name).toBe('InvalidParameterValue');
      expect((await create({ VolumeType: 'st1', Size: 100 })).name).toBe('InvalidParameterValue');
      expect((await create({ Size: 20_000 })).name).toBe('InvalidParameterValue');
      expect(await create({ VolumeType: 'io1' })).toMatchObject({ name: 'MissingParameter', message: 'The parameter iops must be specified for io1 volumes.' });
      expect(await create({ Iops: 500 })).toMatchObject({ name: 'InvalidParameterCombination', message: 'The parameter iops is not supported for gp2 volumes.' });
      expect((await create({ VolumeType: 'io1', Size: 10, Iops: 1000 })).message).toMatch(/^Iops to volume size ratio of 100\.0+ is too high; maximum is 50\.0+$/);
      expect((await create({ VolumeType: 'gp3', Iops: 100 })).name).toBe('InvalidParameterValue');
      expect((await create({ Throughput: 200 })).name).toBe('InvalidParameterCombination');
      expect((await create({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] })).name).toBe('InvalidParameterValue');
      expect((await ec2.send(new DescribeVolumesCommand({}))).Volumes).toEqual([]);
    });

    it('creates a volume from a completed snapshot, at least as large, and refuses unknown or pending snapshots', async () => {
      const source = await volume({ Size: 50, VolumeType: 'gp3' });
      const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: source }));
      expect((await errorWithStatusOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId })))).name).toBe('IncorrectState');
      await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);

      const restored = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1c', SnapshotId }));
      expect(restored).toMatchObject({ Size: 50, SnapshotId, AvailabilityZone: 'us-east-1c' });
      expect((await errorWithStatusOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId, Size: 20 })))).name).toBe('InvalidParameterValue');
      const missing = await errorWithStatusOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: 'snap-0123456789abcdef0' })));
      expect(missing).toMatchObject({ name: 'InvalidSnapshot.NotFound', message: "The snapshot 'snap-0123456789abcdef0' does not exist." });
    });
  });

  describe('DescribeVolumes', () => {
    it('filters by status, type, zone, tags (with wildcards), tag keys, id, size and create time', async () => {
      const web = await volume({ VolumeType: 'gp3', TagSpecifications: tagged({ Role: 'web', Env: 'prod' }) });
      const db = await volume({ AvailabilityZone: 'us-east-1b', Size: 200, TagSpecifications: tagged({ Role: 'db' }) });
      const fresh = await volume({ TagSpecifications: tagged({ Role: 'worker' }) }, { settle: false });
      const ids = (filters: Filter[]) => idsMatching(filters).then((list) => list.sort());

      expect(await ids([{ Name: 'status', Values: ['available'] }])).toEqual([web, db].sort());
      expect(await ids([{ Name: 'status', Values: ['creating', 'in-use'] }])).toEqual([fresh]);
      expect(await ids([{ Name: 'status', Values: ['*ing'] }])).toEqual([fresh]);
      expect(await ids([{ Name: 'volume-type', Values: ['gp3'] }])).toEqual([web]);
      expect(await ids([{ Name: 'availability-zone', Values: ['us-east-1b'] }])).toEqual([db]);
      expect(await ids([{ Name: 'tag:Role', Values: ['w*'] }])).toEqual([web, fresh].sort());
      expect(await ids([{ Name: 'tag:Role', Values: ['db', 'web'] }, { Name: 'status', Values: ['available'] }])).toEqual([web, db].sort());
      expect(await ids([{ Name: 'tag-key', Values: ['Env'] }])).toEqual([web]);
      expect(await ids([{ Name: 'volume-id', Values: [db, 'vol-0123456789abcdef0'] }])).toEqual([db]);
      expect(await ids([{ Name: 'size', Values: ['200'] }])).toEqual([db]);
      const created = (await describeOne(web)).CreateTime!.toISOString();
      expect(await ids([{ Name: 'create-time', Values: [`${created.slice(0, 4)}*`] }])).toHaveLength(3);
      expect(await ids([{ Name: 'tag:Role', Values: ['cache'] }])).toEqual([]);
    });

    it('answers EC2 errors for unknown and malformed ids, ids with MaxResults, bad page sizes, filters and tokens', async () => {
      const id = await volume();
      const missing = await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [id, 'vol-0123456789abcdef0'] })));
      expect(missing).toMatchObject({ name: 'InvalidVolume.NotFound', message: "The volume 'vol-0123456789abcdef0' does not exist.", status: 400 });
      expect((await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-xyz'] })))).name).toBe('InvalidVolumeID.Malformed');
      expect(await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [id], MaxResults: 5 })))).toMatchObject({
        name: 'InvalidParameterCombination',
        message: 'The parameter volumeSet cannot be used with the parameter maxResults',
      });
      expect((await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
      expect((await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })))).name).toBe('InvalidParameterValue');
      expect((await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: 'not-a-token' })))).name).toBe('InvalidPaginationToken');
    });

    it('pages with the SDK paginator in creation order, without repeats, and serves MaxResults above 500 as 500', async () => {
      const created: string[] = [];
      for (let i = 0; i < 12; i++) created.push(await volume({}, { settle: false }));
      const sizes: number[] = [];
      const seen: string[] = [];
      for await (const page of paginateDescribeVolumes({ client: ec2, pageSize: 5 }, {})) {
        sizes.push(page.Volumes!.length);
        seen.push(...page.Volumes!.map((v) => v.VolumeId!));
      }
      expect(sizes).toEqual([5, 5, 2]);
      expect(seen).toEqual(created);

      generateVolumes(cloud.store, ACCOUNT, REGION, 600, { inUseShare: 0 });
      const big = await ec2.send(new DescribeVolumesCommand({ MaxResults: 1000 }));
      expect(big.Volumes).toHaveLength(500);
      expect(big.NextToken).toBeDefined();
      const rest = await ec2.send(new DescribeVolumesCommand({ MaxResults: 1000, NextToken: big.NextToken }));
      expect(rest.Volumes).toHaveLength(112);
      expect(rest.NextToken).toBeUndefined();
    });

    it('continues a page after its last volume was deleted, and sees volumes created since', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await volume({}, { settle: false }));
      await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
      const first = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
      expect(first.Volumes!.map((v) => v.VolumeId)).toEqual(ids.slice(0, 5));
      await ec2.send(new DeleteVolumeCommand({ VolumeId: ids[4] }));
      const later = await volume({}, { settle: false });
      const second = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: first.NextToken }));
      expect(second.Volumes!.map((v) => v.VolumeId)).toEqual([...ids.slice(5), later]);
    });
  });

  describe('AttachVolume, DetachVolume and DeleteVolume', () => {
    it('attaches a volume (in-use, attaching then attached) and detaches it (detaching, then available), keeping its history', async () => {
      const instanceId = await runningInstance();
      const volumeId = await volume({ TagSpecifications: tagged({ Name: 'logs' }) });
      const attached = await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
      expect(attached).toMatchObject({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf', State: 'attaching' });
      expect(attached.AttachTime).toBeInstanceOf(Date);
      expect((await describeOne(volumeId)).State).toBe('in-use');
      expect((await waitUntilVolumeInUse({ client: ec2, ...FAST }, { VolumeIds: [volumeId] })).state).toBe(WaiterState.SUCCESS);

      await cloud.advance(VOLUME_ATTACH_DELAY_MS);
      expect((await describeOne(volumeId)).Attachments).toEqual([
        { VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf', State: 'attached', AttachTime: attached.AttachTime, DeleteOnTermination: false },
      ]);
      expect(await idsMatching([{ Name: 'attachment.instance-id', Values: [instanceId] }, { Name: 'attachment.status', Values: ['attached'] }])).toHaveLength(2);
      const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0];
      expect(instance.BlockDeviceMappings!.map((m) => [m.DeviceName, m.Ebs?.Status])).toEqual([
        ['/dev/xvda', 'attached'],
        ['/dev/sdf', 'attached'],
      ]);
      expect(instance.BlockDeviceMappings![1].Ebs?.VolumeId).toBe(volumeId);

      const detaching = await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId }));
      expect(detaching).toMatchObject({ VolumeId: volumeId, State: 'detaching' });
      expect((await describeOne(volumeId)).State).toBe('in-use');
      await cloud.advance(VOLUME_DETACH_DELAY_MS);
      expect(await describeOne(volumeId)).toMatchObject({ State: 'available', Attachments: [] });

      const history = ec2State(cloud.store, ACCOUNT, REGION).volumes[volumeId].attachmentHistory;
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ instanceId, device: '/dev/sdf', attachedAt: attached.AttachTime!.toISOString() });
      expect(Date.parse(history[0].detachedAt!) - attached.AttachTime!.getTime()).toBeGreaterThanOrEqual(VOLUME_ATTACH_DELAY_MS + VOLUME_DETACH_DELAY_MS);
    });

    it('gives each launched instance a root volume, tagged by the volume TagSpecification and deleted on termination', async () => {
      const out = await ec2.send(
        new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Backup', Value: 'daily' }] }] }),
      );
      const instanceId = out.Instances![0].InstanceId!;
      const [root] = await idsMatching([{ Name: 'attachment.instance-id', Values: [instanceId] }]);
      expect(await describeOne(root)).toMatchObject({
        State: 'in-use',
        Size: 8,
        VolumeType: 'gp3',
        Tags: [{ Key: 'Backup', Value: 'daily' }],
        Attachments: [{ InstanceId: instanceId, Device: '/dev/xvda', State: 'attached', DeleteOnTermination: true }],
      });
      expect(out.Instances![0].BlockDeviceMappings![0].Ebs?.VolumeId).toBe(root);
    });

    it('ends a forced detachment at once', async () => {
      const instanceId = await runningInstance();
      const volumeId = await volume();
      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdg' }));
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, Force: true }));
      await cloud.settle();
      expect((await describeOne(volumeId)).State).toBe('available');
    });

    it('refuses attachments EC2 refuses: other zone, volume in use or not ready, device taken, unknown resources', async () => {
      const instanceId = await runningInstance();
      const other = await runningInstance();
      const volumeId = await volume();
      const attach = (input: { VolumeId?: string; InstanceId?: string; Device?: string }) =>
        errorWithStatusOf(ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf', ...input })));

      const elsewhere = await volume({ AvailabilityZone: 'us-east-1b' });
      expect(await attach({ VolumeId: elsewhere })).toMatchObject({
        name: 'InvalidVolume.ZoneMismatch',
        message: `The volume '${elsewhere}' is not in the same availability zone as instance '${instanceId}'`,
      });
      const creating = await volume({}, { settle: false });
      expect(await attach({ VolumeId: creating })).toMatchObject({ name: 'IncorrectState', message: `Volume '${creating}' is in the 'creating' state.` });
      expect(await attach({ Device: '/dev/xvda' })).toMatchObject({ name: 'InvalidParameterValue', message: "Invalid value '/dev/xvda' for unixDevice. Attachment point /dev/xvda is already in use" });
      expect((await attach({ Device: 'sdf' })).name).toBe('InvalidParameterValue');
      expect((await attach({ VolumeId: 'vol-0123456789abcdef0' })).name).toBe('InvalidVolume.NotFound');
      expect((await attach({ InstanceId: 'i-0123456789abcdef0' })).name).toBe('InvalidInstanceID.NotFound');

      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
      expect(await attach({ InstanceId: other })).toMatchObject({ name: 'VolumeInUse', message: `${volumeId} is already attached to an instance` });
    });

    it('refuses detachments EC2 refuses: not attached, another instance, the root volume of a running instance', async () => {
      const instanceId = await runningInstance();
      const volumeId = await volume();
      expect(await errorWithStatusOf(ec2.send(new DetachVolumeCommand({ VolumeId: volumeId })))).toMatchObject({
        name: 'IncorrectState',
        message: `Volume '${volumeId}' is in the 'available' state.`,
      });
      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
      expect((await errorWithStatusOf(ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: 'i-0123456789abcdef0' })))).name).toBe('InvalidAttachment.NotFound');
      const root = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId!;
      expect((await errorWithStatusOf(ec2.send(new DetachVolumeCommand({ VolumeId: root })))).message).toBe(`Unable to detach root volume '${root}' from instance '${instanceId}'`);
      expect((await errorWithStatusOf(ec2.send(new DetachVolumeCommand({ VolumeId: 'vol-0123456789abcdef0' })))).name).toBe('InvalidVolume.NotFound');
    });

    it('deletes an available volume (the SDK waiter sees it gone) and refuses one in use with VolumeInUse', async () => {
      const instanceId = await runningInstance();
      const volumeId = await volume();
      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
      expect(await errorWithStatusOf(ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })))).toMatchObject({
        name: 'VolumeInUse',
        message: `Volume ${volumeId} is currently attached to ${instanceId}`,
      });
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }));
      await cloud.advance(VOLUME_DETACH_DELAY_MS);
      await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      expect((await waitUntilVolumeDeleted({ client: ec2, ...FAST }, { VolumeIds: [volumeId] })).state).toBe(WaiterState.SUCCESS);
      expect((await errorWithStatusOf(ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })))).name).toBe('InvalidVolume.NotFound');
      const creating = await volume({}, { settle: false });
      expect((await errorWithStatusOf(ec2.send(new DeleteVolumeCommand({ VolumeId: creating })))).name).toBe('IncorrectState');
    });
  });

  describe('indexes', () => {
    it('answer filtered pages as a full scan would, after a mix of creations, attachments, detachments, deletions and tag changes', async () => {
      const instances = [await runningInstance(), await runningInstance()];
      const ids: string[] = [];
      for (let i = 0; i < 24; i++) {
        ids.push(await volume({ VolumeType: i % 3 === 0 ? 'gp3' : 'gp2', TagSpecifications: tagged({ Env: ['prod', 'dev'][i % 2], Slot: String(i % 4) }) }, { settle: false }));
      }
      await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
      const devices = ['/dev/sdf', '/dev/sdg', '/dev/sdh', '/dev/sdi', '/dev/sdj', '/dev/sdk'];
      for (let i = 0; i < 12; i++) {
        await ec2.send(new AttachVolumeCommand({ VolumeId: ids[i], InstanceId: instances[i % 2], Device: devices[Math.floor(i / 2)] }));
      }
      await cloud.advance(VOLUME_ATTACH_DELAY_MS);
      for (const i of [0, 3, 6]) await ec2.send(new DetachVolumeCommand({ VolumeId: ids[i] }));
      await ec2.send(new DetachVolumeCommand({ VolumeId: ids[9] })); // still detaching when we look
      await cloud.advance(VOLUME_DETACH_DELAY_MS);
      await ec2.send(new DetachVolumeCommand({ VolumeId: ids[1] }));
      for (const i of [0, 13, 20]) await ec2.send(new DeleteVolumeCommand({ VolumeId: ids[i] }));
      await ec2.send(new CreateTagsCommand({ Resources: [ids[14], ids[15]], Tags: [{ Key: 'Env', Value: 'staging' }, { Key: 'Owner', Value: 'me' }] }));
      await ec2.send(new DeleteTagsCommand({ Resources: [ids[16]], Tags: [{ Key: 'Env' }] }));
      await volume({ TagSpecifications: tagged({ Env: 'prod' }) }, { settle: false });

      const everything: Volume[] = [];
      for await (const page of paginateDescribeVolumes({ client: ec2 }, {})) everything.push(...page.Volumes!);
      expect(everything).toHaveLength(2 + 24 - 3 + 1);
      const scan = (keep: (v: Volume) => boolean) => everything.filter(keep).map((v) => v.VolumeId!);
      const cases: [Filter[], (v: Volume) => boolean][] = [
        [[{ Name: 'status', Values: ['available'] }], (v) => v.State === 'available'],
        [[{ Name: 'status', Values: ['in-use'] }], (v) => v.State === 'in-use'],
        [[{ Name: 'status', Values: ['creating'] }], (v) => v.State === 'creating'],
        [[{ Name: 'attachment.status', Values: ['detaching'] }], (v) => v.Attachments?.[0]?.State === 'detaching'],
        [[{ Name: 'attachment.instance-id', Values: [instances[0]] }], (v) => v.Attachments?.[0]?.InstanceId === instances[0]],
        [[{ Name: 'tag:Env', Values: ['prod'] }], (v) => tagsOf(v).Env === 'prod'],
        [[{ Name: 'tag:Env', Values: ['staging'] }, { Name: 'status', Values: ['available'] }], (v) => tagsOf(v).Env === 'staging' && v.State === 'available'],
        [[{ Name: 'tag-key', Values: ['Env', 'Owner'] }], (v) => 'Env' in tagsOf(v) || 'Owner' in tagsOf(v)],
        [[{ Name: 'volume-type', Values: ['gp3'] }, { Name: 'tag:Slot', Values: ['1', '2'] }], (v) => v.VolumeType === 'gp3' && ['1', '2'].includes(tagsOf(v).Slot!)],
      ];
      for (const [filters, keep] of cases) {
        const expected = scan(keep);
        expect(expected.length, JSON.stringify(filters)).toBeGreaterThan(0);
        expect(await idsMatching(filters, 5), JSON.stringify(filters)).toEqual(expected);
      }
    });

    it('answer wildcards over a tag with many values (merged candidate lists) as a full scan would', async () => {
      generateVolumes(cloud.store, ACCOUNT, REGION, 400, { inUseShare: 0.25 });
      const everything: Volume[] = [];
      for await (const page of paginateDescribeVolumes({ client: ec2, pageSize: 500 }, {})) everything.push(...page.Volumes!);
      const expected = everything.filter((v) => /^generated-1/.test(tagsOf(v).Name!) && v.State === 'available').map((v) => v.VolumeId!);
      expect(expected.length).toBeGreaterThan(16);
      const filters = [
        { Name: 'tag:Name', Values: ['generated-1*'] },
        { Name: 'status', Values: ['available'] },
      ];
      expect(await idsMatching(filters, 7)).toEqual(expected);
    });
  });

  describe('snapshots', () => {
    it('creates a snapshot pending, completed once the clock moves, with description and tags', async () => {
      const volumeId = await volume({ Size: 30 });
      const out = await ec2.send(
        new CreateSnapshotCommand({ VolumeId: volumeId, Description: 'before cleanup', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'Reason', Value: 'stale' }] }] }),
      );
      expect(out).toMatchObject({ VolumeId: volumeId, VolumeSize: 30, State: 'pending', Progress: '0%', OwnerId: ACCOUNT, Description: 'before cleanup', Encrypted: false });
      expect(out.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
      expect(tagsOf(out)).toEqual({ Reason: 'stale' });

      const waiting = waitUntilSnapshotCompleted({ client: ec2, ...FAST }, { SnapshotIds: [out.SnapshotId!] });
      await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);
      expect((await waiting).state).toBe(WaiterState.SUCCESS);
      const [snapshot] = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [out.SnapshotId!] }))).Snapshots!;
      expect(snapshot).toMatchObject({ State: 'completed', Progress: '100%', StorageTier: 'standard' });
      expect(snapshot.CompletionTime!.getTime() - snapshot.StartTime!.getTime()).toBe(SNAPSHOT_COMPLETED_DELAY_MS);
    });

    it('filters and pages snapshots, and finds only the account\'s own', async () => {
      // The seeded images' root snapshots are the account's too.
      const seeded = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.length;
      const a = await volume();
      const b = await volume();
      const snaps: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: i < 5 ? a : b, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'N', Value: String(i) }] }] }));
        snaps.push(SnapshotId!);
      }
      await cloud.advance(SNAPSHOT_COMPLETED_DELAY_MS);
      await ec2.send(new CreateSnapshotCommand({ VolumeId: b }));
      const ids = async (input: { Filters?: Filter[]; OwnerIds?: string[] }) => (await ec2.send(new DescribeSnapshotsCommand(input))).Snapshots!.map((s) => s.SnapshotId);

      expect(await ids({ Filters: [{ Name: 'volume-id', Values: [b] }, { Name: 'status', Values: ['completed'] }] })).toEqual(snaps.slice(5));
      expect(await ids({ Filters: [{ Name: 'tag:N', Values: ['1', '3'] }] })).toEqual([snaps[1], snaps[3]]);
      expect(await ids({ OwnerIds: ['self'] })).toHaveLength(seeded + 8);
      expect(await ids({ OwnerIds: [ACCOUNT] })).toHaveLength(seeded + 8);
      expect(await ids({ OwnerIds: ['amazon'] })).toEqual([]);

      const sizes: number[] = [];
      for await (const page of paginateDescribeSnapshots({ client: ec2, pageSize: 5 }, { OwnerIds: ['self'] })) sizes.push(page.Snapshots!.length);
      expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(seeded + 8);
      expect(sizes.slice(0, -1).every((n) => n === 5)).toBe(true);
    });

    it('answers EC2 errors for unknown volumes and snapshots, malformed ids and ids with MaxResults', async () => {
      expect((await errorWithStatusOf(ec2.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0' })))).name).toBe('InvalidVolume.NotFound');
      expect((await errorWithStatusOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0123456789abcdef0'] })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorWithStatusOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-nope'] })))).name).toBe('InvalidSnapshotID.Malformed');
      expect((await errorWithStatusOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0123456789abcdef0'], MaxResults: 5 })))).message).toBe(
        'The parameter snapshotSet cannot be used with the parameter maxResults',
      );
      expect((await errorWithStatusOf(ec2.send(new DeleteSnapshotCommand({ SnapshotId: 'snap-0123456789abcdef0' })))).name).toBe('InvalidSnapshot.NotFound');
    });

    it('deletes a snapshot, which leaves DescribeSnapshots', async () => {
      const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: await volume() }));
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId }));
      expect((await ec2.send(new DescribeSnapshotsCommand({}))).Snapshots!.map((s) => s.SnapshotId)).not.toContain(SnapshotId);
    });
  });

  describe('tags on volumes and snapshots', () => {
    it('tags and untags volumes and snapshots, and tag filters follow', async () => {
      const volumeId = await volume({ TagSpecifications: tagged({ Keep: 'yes' }) });
      const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }));
      await ec2.send(new CreateTagsCommand({ Resources: [volumeId, SnapshotId!], Tags: [{ Key: 'Owner', Value: 'ops' }] }));
      expect(tagsOf(await describeOne(volumeId))).toEqual({ Keep: 'yes', Owner: 'ops' });
      expect(tagsOf((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [SnapshotId!] }))).Snapshots![0])).toEqual({ Owner: 'ops' });
      expect(await idsMatching([{ Name: 'tag:Owner', Values: ['ops'] }])).toEqual([volumeId]);

      await ec2.send(new DeleteTagsCommand({ Resources: [volumeId, SnapshotId!], Tags: [{ Key: 'Owner' }] }));
      expect(tagsOf(await describeOne(volumeId))).toEqual({ Keep: 'yes' });
      expect(await idsMatching([{ Name: 'tag:Owner', Values: ['ops'] }])).toEqual([]);
      expect(await idsMatching([{ Name: 'tag-key', Values: ['Keep'] }])).toEqual([volumeId]);
    });

    it('answers tagging an unknown volume or snapshot with its NotFound code and changes nothing', async () => {
      const volumeId = await volume();
      const err = await errorWithStatusOf(ec2.send(new CreateTagsCommand({ Resources: [volumeId, 'vol-0123456789abcdef0'], Tags: [{ Key: 'A', Value: 'b' }] })));
      expect(err.name).toBe('InvalidVolume.NotFound');
      expect((await describeOne(volumeId)).Tags).toBeUndefined();
      expect((await errorWithStatusOf(ec2.send(new DeleteTagsCommand({ Resources: ['snap-0123456789abcdef0'] })))).name).toBe('InvalidSnapshot.NotFound');
    });
  });

  describe('seedVolumes and generateVolumes', () => {
    it('seeds a volume created a year ago and detached yesterday, and one attached to a seeded instance', async () => {
      const now = cloud.clock.nowMs();
      const [instanceId] = seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{ availabilityZone: 'us-east-1b' }] }).instanceIds;
      const yearAgo = new Date(now - 365 * DAY).toISOString();
      const yesterday = new Date(now - DAY).toISOString();
      const [detached, attached] = seedVolumes(cloud.store, ACCOUNT, REGION, now, [
        { size: 100, type: 'gp3', createTime: yearAgo, tags: { Team: 'data' }, history: [{ instanceId: 'i-0aaaaaaaaaaaaaaaa', attachedAt: yearAgo, detachedAt: yesterday }] },
        { size: 20, attachedTo: instanceId, createTime: yearAgo },
      ]);

      expect(await describeOne(detached)).toMatchObject({ State: 'available', Size: 100, VolumeType: 'gp3', CreateTime: new Date(yearAgo), AvailabilityZone: 'us-east-1a' });
      expect(tagsOf(await describeOne(detached))).toEqual({ Team: 'data' });
      expect(ec2State(cloud.store, ACCOUNT, REGION).volumes[detached].attachmentHistory).toEqual([
        { instanceId: 'i-0aaaaaaaaaaaaaaaa', attachedAt: yearAgo, detachedAt: yesterday },
      ]);
      expect(await describeOne(attached)).toMatchObject({
        State: 'in-use',
        AvailabilityZone: 'us-east-1b',
        Attachments: [{ InstanceId: instanceId, Device: '/dev/sdf', State: 'attached', AttachTime: new Date(yearAgo) }],
      });
      const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0];
      expect(instance.BlockDeviceMappings!.map((m) => m.DeviceName)).toEqual(['/dev/xvda', '/dev/sdf']);
    });

    it('refuses seeds that cannot be: unknown instances, bad times, overlapping history, another zone', () => {
      const now = cloud.clock.nowMs();
      const [instanceId] = seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{}] }).instanceIds;
      const seed = (spec: Parameters<typeof seedVolumes>[4][number]) => () => seedVolumes(cloud.store, ACCOUNT, REGION, now, [spec]);
      expect(seed({ attachedTo: 'i-0123456789abcdef0' })).toThrow(/volume 1: attachedTo i-0123456789abcdef0 is not an instance of this region/);
      expect(seed({ createTime: 'yesterday' })).toThrow(/createTime yesterday is not an ISO-8601 time/);
      expect(
        seed({
          createTime: '2025-01-01T00:00:00Z',
          history: [
            { instanceId, attachedAt: '2025-01-02T00:00:00Z' },
            { instanceId, attachedAt: '2025-02-01T00:00:00Z', detachedAt: '2025-03-01T00:00:00Z' },
          ],
        }),
      ).toThrow(/history\[0\] has no detachedAt/);
      expect(seed({ createTime: '2025-01-01T00:00:00Z', history: [{ instanceId, attachedAt: '2024-12-01T00:00:00Z', detachedAt: '2025-02-01T00:00:00Z' }] })).toThrow(/before the createTime/);
      expect(seed({ attachedTo: instanceId, availabilityZone: 'us-east-1c' })).toThrow(/is not the zone of instance/);
      expect(seed({ type: 'st1', size: 10 })).toThrow(/volume 1: Volume of 10GiB is invalid for volume type st1/);
    });

    it('generates 10,000 volumes consistent with their instances (how fast: npm run bench describe-volumes)', async () => {
      const { volumeIds, instanceIds } = generateVolumes(cloud.store, ACCOUNT, REGION, 10_000, { inUseShare: 0.4, volumesPerInstance: 4 });
      expect(volumeIds).toHaveLength(10_000);
      expect(new Set(volumeIds).size).toBe(10_000);
      expect(instanceIds).toHaveLength(1_000);

      let inUse = 0;
      for await (const page of paginateDescribeVolumes({ client: ec2, pageSize: 500 }, { Filters: [{ Name: 'status', Values: ['in-use'] }] })) inUse += page.Volumes!.length;
      expect(inUse).toBe(4_000);
      const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceIds[0]] }))).Reservations![0].Instances![0];
      expect(instance.State?.Name).toBe('running');
      expect(instance.BlockDeviceMappings!.map((m) => m.Ebs!.VolumeId)).toEqual(volumeIds.slice(0, 4));
      expect(instance.RootDeviceName).toBe('/dev/xvda');
      expect(instance.BlockDeviceMappings![0].DeviceName).toBe('/dev/xvda');
    });
  });
});

describe('localcloud EC2 volumes across a restart', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'localcloud-ec2-volumes-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('keeps volumes, snapshots and histories, rebuilds the indexes, and finishes a creation begun before', async () => {
    let cloud = await startTestCloud({ dataDir });
    let ec2 = new EC2Client(clientConfig(cloud));
    const { volumeIds } = generateVolumes(cloud.store, ACCOUNT, REGION, 300, { inUseShare: 0.5 });
    const { VolumeId: creating } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 5, TagSpecifications: tagged({ Marker: 'restart' }) }));
    const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeIds[0] }));
    const statusCount = async (client: EC2Client, status: string) => {
      let n = 0;
      for await (const page of paginateDescribeVolumes({ client, pageSize: 50 }, { Filters: [{ Name: 'status', Values: [status] }] })) n += page.Volumes!.length;
      return n;
    };
    expect(await statusCount(ec2, 'available')).toBe(150);
    const history = ec2State(cloud.store, ACCOUNT, REGION).volumes[volumeIds[299]].attachmentHistory;
    ec2.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    ec2 = new EC2Client(clientConfig(cloud));
    try {
      expect(cloud.restored).toBe(true);
      expect(await statusCount(ec2, 'in-use')).toBe(150);
      expect(await statusCount(ec2, 'creating')).toBe(1);
      await cloud.advance(Math.max(VOLUME_AVAILABLE_DELAY_MS, SNAPSHOT_COMPLETED_DELAY_MS));
      expect(await statusCount(ec2, 'available')).toBe(151);
      expect((await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Marker', Values: ['restart'] }] }))).Volumes!.map((v) => v.VolumeId)).toEqual([creating]);
      expect((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [SnapshotId!] }))).Snapshots![0].State).toBe('completed');
      expect(ec2State(cloud.store, ACCOUNT, REGION).volumes[volumeIds[299]].attachmentHistory).toEqual(history);

      // The rebuilt index keeps up with changes made after the restart.
      await ec2.send(new DeleteVolumeCommand({ VolumeId: creating }));
      expect(await statusCount(ec2, 'available')).toBe(150);
    } finally {
      ec2.destroy();
      await cloud.stop();
    }
  });
});
