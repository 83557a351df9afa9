import { DescribeInstanceStatusCommand, EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { INSTANCE_STOPPED_DELAY_MS, seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { errorWithStatusOf } from '../helpers/errors.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

describe('localcloud EC2 DescribeInstanceStatus', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;
  let running: string;
  let stopped: string;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
    [running, stopped] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'base' }], instances: [{}, { state: 'stopped' }] }).instanceIds;
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  it('answers only running instances, with ok status checks, when IncludeAllInstances is not set', async () => {
    // Act
    const out = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [running, stopped] }));
    // Assess
    expect(out.InstanceStatuses).toEqual([
      {
        InstanceId: running,
        AvailabilityZone: 'us-east-1a',
        InstanceState: { Code: 16, Name: 'running' },
        InstanceStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
        SystemStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
      },
    ]);
  });

  it('answers every instance with not-applicable checks for those not running when IncludeAllInstances is set', async () => {
    // Act
    const out = await ec2.send(new DescribeInstanceStatusCommand({ IncludeAllInstances: true }));
    // Assess
    const byId = new Map(out.InstanceStatuses!.map((s) => [s.InstanceId, s]));
    expect(byId.get(running)?.InstanceStatus?.Status).toBe('ok');
    expect(byId.get(stopped)).toMatchObject({ InstanceState: { Name: 'stopped' }, InstanceStatus: { Status: 'not-applicable' }, SystemStatus: { Status: 'not-applicable' } });
  });

  it('follows the instance state: no longer answered once the instance has stopped', async () => {
    // Prepare
    await ec2.send(new StopInstancesCommand({ InstanceIds: [running] }));
    // Act
    const stopping = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [running], IncludeAllInstances: true }));
    await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
    const after = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [running] }));
    // Assess
    expect(stopping.InstanceStatuses?.[0]).toMatchObject({ InstanceState: { Name: 'stopping' }, InstanceStatus: { Status: 'not-applicable' } });
    expect(after.InstanceStatuses).toEqual([]);
  });

  it('filters by status and answers an unknown instance with InvalidInstanceID.NotFound', async () => {
    // Act
    const ok = await ec2.send(new DescribeInstanceStatusCommand({ IncludeAllInstances: true, Filters: [{ Name: 'instance-status.status', Values: ['ok'] }] }));
    const err = await errorWithStatusOf(ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
    // Assess
    expect(ok.InstanceStatuses?.map((s) => s.InstanceId)).toEqual([running]);
    expect(err).toMatchObject({ name: 'InvalidInstanceID.NotFound', status: 400 });
  });
});
