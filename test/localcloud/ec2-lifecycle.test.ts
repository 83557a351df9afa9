import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
} from '@aws-sdk/client-ec2';
import { WaiterState } from '@smithy/util-waiter';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import {
  INSTANCE_FORCED_STOP_DELAY_MS,
  INSTANCE_RUNNING_DELAY_MS,
  INSTANCE_STOPPED_DELAY_MS,
  INSTANCE_TERMINATED_DELAY_MS,
  seedEc2,
  VOLUME_AVAILABLE_DELAY_MS,
} from '../../packages/localcloud/src/services/ec2.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
/** Fast polling for the SDK's waiters (their defaults wait 15 s between polls). */
const FAST = { minDelay: 0.02, maxDelay: 0.05, maxWaitTime: 5 };

describe('localcloud EC2 instance lifecycle', () => {
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

  async function running(count = 1): Promise<string[]> {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: count, MaxCount: count, InstanceType: 't3.micro' }));
    await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
    return out.Instances!.map((i) => i.InstanceId!);
  }

  async function instance(id: string): Promise<Instance> {
    return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
  }

  /** The states announced for an instance on the bus, in order. */
  const announced = (id: string) =>
    cloud.bus.recent
      .filter((e) => e['detail-type'] === 'EC2 Instance State-change Notification' && (e.detail as { 'instance-id': string })['instance-id'] === id)
      .map((e) => (e.detail as { state: string }).state);

  it('stops a running instance: stopping, then stopped after the delay, with events and the user-initiated reason', async () => {
    const [id] = await running();
    const out = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(out.StoppingInstances).toEqual([{ InstanceId: id, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }]);
    expect((await instance(id)).State?.Name).toBe('stopping');

    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
    expect((await waitUntilInstanceStopped({ client: ec2, ...FAST }, { InstanceIds: [id] })).state).toBe(WaiterState.SUCCESS);
    const stopped = await instance(id);
    expect(stopped.State).toEqual({ Code: 80, Name: 'stopped' });
    expect(stopped.StateTransitionReason).toMatch(/^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
    expect(stopped.StateReason).toEqual({ Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
    expect(announced(id)).toEqual(['pending', 'running', 'stopping', 'stopped']);
    const stoppedEvent = cloud.bus.recent.filter((e) => e['detail-type'] === 'EC2 Instance State-change Notification').at(-1)!;
    expect(stoppedEvent).toMatchObject({ source: 'aws.ec2', account: ACCOUNT, region: REGION, resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`] });
  });

  it('starts a stopped instance: pending, then running, as the SDK waiter sees it', async () => {
    const [id] = await running();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);

    const out = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(out.StartingInstances).toEqual([{ InstanceId: id, CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } }]);
    const waiting = waitUntilInstanceRunning({ client: ec2, ...FAST }, { InstanceIds: [id] });
    await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
    expect((await waiting).state).toBe(WaiterState.SUCCESS);
    const started = await instance(id);
    expect(started.State?.Name).toBe('running');
    expect(started.StateTransitionReason).toBe('');
    expect(started.StateReason).toBeUndefined();
    expect(announced(id)).toEqual(['pending', 'running', 'stopping', 'stopped', 'pending', 'running']);
  });

  it('answers a stop of a stopped and a start of a running instance with unchanged states and no event', async () => {
    const [a, b] = await running(2);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a] }));
    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
    const events = cloud.bus.recent.length;
    expect((await ec2.send(new StopInstancesCommand({ InstanceIds: [a] }))).StoppingInstances![0]).toMatchObject({ CurrentState: { Name: 'stopped' }, PreviousState: { Name: 'stopped' } });
    expect((await ec2.send(new StartInstancesCommand({ InstanceIds: [b] }))).StartingInstances![0]).toMatchObject({ CurrentState: { Name: 'running' }, PreviousState: { Name: 'running' } });
    expect(cloud.bus.recent.length).toBe(events);
  });

  it('refuses changes from states EC2 refuses them from, and changes nothing when one instance of many is missing', async () => {
    const [id] = await running();
    const [pending] = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances!;
    expect(await errorWithStatusOf(ec2.send(new StopInstancesCommand({ InstanceIds: [pending.InstanceId!] })))).toMatchObject({
      name: 'IncorrectInstanceState',
      message: `The instance '${pending.InstanceId}' is not in a state from which it can be stopped.`,
      status: 400,
    });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect((await errorWithStatusOf(ec2.send(new StartInstancesCommand({ InstanceIds: [id] })))).name).toBe('IncorrectInstanceState');

    const [other] = await running();
    const missing = await errorWithStatusOf(ec2.send(new StopInstancesCommand({ InstanceIds: [other, 'i-0123456789abcdef0'] })));
    expect(missing).toMatchObject({ name: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-0123456789abcdef0' does not exist" });
    expect((await instance(other)).State?.Name).toBe('running');
    expect((await errorWithStatusOf(ec2.send(new StartInstancesCommand({ InstanceIds: ['i-nope'] })))).name).toBe('InvalidInstanceID.Malformed');
  });

  it('stops sooner with Force, also to end a stop already under way', async () => {
    const [a, b] = await running(2);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a], Force: true }));
    await ec2.send(new StopInstancesCommand({ InstanceIds: [b] }));
    const forced = await ec2.send(new StopInstancesCommand({ InstanceIds: [b], Force: true }));
    expect(forced.StoppingInstances![0]).toMatchObject({ CurrentState: { Name: 'stopping' }, PreviousState: { Name: 'stopping' } });
    await cloud.advance(INSTANCE_FORCED_STOP_DELAY_MS);
    expect((await instance(a)).State?.Name).toBe('stopped');
    expect((await instance(b)).State?.Name).toBe('stopped');
    // The unforced stop's own timer, due later, finds nothing left to do: one `stopped` event each.
    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
    expect(announced(b)).toEqual(['pending', 'running', 'stopping', 'stopped']);
  });

  it('terminates an instance: its root volume is deleted, an attached data volume is detached', async () => {
    const [id] = await running();
    const { VolumeId: data } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 10 }));
    await cloud.advance(VOLUME_AVAILABLE_DELAY_MS);
    await ec2.send(new AttachVolumeCommand({ VolumeId: data, InstanceId: id, Device: '/dev/sdf' }));
    const root = (await instance(id)).BlockDeviceMappings![0].Ebs!.VolumeId!;

    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances![0]).toMatchObject({ CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } });
    await cloud.advance(INSTANCE_TERMINATED_DELAY_MS);
    expect((await waitUntilInstanceTerminated({ client: ec2, ...FAST }, { InstanceIds: [id] })).state).toBe(WaiterState.SUCCESS);
    expect(announced(id).slice(-2)).toEqual(['shutting-down', 'terminated']);
    expect((await errorWithStatusOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [root] })))).name).toBe('InvalidVolume.NotFound');
    expect((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [data!] }))).Volumes![0]).toMatchObject({ State: 'available', Attachments: [] });
    expect((await instance(id)).BlockDeviceMappings).toEqual([]);
    expect((await errorWithStatusOf(ec2.send(new StartInstancesCommand({ InstanceIds: [id] })))).name).toBe('IncorrectInstanceState');
    expect((await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))).TerminatingInstances![0].PreviousState?.Name).toBe('terminated');
  });

  it('changes the instance type of a stopped instance only, in both request forms', async () => {
    const [id] = await running();
    const running_ = await errorWithStatusOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'm5.large' } })));
    expect(running_).toMatchObject({ name: 'IncorrectInstanceState', message: `The instance '${id}' is not in the 'stopped' state.` });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);

    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'm5.large' } }));
    expect((await instance(id)).InstanceType).toBe('m5.large');
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceType', Value: 'r6g.xlarge' }));
    expect((await instance(id)).InstanceType).toBe('r6g.xlarge');
    expect((await errorWithStatusOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'huge' } })))).name).toBe('InvalidParameterValue');
    expect((await errorWithStatusOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData', Value: 'x' })))).name).toBe('UnsupportedOperation');
    expect((await errorWithStatusOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id })))).name).toBe('InvalidParameterCombination');
    expect((await errorWithStatusOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: 'i-0123456789abcdef0', InstanceType: { Value: 't3.micro' } })))).name).toBe(
      'InvalidInstanceID.NotFound',
    );
  });

  describe('hibernation', () => {
    it('reports HibernationOptions.Configured as seeded, and hibernates an instance enabled for it with the user-initiated hibernate reason', async () => {
      // Prepare
      const [sleeper, plain] = seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{ hibernation: true }, {}] }).instanceIds;
      // Act
      const options = [(await instance(sleeper)).HibernationOptions, (await instance(plain)).HibernationOptions];
      const out = await ec2.send(new StopInstancesCommand({ InstanceIds: [sleeper], Hibernate: true }));
      const during = await instance(sleeper);
      await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
      const after = await instance(sleeper);
      // Assess
      expect(options).toEqual([{ Configured: true }, { Configured: false }]);
      expect(out.StoppingInstances).toEqual([{ InstanceId: sleeper, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }]);
      expect(during.State?.Name).toBe('stopping');
      expect(after.State).toEqual({ Code: 80, Name: 'stopped' });
      expect(after.StateReason).toEqual({ Code: 'Client.UserInitiatedHibernate', Message: 'Client.UserInitiatedHibernate: User initiated hibernate' });
      expect(after.StateTransitionReason).toMatch(/^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
      expect(announced(sleeper)).toEqual(['stopping', 'stopped']);
    });

    it('refuses Hibernate for an instance not enabled for hibernation, stopping none of those named', async () => {
      // Prepare
      const [sleeper, plain] = seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{ hibernation: true }, {}] }).instanceIds;
      // Act
      const refused = await errorWithStatusOf(ec2.send(new StopInstancesCommand({ InstanceIds: [sleeper, plain], Hibernate: true })));
      // Assess
      expect(refused).toMatchObject({
        name: 'UnsupportedHibernationConfiguration',
        status: 400,
        message: `The instance can't be hibernated because it was not configured at launch for hibernation: ${plain}`,
      });
      expect([(await instance(sleeper)).State?.Name, (await instance(plain)).State?.Name]).toEqual(['running', 'running']);
      expect((await ec2.send(new StopInstancesCommand({ InstanceIds: [plain] }))).StoppingInstances![0].CurrentState?.Name).toBe('stopping');
    });
  });

  describe('start errors scripted by the seed', () => {
    it('accepts the start of an instance whose key cannot be used: pending, then stopped again with the scripted StateReason', async () => {
      // Prepare
      cloud.seed({
        regions: {
          [REGION]: {
            instances: [{ state: 'stopped', tags: { Name: 'locked' }, startError: { code: 'Client.InvalidKMSKey.InvalidState', message: 'The KMS key provided is in an incorrect state' } }],
          },
        },
      });
      const id = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['locked'] }] }))).Reservations![0].Instances![0].InstanceId;
      // Act
      const out = await ec2.send(new StartInstancesCommand({ InstanceIds: [id!] }));
      const during = await instance(id!);
      await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
      const after = await instance(id!);
      const again = await ec2.send(new StartInstancesCommand({ InstanceIds: [id!] }));
      await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
      // Assess
      expect(out.StartingInstances).toEqual([{ InstanceId: id, CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } }]);
      expect(during.State?.Name).toBe('pending');
      expect(after.State).toEqual({ Code: 80, Name: 'stopped' });
      expect(after.StateReason).toEqual({ Code: 'Client.InvalidKMSKey.InvalidState', Message: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state' });
      expect(again.StartingInstances![0].CurrentState?.Name).toBe('pending');
      expect((await instance(id!)).State?.Name).toBe('stopped');
      expect(announced(id!)).toEqual(['pending', 'stopped', 'pending', 'stopped']);
    });

    it('fails the StartInstances call with a scripted API error, starting none of the instances named', async () => {
      // Prepare
      const [full, fine] = seedEc2(cloud.store, ACCOUNT, REGION, {
        instances: [{ state: 'stopped', startError: { api: 'InsufficientInstanceCapacity' } }, { state: 'stopped' }],
      }).instanceIds;
      const noRetry = new EC2Client({ ...clientConfig(cloud), maxAttempts: 1 });
      // Act
      const refused = await errorWithStatusOf(noRetry.send(new StartInstancesCommand({ InstanceIds: [fine, full] })));
      noRetry.destroy();
      // Assess
      expect(refused).toMatchObject({ name: 'InsufficientInstanceCapacity', status: 500, message: expect.stringContaining('capacity in the Availability Zone you requested (us-east-1a)') });
      expect([(await instance(full)).State?.Name, (await instance(fine)).State?.Name]).toEqual(['stopped', 'stopped']);
      expect(announced(fine)).toEqual([]);
    });

    it('refuses a seed whose startError names neither a StateReason code nor an API error', () => {
      // Act and assess
      expect(() => seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{ startError: { message: 'boom' } as never }] })).toThrow(/startError needs either code .* or api/);
      expect(() => seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{ hibernation: 'yes' as never }] })).toThrow(/hibernation must be true or false/);
    });
  });
});

describe('localcloud EC2 instance lifecycle across a restart', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'localcloud-ec2-lifecycle-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('finishes a stop begun before the restart', async () => {
    let cloud = await startTestCloud({ dataDir });
    let ec2 = new EC2Client(clientConfig(cloud));
    const [id] = seedEc2(cloud.store, ACCOUNT, REGION, { instances: [{}] }).instanceIds;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    ec2.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    ec2 = new EC2Client(clientConfig(cloud));
    try {
      await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
      const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
      expect(described.State?.Name).toBe('stopped');
      expect(cloud.bus.recent.map((e) => (e.detail as { state?: string }).state)).toEqual(['stopped']);
    } finally {
      ec2.destroy();
      await cloud.stop();
    }
  });
});
