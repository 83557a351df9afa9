import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DisableImageCommand,
  EC2Client,
  paginateDescribeImages,
  paginateDescribeInstances,
  RunInstancesCommand,
  type DescribeImagesCommandInput,
  type Image,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { IMAGE_AVAILABLE_DELAY_MS, INSTANCE_RUNNING_DELAY_MS, seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

function tagsOf(r: { Tags?: { Key?: string; Value?: string }[] }): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const t of r.Tags ?? []) out[t.Key ?? ''] = t.Value;
  return out;
}

describe('localcloud EC2', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;
  let baseImage: string;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
    baseImage = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'al2023-base', tags: { Family: 'base' } }] }).imageIds[0]!;
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  async function launch(count = 1, tags: Record<string, string> = {}): Promise<Instance[]> {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: baseImage,
        MinCount: count,
        MaxCount: count,
        InstanceType: 't3.micro',
        TagSpecifications: Object.keys(tags).length ? [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] : undefined,
      }),
    );
    return out.Instances ?? [];
  }

  async function runningInstance(tags: Record<string, string> = {}): Promise<string> {
    const [instance] = await launch(1, tags);
    await cloud.clock.advance(INSTANCE_RUNNING_DELAY_MS);
    await cloud.settle();
    return instance.InstanceId!;
  }

  describe('RunInstances and DescribeInstances', () => {
    it('launches instances pending and running after the virtual delay, with state-change events', async () => {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: baseImage,
          MinCount: 1,
          MaxCount: 2,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'builder' }] }],
        }),
      );
      expect(out.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
      expect(out.OwnerId).toBe(ACCOUNT);
      expect(out.Instances).toHaveLength(2);
      const ids = out.Instances!.map((i) => i.InstanceId!);
      for (const [index, i] of out.Instances!.entries()) {
        expect(i.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
        expect(i.State).toEqual({ Code: 0, Name: 'pending' });
        expect(i.InstanceType).toBe('m1.small');
        expect(i.ImageId).toBe(baseImage);
        expect(i.AmiLaunchIndex).toBe(index);
        expect(i.LaunchTime).toBeInstanceOf(Date);
        expect(i.Placement?.AvailabilityZone).toBe('us-east-1a');
        expect(tagsOf(i)).toEqual({ Name: 'builder' });
      }

      // Real time runs on under the virtual clock too, so stop well short of the delay.
      await cloud.clock.advance(INSTANCE_RUNNING_DELAY_MS - 1000);
      await cloud.settle();
      let described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      expect(described.Reservations?.[0]?.Instances?.map((i) => i.State?.Name)).toEqual(['pending', 'pending']);

      await cloud.clock.advance(1000);
      await cloud.settle();
      described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      expect(described.Reservations).toHaveLength(1);
      expect(described.Reservations?.[0]?.ReservationId).toBe(out.ReservationId);
      expect(described.Reservations?.[0]?.Instances?.map((i) => i.State)).toEqual([
        { Code: 16, Name: 'running' },
        { Code: 16, Name: 'running' },
      ]);

      const events = cloud.bus.recent.filter((e) => e['detail-type'] === 'EC2 Instance State-change Notification');
      const expected = (state: string) => ids.map((id) => [{ 'instance-id': id, state }, 'aws.ec2', [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`]]);
      expect(events.map((e) => [e.detail, e.source, e.resources])).toEqual([...expected('pending'), ...expected('running')]);
    });

    it('rejects RunInstances with an AMI that does not exist with InvalidAMIID.NotFound', async () => {
      const err = await errorWithStatusOf(ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1 })));
      expect(err.name).toBe('InvalidAMIID.NotFound');
      expect(err.message).toBe("The image id '[ami-0123456789abcdef0]' does not exist");
      expect(err.status).toBe(400);
    });

    it('rejects RunInstances with a malformed AMI id or MinCount above MaxCount', async () => {
      expect((await errorWithStatusOf(ec2.send(new RunInstancesCommand({ ImageId: 'not-an-ami', MinCount: 1, MaxCount: 1 })))).name).toBe('InvalidAMIID.Malformed');
      expect((await errorWithStatusOf(ec2.send(new RunInstancesCommand({ ImageId: baseImage, MinCount: 3, MaxCount: 2 })))).name).toBe('InvalidParameterValue');
    });

    it('filters DescribeInstances by state, id, type and tags', async () => {
      const web = await runningInstance({ Role: 'web', Env: 'prod' });
      const [pendingDb] = await launch(1, { Role: 'db' });
      const ids = (filters: { Name: string; Values: string[] }[]) =>
        ec2.send(new DescribeInstancesCommand({ Filters: filters })).then((o) => (o.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId).sort());

      expect(await ids([{ Name: 'instance-state-name', Values: ['running'] }])).toEqual([web]);
      expect(await ids([{ Name: 'instance-state-name', Values: ['pending', 'running'] }])).toEqual([web, pendingDb.InstanceId].sort());
      expect(await ids([{ Name: 'tag:Role', Values: ['db'] }])).toEqual([pendingDb.InstanceId]);
      expect(await ids([{ Name: 'tag:Role', Values: ['w*'] }])).toEqual([web]);
      expect(await ids([{ Name: 'tag-key', Values: ['Env'] }])).toEqual([web]);
      expect(await ids([{ Name: 'instance-id', Values: [web] }])).toEqual([web]);
      expect(await ids([{ Name: 'instance-type', Values: ['t3.micro'] }, { Name: 'tag:Env', Values: ['prod'] }])).toEqual([web]);
      expect(await ids([{ Name: 'tag:Role', Values: ['cache'] }])).toEqual([]);
    });

    it('pages DescribeInstances with the SDK paginator', async () => {
      const launched = await launch(7);
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {})) {
        pages++;
        seen.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!));
      }
      expect(pages).toBe(2);
      expect(seen.sort()).toEqual(launched.map((i) => i.InstanceId!).sort());
    });

    it('answers DescribeInstances for an unknown instance id with InvalidInstanceID.NotFound', async () => {
      const err = await errorWithStatusOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
      expect(err.name).toBe('InvalidInstanceID.NotFound');
      expect(err.message).toContain('i-0123456789abcdef0');
    });

    it('answers an unknown filter name with InvalidParameterValue and a MaxResults below 5 too', async () => {
      expect((await errorWithStatusOf(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })))).name).toBe('InvalidParameterValue');
      expect((await errorWithStatusOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 2 })))).name).toBe('InvalidParameterValue');
    });
  });

  describe('CreateImage and the AMI lifecycle', () => {
    it('creates an image pending that becomes available after the delay, with an EC2 AMI State Change event', async () => {
      const instanceId = await runningInstance();
      const createdAt = cloud.clock.now();
      const { ImageId } = await ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: 'golden-2026-11-22',
          Description: 'golden image',
          NoReboot: true,
          TagSpecifications: [
            { ResourceType: 'image', Tags: [{ Key: 'Family', Value: 'golden' }] },
            { ResourceType: 'snapshot', Tags: [{ Key: 'Family', Value: 'golden' }] },
          ],
        }),
      );
      expect(ImageId).toMatch(/^ami-[0-9a-f]{17}$/);

      let [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images!;
      expect(image).toMatchObject({
        ImageId,
        Name: 'golden-2026-11-22',
        Description: 'golden image',
        State: 'pending',
        OwnerId: ACCOUNT,
        Public: false,
        ImageType: 'machine',
        Architecture: 'x86_64',
        RootDeviceType: 'ebs',
        RootDeviceName: '/dev/xvda',
        SourceInstanceId: instanceId,
        Tags: [{ Key: 'Family', Value: 'golden' }],
      });
      // creationDate is the virtual time of the call, ISO-8601 with milliseconds as EC2 writes it.
      expect(image.CreationDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(image.CreationDate!) - createdAt.getTime())).toBeLessThan(1000);
      expect(image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
      expect(cloud.bus.recent.some((e) => e['detail-type'] === 'EC2 AMI State Change')).toBe(false);

      await cloud.clock.advance(IMAGE_AVAILABLE_DELAY_MS);
      await cloud.settle();
      [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images!;
      expect(image.State).toBe('available');

      // The event has the shape of AWS's documented sample (awsdocs-ec2__ami-state-change_available.json).
      const event = cloud.bus.recent.find((e) => e['detail-type'] === 'EC2 AMI State Change');
      expect(event).toMatchObject({
        version: '0',
        source: 'aws.ec2',
        account: ACCOUNT,
        region: REGION,
        resources: [`arn:aws:ec2:${REGION}::image/${ImageId}`],
        detail: { ImageId, State: 'available', ErrorMessage: '' },
      });
      expect(Object.keys(event!.detail as object).sort()).toEqual(['ErrorMessage', 'ImageId', 'RequestId', 'State']);
      expect((event!.detail as { RequestId: string }).RequestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(event!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('rejects a second image with the same name with InvalidAMIName.Duplicate', async () => {
      const instanceId = await runningInstance();
      await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'nightly' }));
      const err = await errorWithStatusOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'nightly' })));
      expect(err.name).toBe('InvalidAMIName.Duplicate');
      expect(err.message).toMatch(/^AMI name nightly is already in use by AMI ami-[0-9a-f]{17}$/);
    });

    it('rejects CreateImage for an unknown instance, a pending instance and a malformed name', async () => {
      expect((await errorWithStatusOf(ec2.send(new CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'x-image' })))).name).toBe('InvalidInstanceID.NotFound');
      const [pending] = await launch();
      expect((await errorWithStatusOf(ec2.send(new CreateImageCommand({ InstanceId: pending.InstanceId, Name: 'too-early' })))).name).toBe('IncorrectState');
      const running = await runningInstance();
      expect((await errorWithStatusOf(ec2.send(new CreateImageCommand({ InstanceId: running, Name: 'no' })))).name).toBe('InvalidAMIName.Malformed');
    });

    it('does not make a deregistered pending image available later', async () => {
      const instanceId = await runningInstance();
      const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'short-lived' }));
      await ec2.send(new DeregisterImageCommand({ ImageId }));
      await cloud.clock.advance(IMAGE_AVAILABLE_DELAY_MS);
      await cloud.settle();
      const states = cloud.bus.recent.filter((e) => e['detail-type'] === 'EC2 AMI State Change').map((e) => (e.detail as { State: string }).State);
      expect(states).toEqual(['deregistered']);
    });
  });

  describe('DescribeImages', () => {
    let ids: Record<string, string>;
    beforeEach(() => {
      const seeded = seedEc2(cloud.store, ACCOUNT, REGION, {
        images: [
          { name: 'golden-2026-01', tags: { Family: 'golden' }, creationDate: '2026-01-01T00:00:00.000Z' },
          { name: 'golden-2026-02', tags: { Family: 'golden' }, creationDate: '2026-02-01T00:00:00.000Z' },
          { name: 'golden-2026-03', tags: { Family: 'golden', Pinned: 'yes' }, state: 'pending' },
          { name: 'web-2026-01', tags: { Family: 'web' } },
        ],
      });
      ids = Object.fromEntries(['g1', 'g2', 'g3', 'w1'].map((k, i) => [k, seeded.imageIds[i]]));
    });

    const describeIds = (client: EC2Client, input: DescribeImagesCommandInput) =>
      client.send(new DescribeImagesCommand(input)).then((o) => (o.Images ?? []).map((i: Image) => i.ImageId).sort());

    it('filters by name with wildcards, state, tags, tag keys and image id', async () => {
      expect(await describeIds(ec2, { Filters: [{ Name: 'name', Values: ['golden-*'] }] })).toEqual([ids.g1, ids.g2, ids.g3].sort());
      expect(await describeIds(ec2, { Filters: [{ Name: 'name', Values: ['golden-2026-0?'] }, { Name: 'state', Values: ['available'] }] })).toEqual([ids.g1, ids.g2].sort());
      expect(await describeIds(ec2, { Filters: [{ Name: 'tag:Family', Values: ['web'] }] })).toEqual([ids.w1]);
      expect(await describeIds(ec2, { Filters: [{ Name: 'tag-key', Values: ['Pinned'] }] })).toEqual([ids.g3]);
      expect(await describeIds(ec2, { Filters: [{ Name: 'image-id', Values: [ids.g2] }] })).toEqual([ids.g2]);
      expect(await describeIds(ec2, { Owners: ['self'], Filters: [{ Name: 'tag:Family', Values: ['golden'] }] })).toHaveLength(3);
      expect(await describeIds(ec2, { Owners: ['amazon'] })).toEqual([]);
      const [g1] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ids.g1] }))).Images!;
      expect(g1.CreationDate).toBe('2026-01-01T00:00:00.000Z');
    });

    it('pages through images with the SDK paginator', async () => {
      const seen: string[] = [];
      const sizes: number[] = [];
      for await (const page of paginateDescribeImages({ client: ec2, pageSize: 2 }, { Owners: ['self'] })) {
        sizes.push(page.Images?.length ?? 0);
        seen.push(...(page.Images ?? []).map((i) => i.ImageId!));
      }
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen.sort()).toEqual([baseImage, ...Object.values(ids)].sort());
    });

    it('answers unknown image ids with InvalidAMIID.NotFound and malformed ones with InvalidAMIID.Malformed', async () => {
      const missing = await errorWithStatusOf(ec2.send(new DescribeImagesCommand({ ImageIds: [ids.g1, 'ami-0000000000000000a'] })));
      expect(missing.name).toBe('InvalidAMIID.NotFound');
      expect(missing.message).toBe("The image id '[ami-0000000000000000a]' does not exist");
      expect((await errorWithStatusOf(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-xyz'] })))).name).toBe('InvalidAMIID.Malformed');
      expect((await errorWithStatusOf(ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'flavour', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
    });

    it('shows every account the public images of other accounts, and selects them by Owners and owner-id', async () => {
      // Prepare
      const [vendor, secret] = seedEc2(cloud.store, '111111111111', REGION, { images: [{ name: 'golden-vendor', public: true }, { name: 'golden-private' }] }).imageIds;
      // Act
      const all = await describeIds(ec2, { Filters: [{ Name: 'name', Values: ['golden-*'] }] });
      const own = await describeIds(ec2, { Owners: ['self'], Filters: [{ Name: 'name', Values: ['golden-*'] }] });
      const trusted = await describeIds(ec2, { Owners: ['self', '111111111111'], ImageIds: [vendor] });
      const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [vendor] }))).Images!;
      // Assess
      expect(all).toEqual([ids.g1, ids.g2, ids.g3, vendor].sort());
      expect(own).toEqual([ids.g1, ids.g2, ids.g3].sort());
      expect(await describeIds(ec2, { Owners: ['self'], ImageIds: [vendor] })).toEqual([]);
      expect(trusted).toEqual([vendor]);
      expect(await describeIds(ec2, { Filters: [{ Name: 'owner-id', Values: ['111111111111'] }, { Name: 'is-public', Values: ['true'] }] })).toEqual([vendor]);
      expect(image).toMatchObject({ OwnerId: '111111111111', Public: true, ImageLocation: '111111111111/golden-vendor' });
      expect((await errorWithStatusOf(ec2.send(new DescribeImagesCommand({ ImageIds: [secret] })))).name).toBe('InvalidAMIID.NotFound');
      expect((await errorWithStatusOf(ec2.send(new DeregisterImageCommand({ ImageId: vendor })))).name).toBe('InvalidAMIID.NotFound');
    });

    it('disables an image: hidden unless IncludeDisabled, no longer launchable, with a disabled event', async () => {
      // Act
      await ec2.send(new DisableImageCommand({ ImageId: ids.w1 }));
      // Assess
      expect(await describeIds(ec2, { ImageIds: [ids.w1] })).toEqual([]);
      const [disabled] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ids.w1], IncludeDisabled: true }))).Images!;
      expect(disabled).toMatchObject({ ImageId: ids.w1, State: 'disabled', Public: false });
      const event = cloud.bus.recent.find((e) => e['detail-type'] === 'EC2 AMI State Change');
      expect(event).toMatchObject({ detail: { ImageId: ids.w1, State: 'disabled' } });
      const launch = await errorWithStatusOf(ec2.send(new RunInstancesCommand({ ImageId: ids.w1, MinCount: 1, MaxCount: 1 })));
      expect(launch.name).toBe('InvalidAMIID.Unavailable');
      expect((await errorWithStatusOf(ec2.send(new DisableImageCommand({ ImageId: ids.g3 })))).name).toBe('IncorrectState');
      expect((await errorWithStatusOf(ec2.send(new DisableImageCommand({ ImageId: 'ami-0000000000000000a' })))).name).toBe('InvalidAMIID.NotFound');
    });

    it('makes a seeded pending image available once the service is started and the clock moves', async () => {
      await cloud.clock.advance(IMAGE_AVAILABLE_DELAY_MS);
      await cloud.settle();
      // Seeding after startup: the image is armed when the service starts (again).
      expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ids.g3] }))).Images?.[0]?.State).toBe('pending');
      const { ec2: service } = await import('../../packages/localcloud/src/services/ec2.js');
      service.start!({ clock: cloud.clock, store: cloud.store, bus: cloud.bus });
      await cloud.settle();
      expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ids.g3] }))).Images?.[0]?.State).toBe('available');
    });
  });

  describe('CreateTags, DeleteTags and DeregisterImage', () => {
    it('tags and untags instances and images together', async () => {
      const instanceId = await runningInstance({ Keep: 'me' });
      await ec2.send(new CreateTagsCommand({ Resources: [instanceId, baseImage], Tags: [{ Key: 'Owner', Value: 'ops' }, { Key: 'Stage', Value: 'dev' }] }));
      const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0];
      expect(tagsOf(instance)).toEqual({ Keep: 'me', Owner: 'ops', Stage: 'dev' });
      expect(tagsOf((await ec2.send(new DescribeImagesCommand({ ImageIds: [baseImage] }))).Images![0])).toEqual({ Family: 'base', Owner: 'ops', Stage: 'dev' });

      // A key alone removes the tag whatever its value; a key with another value leaves it.
      await ec2.send(new DeleteTagsCommand({ Resources: [instanceId, baseImage], Tags: [{ Key: 'Owner' }, { Key: 'Stage', Value: 'prod' }] }));
      expect(tagsOf((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0])).toEqual({ Keep: 'me', Stage: 'dev' });
      // No tag list removes them all.
      await ec2.send(new DeleteTagsCommand({ Resources: [baseImage] }));
      expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [baseImage] }))).Images![0].Tags).toBeUndefined();
    });

    it('answers tagging an unknown resource with its NotFound code and changes nothing', async () => {
      const err = await errorWithStatusOf(ec2.send(new CreateTagsCommand({ Resources: [baseImage, 'i-0123456789abcdef0'], Tags: [{ Key: 'A', Value: 'b' }] })));
      expect(err.name).toBe('InvalidInstanceID.NotFound');
      expect(tagsOf((await ec2.send(new DescribeImagesCommand({ ImageIds: [baseImage] }))).Images![0])).toEqual({ Family: 'base' });
      expect((await errorWithStatusOf(ec2.send(new DeleteTagsCommand({ Resources: ['ami-0123456789abcdef0'] })))).name).toBe('InvalidAMIID.NotFound');
      expect((await errorWithStatusOf(ec2.send(new CreateTagsCommand({ Resources: [baseImage], Tags: [{ Key: 'aws:x', Value: 'y' }] })))).name).toBe('InvalidParameterValue');
    });

    it('deregisters an image, which leaves DescribeImages and emits a deregistered event', async () => {
      await ec2.send(new DeregisterImageCommand({ ImageId: baseImage }));
      expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
      const event = cloud.bus.recent.find((e) => e['detail-type'] === 'EC2 AMI State Change');
      expect(event).toMatchObject({ resources: [`arn:aws:ec2:${REGION}::image/${baseImage}`], detail: { ImageId: baseImage, State: 'deregistered', ErrorMessage: '' } });
      const err = await errorWithStatusOf(ec2.send(new DeregisterImageCommand({ ImageId: baseImage })));
      expect(err.name).toBe('InvalidAMIID.NotFound');
    });
  });

  describe('DescribeRegions', () => {
    it('lists the Regions enabled for every account, with their endpoints', async () => {
      const { Regions } = await ec2.send(new DescribeRegionsCommand({}));
      expect(Regions).toHaveLength(17);
      expect(Regions).toContainEqual({ RegionName: 'eu-west-1', Endpoint: 'ec2.eu-west-1.amazonaws.com', OptInStatus: 'opt-in-not-required' });
      expect(Regions!.every((r) => r.OptInStatus === 'opt-in-not-required')).toBe(true);
    });

    it('adds the opt-in Regions with AllRegions, and answers any named Region', async () => {
      const all = (await ec2.send(new DescribeRegionsCommand({ AllRegions: true }))).Regions!;
      expect(all.length).toBeGreaterThan(17);
      expect(all).toContainEqual({ RegionName: 'af-south-1', Endpoint: 'ec2.af-south-1.amazonaws.com', OptInStatus: 'not-opted-in' });
      const named = (await ec2.send(new DescribeRegionsCommand({ RegionNames: ['me-south-1', 'us-west-2'] }))).Regions!;
      expect(named.map((r) => r.RegionName)).toEqual(['me-south-1', 'us-west-2']);
    });

    it('filters by region name (with wildcards), endpoint and opt-in status', async () => {
      const names = async (filters: { Name: string; Values: string[] }[], AllRegions = false) =>
        (await ec2.send(new DescribeRegionsCommand({ Filters: filters, AllRegions }))).Regions!.map((r) => r.RegionName);
      expect(await names([{ Name: 'region-name', Values: ['us-*'] }])).toEqual(['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2']);
      expect(await names([{ Name: 'endpoint', Values: ['ec2.ca-central-1.amazonaws.com'] }])).toEqual(['ca-central-1']);
      expect(await names([{ Name: 'opt-in-status', Values: ['not-opted-in'] }, { Name: 'region-name', Values: ['eu-*'] }], true)).toEqual(['eu-central-2', 'eu-south-1', 'eu-south-2']);
    });

    it('answers an unknown Region name or filter with InvalidParameterValue', async () => {
      expect((await errorWithStatusOf(ec2.send(new DescribeRegionsCommand({ RegionNames: ['xx-nowhere-1'] })))).name).toBe('InvalidParameterValue');
      expect((await errorWithStatusOf(ec2.send(new DescribeRegionsCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] })))).name).toBe('InvalidParameterValue');
    });
  });

  it('retries a throttled call (RequestLimitExceeded) to success through the SDK', async () => {
    cloud.faults.set([{ service: 'ec2', throttleRate: 0.5 }]);
    cloud.calls.reset();
    for (let i = 0; i < 5; i++) await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    cloud.faults.set([]);
    expect(cloud.calls.snapshot().ec2?.DescribeImages).toBeGreaterThan(5);
  });

  it('answers DryRun with DryRunOperation and changes nothing', async () => {
    const err = await errorWithStatusOf(ec2.send(new RunInstancesCommand({ ImageId: baseImage, MinCount: 1, MaxCount: 1, DryRun: true })));
    expect(err.name).toBe('DryRunOperation');
    expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
  });
});

describe('localcloud EC2 state across a restart', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'localcloud-ec2-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('keeps images and instances, and a pending image becomes available after the restart', async () => {
    let cloud = await startTestCloud({ dataDir });
    let ec2 = new EC2Client(clientConfig(cloud));
    const { imageIds } = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'base' }] });
    const [instance] = (await ec2.send(new RunInstancesCommand({ ImageId: imageIds[0], MinCount: 1, MaxCount: 1 }))).Instances!;
    await cloud.clock.advance(INSTANCE_RUNNING_DELAY_MS);
    await cloud.settle();
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instance.InstanceId, Name: 'before-restart' }));
    const [pendingLaunch] = (await ec2.send(new RunInstancesCommand({ ImageId: imageIds[0], MinCount: 1, MaxCount: 1 }))).Instances!;
    ec2.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    ec2 = new EC2Client(clientConfig(cloud));
    try {
      expect(cloud.restored).toBe(true);
      expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images?.[0]?.State).toBe('pending');
      await cloud.clock.advance(IMAGE_AVAILABLE_DELAY_MS);
      await cloud.settle();
      expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images?.[0]).toMatchObject({ Name: 'before-restart', State: 'available' });
      expect(cloud.bus.recent.find((e) => e['detail-type'] === 'EC2 AMI State Change')?.detail).toMatchObject({ ImageId, State: 'available' });
      const states = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance.InstanceId!, pendingLaunch.InstanceId!] }))).Reservations!.flatMap((r) =>
        r.Instances!.map((i) => i.State?.Name),
      );
      expect(states).toEqual(['running', 'running']);
    } finally {
      ec2.destroy();
      await cloud.stop();
    }
  });
});
