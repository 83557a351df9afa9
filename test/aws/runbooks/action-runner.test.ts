import { randomUUID } from 'node:crypto';
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '@opsauto/aws';
import { AwsActionRunner, IDEMPOTENCY_TAG, runbookSessionName } from '@opsauto/aws/runbooks';
import { ActionFailure, type ActionContext, type ActionResult } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { IMAGE_AVAILABLE_DELAY_MS, INSTANCE_FORCED_STOP_DELAY_MS, INSTANCE_RUNNING_DELAY_MS, INSTANCE_STOPPED_DELAY_MS, INSTANCE_TERMINATED_DELAY_MS, seedEc2 } from '../../../packages/localcloud/src/services/ec2.js';
import { ec2State } from '../../../packages/localcloud/src/services/ec2-model.js';
import { RDS_DELAYS_MS } from '../../../packages/localcloud/src/services/rds-lifecycle.js';
import { errorOf } from '../../helpers/errors.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

const OWN = '000000000000';
const OTHER = '111122223333';
const OTHER_ROLE = `arn:aws:iam::${OTHER}:role/opsauto-runbooks`;
const REGION = 'us-east-1';
const POLL_MS = 10_000;

let cloud: Localcloud;
let clients: AwsClients;
let runner: AwsActionRunner;
let ec2: EC2Client;
let baseImage: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  baseImage = seedEc2(cloud.store, OWN, REGION, { images: [{ name: 'base' }] }).imageIds[0]!;
  seedEc2(cloud.store, OTHER, REGION, { images: [{ name: 'other-base' }] });
  cloud.seed({
    regions: {
      'us-east-1': {
        dbInstances: [{ identifier: 'orders-db' }],
        buckets: [{ name: 'opsauto-runbook-logs' }],
        parameters: [{ name: '/app/feature-flags', value: 'on' }],
      },
      'eu-west-1': { buckets: [{ name: 'opsauto-runbook-eu' }] },
    },
  });
  clients = new AwsClients(REGION, clientConfig(cloud));
  runner = new AwsActionRunner(clients, { settings: clientConfig(cloud), pollIntervalMs: POLL_MS, now: () => cloud.clock.nowMs() });
  ec2 = new EC2Client(clientConfig(cloud));
});
afterAll(async () => {
  ec2.destroy();
  await cloud.stop();
});

/** The context of a step's first attempt in a new execution (one per test, so idempotency tokens never meet). */
function newContext(over: Partial<ActionContext> = {}): ActionContext {
  const executionId = randomUUID();
  return { executionId, stepName: 'step', attempt: 1, accountId: OWN, region: REGION, idempotencyToken: `${executionId}:0:1`, now: () => cloud.clock.now(), ...over };
}

/** New instances in the own account, running or stopped from the start. */
const instances = (count: number, state: 'running' | 'stopped' = 'running', account = OWN) =>
  seedEc2(cloud.store, account, REGION, { instances: Array.from({ length: count }, () => ({ imageId: account === OWN ? baseImage : undefined, state })) }).instanceIds;

const stateOf = async (id: string) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0].State!.Name;
const calls = (service: string, operation: string) => cloud.calls.snapshot()[service]?.[operation] ?? 0;

function expectWaiting(result: ActionResult): Extract<ActionResult, { kind: 'waiting' }> {
  expect(result.kind).toBe('waiting');
  return result as Extract<ActionResult, { kind: 'waiting' }>;
}

describe('AwsActionRunner', () => {
  describe('aws:executeAwsApi', () => {
    it('returns the response as JSON, without $metadata and with dates as ISO text, when it calls an EC2 API', async () => {
      // Prepare
      const [id] = instances(1);
      // Act
      const result = await runner.start('aws:executeAwsApi', { Service: 'ec2', Api: 'DescribeInstances', InstanceIds: [id] }, newContext());
      // Assess
      expect(result.kind).toBe('done');
      const response = (result as { response: { Reservations: { Instances: { InstanceId: string; LaunchTime: unknown }[] }[] } }).response;
      expect(response).not.toHaveProperty('$metadata');
      expect(response.Reservations[0].Instances[0]).toMatchObject({ InstanceId: id, LaunchTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
      expect(JSON.parse(JSON.stringify(response))).toEqual(response);
    });

    it('stops an RDS instance and waits until it is stopped when it runs the steps of AWS-StopRdsInstance', async () => {
      // Prepare
      const describe = { Service: 'rds', Api: 'DescribeDBInstances', DBInstanceIdentifier: 'orders-db', PropertySelector: '$.DBInstances[0].DBInstanceStatus' };
      const context = newContext();
      const notStopped = await errorOf(runner.start('aws:assertAwsResourceProperty', { ...describe, DesiredValues: ['stopped', 'stopping'] }, context));
      // Act
      const stop = await runner.start('aws:executeAwsApi', { Service: 'rds', Api: 'StopDBInstance', DBInstanceIdentifier: 'orders-db' }, context);
      const waitedAt = cloud.clock.nowMs();
      const check = expectWaiting(await runner.start('aws:waitForAwsResourceProperty', { ...describe, DesiredValues: ['stopped'] }, context));
      await cloud.advance(RDS_DELAYS_MS.stopping);
      const later = await runner.poll('aws:waitForAwsResourceProperty', { ...describe, DesiredValues: ['stopped'] }, check.state, context);
      // Assess
      expect(notStopped).toMatchObject({ name: 'ActionFailure', message: expect.stringContaining('["available"]') });
      expect(stop).toMatchObject({ kind: 'done', response: { DBInstance: { DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'stopping' } } });
      expect(check).toMatchObject({ state: null });
      expect(check.nextCheckAt.getTime() - waitedAt).toBeGreaterThanOrEqual(POLL_MS);
      expect(check.nextCheckAt.getTime() - waitedAt).toBeLessThan(POLL_MS + 1000);
      expect(later).toMatchObject({ kind: 'done', response: { DBInstances: [{ DBInstanceStatus: 'stopped' }] } });
      const rds = new RDSClient(clientConfig(cloud));
      expect((await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-db' }))).DBInstances![0].DBInstanceStatus).toBe('stopped');
      rds.destroy();
    });

    it('fails with the operation and the AWS error code in the message when AWS refuses the call', async () => {
      // Prepare: a stopped instance cannot be stopped
      const inputs = { Service: 'rds', Api: 'StopDBInstance', DBInstanceIdentifier: 'orders-db' };
      const rds = new RDSClient(clientConfig(cloud));
      const status = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-db' }))).DBInstances![0].DBInstanceStatus;
      rds.destroy();
      // Act
      const err = await runner.start('aws:executeAwsApi', inputs, newContext()).catch((e: unknown) => e as Error);
      // Assess
      expect(status).not.toBe('available');
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(ActionFailure);
      expect((err as Error).message).toMatch(/^StopDBInstance: InvalidDBInstanceState: Instance orders-db is not in available state\.$/);
    });

    it('enables an S3 bucket key and asserts it when it runs the steps of AWS-EnableS3BucketKeys', async () => {
      // Prepare
      const verify = {
        Service: 's3',
        Api: 'GetBucketEncryption',
        Bucket: 'opsauto-runbook-logs',
        PropertySelector: '$.ServerSideEncryptionConfiguration.Rules[0].BucketKeyEnabled',
        DesiredValues: ['True'],
      };
      const before = await errorOf(runner.start('aws:assertAwsResourceProperty', verify, newContext()));
      // Act
      const put = await runner.start(
        'aws:executeAwsApi',
        {
          Service: 's3',
          Api: 'PutBucketEncryption',
          Bucket: 'opsauto-runbook-logs',
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
        },
        newContext(),
      );
      const after = await runner.start('aws:assertAwsResourceProperty', verify, newContext());
      // Assess
      expect(before.message).toBe('$.ServerSideEncryptionConfiguration.Rules[0].BucketKeyEnabled is [false], not one of the desired values ["True"]');
      expect(put).toEqual({ kind: 'done', response: {} });
      expect(after.kind).toBe('done');
    });

    it('reaches a bucket in another region than the execution\'s when it calls S3', async () => {
      // Act
      const result = await runner.start('aws:executeAwsApi', { Service: 's3', Api: 'GetBucketEncryption', Bucket: 'opsauto-runbook-eu' }, newContext());
      // Assess
      expect(result).toMatchObject({ kind: 'done', response: { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } } });
    });

    it('accepts the boto3 method name of an operation as its Api', async () => {
      // Act
      const result = await runner.start('aws:executeAwsApi', { Service: 'rds', Api: 'describe_db_instances', DBInstanceIdentifier: 'orders-db' }, newContext());
      // Assess
      expect(result).toMatchObject({ kind: 'done', response: { DBInstances: [{ DBInstanceIdentifier: 'orders-db' }] } });
    });

    it('refuses a service outside the allowed ones, naming them, without calling AWS', async () => {
      // Prepare
      cloud.calls.reset();
      // Act
      const err = await errorOf(runner.start('aws:executeAwsApi', { Service: 'iam', Api: 'DeleteRole', RoleName: 'admin' }, newContext()));
      // Assess
      expect(err).toEqual({ name: 'ActionFailure', message: 'Service "iam" is not one runbooks may call (allowed: ec2, rds, s3, sns, ssm)' });
      expect(cloud.calls.snapshot()).toEqual({});
    });

    it('refuses an Api the service does not have', async () => {
      // Act
      const err = await errorOf(runner.start('aws:executeAwsApi', { Service: 'ec2', Api: 'DescribeUnicorns' }, newContext()));
      const notAnOperation = await errorOf(runner.start('aws:executeAwsApi', { Service: 'ec2', Api: '$Command' }, newContext()));
      // Assess
      expect(err).toEqual({ name: 'ActionFailure', message: 'Api "DescribeUnicorns" is not an operation of the ec2 service' });
      expect(notAnOperation.name).toBe('ActionFailure');
    });
  });

  describe('aws:assertAwsResourceProperty', () => {
    it('fails naming the selector, the values found and the desired ones when the property does not match', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { Service: 'ec2', Api: 'DescribeInstances', InstanceIds: [id], PropertySelector: '$.Reservations[0].Instances[0].State.Name' };
      // Act
      const mismatch = await errorOf(runner.start('aws:assertAwsResourceProperty', { ...inputs, DesiredValues: ['stopped', 'stopping'] }, newContext()));
      const match = await runner.start('aws:assertAwsResourceProperty', { ...inputs, DesiredValues: ['running'] }, newContext());
      // Assess
      expect(mismatch).toEqual({ name: 'ActionFailure', message: '$.Reservations[0].Instances[0].State.Name is ["running"], not one of the desired values ["stopped","stopping"]' });
      expect(match.kind).toBe('done');
    });
  });

  describe('aws:changeInstanceState', () => {
    it('stops running instances and is done once every one has stopped', async () => {
      // Prepare
      const ids = instances(2);
      const inputs = { InstanceIds: ids, DesiredState: 'stopped', CheckStateOnly: false };
      const context = newContext();
      cloud.calls.reset();
      // Act
      const started = expectWaiting(await runner.start('aws:changeInstanceState', inputs, context));
      const stopping = await Promise.all(ids.map(stateOf));
      const early = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
      const done = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      // Assess
      expect(stopping).toEqual(['stopping', 'stopping']);
      expect(early.kind).toBe('waiting');
      expect(done).toEqual({ kind: 'done' });
      expect(calls('ec2', 'StopInstances')).toBe(1);
      expect(JSON.parse(JSON.stringify(started.state))).toEqual(started.state);
    });

    it('makes no StopInstances call when the instance is already stopped', async () => {
      // Prepare
      const [id] = instances(1, 'stopped');
      cloud.calls.reset();
      // Act
      const result = await runner.start('aws:changeInstanceState', { InstanceIds: [id], DesiredState: 'stopped' }, newContext());
      // Assess
      expect(result).toEqual({ kind: 'done' });
      expect(calls('ec2', 'StopInstances')).toBe(0);
    });

    it('asks for no second stop when a resumed attempt starts again while the instance stops', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { InstanceIds: [id], DesiredState: 'stopped' };
      const context = newContext();
      cloud.calls.reset();
      await runner.start('aws:changeInstanceState', inputs, context);
      // Act: the worker died before it stored the result; another resumes the attempt
      const resumed = await runner.start('aws:changeInstanceState', inputs, context);
      // Assess
      expect(resumed.kind).toBe('waiting');
      expect(calls('ec2', 'StopInstances')).toBe(1);
    });

    it('stops a stopping instance again with Force, which ends the stop sooner, when Force is set', async () => {
      // Prepare: a first stop that is still going on
      const [id] = instances(1);
      await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
      const context = newContext();
      const inputs = { InstanceIds: [id], DesiredState: 'stopped', CheckStateOnly: false, Force: true };
      // Act
      const started = expectWaiting(await runner.start('aws:changeInstanceState', inputs, context));
      await cloud.advance(INSTANCE_FORCED_STOP_DELAY_MS);
      const done = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      // Assess
      expect(INSTANCE_FORCED_STOP_DELAY_MS).toBeLessThan(INSTANCE_STOPPED_DELAY_MS);
      expect(done).toEqual({ kind: 'done' });
    });

    it('starts a stopped instance and is done once it runs with ok status checks', async () => {
      // Prepare
      const [id] = instances(1, 'stopped');
      const inputs = { InstanceIds: [id], DesiredState: 'running' };
      const context = newContext();
      cloud.calls.reset();
      // Act
      const started = expectWaiting(await runner.start('aws:changeInstanceState', inputs, context));
      await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
      const done = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      // Assess
      expect(done).toEqual({ kind: 'done' });
      expect(await stateOf(id)).toBe('running');
      expect(calls('ec2', 'StartInstances')).toBe(1);
      expect(calls('ec2', 'DescribeInstanceStatus')).toBe(1);
    });

    it('only waits, changing nothing, when CheckStateOnly is set', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { InstanceIds: [id], DesiredState: 'stopped', CheckStateOnly: true };
      const context = newContext();
      cloud.calls.reset();
      // Act
      const started = expectWaiting(await runner.start('aws:changeInstanceState', inputs, context));
      await cloud.advance('5m');
      const stillRunning = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
      await cloud.advance(INSTANCE_STOPPED_DELAY_MS);
      const done = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      // Assess
      expect(stillRunning.kind).toBe('waiting');
      expect(calls('ec2', 'StopInstances')).toBe(1); // the test's own
      expect(done).toEqual({ kind: 'done' });
    });

    it('terminates instances and is done once they are terminated', async () => {
      // Prepare
      const ids = instances(2);
      const inputs = { InstanceIds: ids, DesiredState: 'terminated' };
      const context = newContext();
      // Act
      const started = expectWaiting(await runner.start('aws:changeInstanceState', inputs, context));
      await cloud.advance(INSTANCE_TERMINATED_DELAY_MS);
      const done = await runner.poll('aws:changeInstanceState', inputs, started.state, context);
      // Assess
      expect(done).toEqual({ kind: 'done' });
      expect(await Promise.all(ids.map(stateOf))).toEqual(['terminated', 'terminated']);
    });

    it('fails when a terminated instance is to run', async () => {
      // Prepare
      const [id] = instances(1);
      await runner.start('aws:changeInstanceState', { InstanceIds: [id], DesiredState: 'terminated' }, newContext());
      // Act
      const err = await errorOf(runner.start('aws:changeInstanceState', { InstanceIds: [id], DesiredState: 'running' }, newContext()));
      // Assess
      expect(err).toEqual({ name: 'ActionFailure', message: `instance ${id} is shutting-down: it can no longer be running` });
    });

    it('fails with the AWS error when an instance does not exist', async () => {
      // Prepare
      const [id] = instances(1);
      // Act
      const err = await errorOf(runner.start('aws:changeInstanceState', { InstanceIds: [id, 'i-0123456789abcdef0'], DesiredState: 'stopped' }, newContext()));
      // Assess
      expect(err.message).toMatch(/^DescribeInstances: InvalidInstanceID\.NotFound: .*i-0123456789abcdef0/);
      expect(await stateOf(id)).toBe('running');
    });
  });

  describe('aws:createImage', () => {
    it('creates an image tagged with the idempotency token and is done with ImageId and ImageState once it is available', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { InstanceId: id, ImageName: `nightly-${id}`, ImageDescription: 'nightly', NoReboot: true };
      const context = newContext();
      // Act
      const started = expectWaiting(await runner.start('aws:createImage', inputs, context));
      const imageId = (started.state as { imageId: string }).imageId;
      const pending = await runner.poll('aws:createImage', inputs, started.state, context);
      await cloud.advance(IMAGE_AVAILABLE_DELAY_MS);
      const done = await runner.poll('aws:createImage', inputs, started.state, context);
      // Assess
      expect(started.state).toEqual({ imageId: expect.stringMatching(/^ami-[0-9a-f]{17}$/) });
      expect(pending).toMatchObject({ kind: 'waiting', state: { imageId } });
      expect(done).toEqual({ kind: 'done', outputs: { ImageId: imageId, ImageState: 'available' } });
      const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;
      expect(image).toMatchObject({ Name: `nightly-${id}`, Description: 'nightly', SourceInstanceId: id });
      expect(image.Tags).toContainEqual({ Key: IDEMPOTENCY_TAG, Value: context.idempotencyToken });
    });

    it('makes exactly one CreateImage call when a resumed attempt starts again with the same token', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { InstanceId: id, ImageName: `resumed-${id}` };
      const context = newContext();
      cloud.calls.reset();
      const first = expectWaiting(await runner.start('aws:createImage', inputs, context));
      // Act
      const resumed = expectWaiting(await runner.start('aws:createImage', inputs, context));
      await cloud.advance(IMAGE_AVAILABLE_DELAY_MS);
      const resumedAgain = await runner.start('aws:createImage', inputs, context);
      // Assess
      expect(calls('ec2', 'CreateImage')).toBe(1);
      expect(resumed.state).toEqual(first.state);
      expect(resumedAgain).toEqual({ kind: 'done', outputs: { ImageId: (first.state as { imageId: string }).imageId, ImageState: 'available' } });
    });

    it('adopts the image of an earlier start when DescribeImages answers empty pages with a NextToken', async () => {
      // Prepare
      const [id] = instances(1);
      const inputs = { InstanceId: id, ImageName: `paged-${id}` };
      const context = newContext();
      const first = expectWaiting(await runner.start('aws:createImage', inputs, context));
      cloud.faults.set([{ service: 'ec2', operation: 'DescribeImages', emptyPageRate: 1 }]);
      cloud.calls.reset();
      // Act
      const resumed = expectWaiting(await runner.start('aws:createImage', inputs, context));
      cloud.faults.set([]);
      // Assess
      expect(calls('ec2', 'CreateImage')).toBe(0);
      expect(calls('ec2', 'DescribeImages')).toBeGreaterThanOrEqual(2);
      expect(resumed.state).toEqual(first.state);
    });

    it('creates a new image for the next attempt, whose token differs', async () => {
      // Prepare
      const [id] = instances(1);
      const context = newContext();
      const first = expectWaiting(await runner.start('aws:createImage', { InstanceId: id, ImageName: `first-${id}` }, context));
      // Act
      const second = expectWaiting(await runner.start('aws:createImage', { InstanceId: id, ImageName: `second-${id}` }, { ...context, attempt: 2, idempotencyToken: `${context.executionId}:0:2` }));
      // Assess
      expect(second.state).not.toEqual(first.state);
    });

    it('fails naming the image when the image fails', async () => {
      // Prepare
      const [id] = instances(1);
      const context = newContext();
      const started = expectWaiting(await runner.start('aws:createImage', { InstanceId: id, ImageName: `failing-${id}` }, context));
      const imageId = (started.state as { imageId: string }).imageId;
      ec2State(cloud.store, OWN, REGION).images[imageId].state = 'failed';
      // Act
      const err = await errorOf(runner.poll('aws:createImage', { InstanceId: id, ImageName: `failing-${id}` }, started.state, context));
      // Assess
      expect(err).toEqual({ name: 'ActionFailure', message: `image ${imageId} is failed` });
    });
  });

  describe('aws:deleteImage', () => {
    it('deregisters the image and deletes its snapshots', async () => {
      // Prepare
      const [id] = instances(1);
      const context = newContext();
      const created = expectWaiting(await runner.start('aws:createImage', { InstanceId: id, ImageName: `doomed-${id}` }, context));
      const imageId = (created.state as { imageId: string }).imageId;
      await cloud.advance(IMAGE_AVAILABLE_DELAY_MS);
      const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;
      const snapshotIds = image.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
      const snapshotsBefore = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }))).Snapshots!.length;
      // Act
      const result = await runner.start('aws:deleteImage', { ImageId: imageId }, newContext());
      // Assess
      expect(result).toEqual({ kind: 'done' });
      expect(snapshotsBefore).toBe(1);
      expect((await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).name).toBe('InvalidAMIID.NotFound');
      expect((await errorOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds })))).name).toBe('InvalidSnapshot.NotFound');
    });

    it('is done without deregistering anything when the image is already gone', async () => {
      // Prepare
      const [id] = instances(1);
      const created = expectWaiting(await runner.start('aws:createImage', { InstanceId: id, ImageName: `gone-${id}` }, newContext()));
      const imageId = (created.state as { imageId: string }).imageId;
      const context = newContext();
      await runner.start('aws:deleteImage', { ImageId: imageId }, context);
      cloud.calls.reset();
      // Act
      const again = await runner.start('aws:deleteImage', { ImageId: imageId }, context);
      // Assess
      expect(again).toEqual({ kind: 'done' });
      expect(calls('ec2', 'DescribeImages')).toBe(1);
      expect(calls('ec2', 'DeregisterImage')).toBe(0);
    });
  });

  describe('aws:createTags', () => {
    it('tags EC2 resources when no ResourceType is given', async () => {
      // Prepare
      const ids = instances(2);
      // Act
      const result = await runner.start('aws:createTags', { ResourceIds: ids, Tags: [{ Key: 'Patched', Value: 'yes' }, { Key: 'Reviewed' }] }, newContext());
      // Assess
      expect(result).toEqual({ kind: 'done' });
      const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);
      for (const instance of described) {
        expect(instance.Tags).toEqual(expect.arrayContaining([{ Key: 'Patched', Value: 'yes' }, { Key: 'Reviewed', Value: '' }]));
      }
    });

    it('tags an SSM parameter through AddTagsToResource when ResourceType is Parameter', async () => {
      // Prepare
      const ssm = new SSMClient(clientConfig(cloud));
      cloud.calls.reset();
      // Act
      const result = await runner.start('aws:createTags', { ResourceIds: ['/app/feature-flags'], ResourceType: 'Parameter', Tags: [{ Key: 'Owner', Value: 'ops' }] }, newContext());
      // Assess
      expect(result).toEqual({ kind: 'done' });
      expect(calls('ssm', 'AddTagsToResource')).toBe(1);
      expect((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/feature-flags' }))).TagList).toEqual([{ Key: 'Owner', Value: 'ops' }]);
      ssm.destroy();
    });
  });

  describe('assumeRole', () => {
    it('runs the calls in the role\'s account, with one AssumeRole for the steps of an execution, when the context names a role', async () => {
      // Prepare
      const [other] = instances(1, 'running', OTHER);
      const context = newContext({ assumeRole: OTHER_ROLE });
      cloud.calls.reset();
      // Act
      const stop = await runner.start('aws:changeInstanceState', { InstanceIds: [other], DesiredState: 'stopped' }, context);
      const asserted = await runner.start(
        'aws:assertAwsResourceProperty',
        { Service: 'ec2', Api: 'DescribeInstances', InstanceIds: [other], PropertySelector: '$..State.Name', DesiredValues: ['stopping'] },
        context,
      );
      const ownAccount = await errorOf(runner.start('aws:executeAwsApi', { Service: 'ec2', Api: 'DescribeInstances', InstanceIds: [other] }, newContext()));
      // Assess
      expect(stop.kind).toBe('waiting');
      expect(asserted.kind).toBe('done');
      expect(calls('sts', 'AssumeRole')).toBe(1);
      expect(ownAccount.message).toMatch(/^DescribeInstances: InvalidInstanceID\.NotFound/);
    });

    it('names the session after the execution, within STS limits', () => {
      // Act
      const name = runbookSessionName('3f2c9a1e-8b7d-4c6a-9e5f-0a1b2c3d4e5f');
      const odd = runbookSessionName('exec/with spaces');
      // Assess
      expect(name).toBe('opsauto-runbook-3f2c9a1e');
      expect(odd).toMatch(/^[\w+=,.@-]{2,64}$/);
    });
  });

  it('throws for an action that is not an AWS action', async () => {
    // Act
    const err = await errorOf(runner.start('aws:sleep', { Duration: 'PT1M' }, newContext()));
    // Assess
    expect(err.message).toMatch(/^aws:sleep is not an AWS action the runner knows/);
  });
});
