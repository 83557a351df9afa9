import { CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, executionIdFor, type Execution } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

// The runbook engine on the local stage: AWS's own runbooks, unmodified, run by the runbook-worker function on
// localcloud. Every wait is left to a wake-up (RUNBOOK_INLINE_WAIT_MS=0), so the virtual clock drives them.

// The account's own documents these tests create are allow-listed beside the defaults; AWS-TerminateEC2Instance is not.
const config = defineConfig({ regions: ['us-east-1'] });
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, 'Team-SleepThenTag', 'Team-CheckAndStop'];
let stage: Stage;
let store: DynamoExecutionStore;
let ec2: EC2Client;
let ssm: SSMClient;
let seq = 0;

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({
    regions: {
      'us-east-1': {
        images: [{ name: 'base' }],
        instances: [
          ...Array.from({ length: 100 }, (_, i) => ({ image: 'base', type: 't3.micro', tags: { Name: `fleet-${i}`, fleet: 'office', team: i % 20 === 7 ? 'legacy' : 'web' } })),
          { image: 'base', type: 't3.micro', tags: { Name: 'solo' } },
          { image: 'base', type: 't3.micro', tags: { Name: 'imaged' } },
        ],
        dbInstances: [{ identifier: 'reports-db' }],
      },
    },
  });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
  ec2 = new EC2Client(clientConfig(stage.cloud));
  ssm = new SSMClient(clientConfig(stage.cloud));
});
afterAll(async () => {
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});
beforeEach(() => {
  stage.cloud.calls.reset();
});

async function instance(name: string): Promise<{ id: string; state: string }> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  const i = out.Reservations![0].Instances![0];
  return { id: i.InstanceId!, state: i.State!.Name! };
}

/** Asks for an execution the way opsauto's own producers do, on opsauto's bus; returns its ID (derived from the idempotency key). */
async function request(detail: Record<string, unknown>, idempotencyKey = `e2e-${++seq}`): Promise<string> {
  const out = await new EventBridgeClient(clientConfig(stage.cloud)).send(
    new PutEventsCommand({ Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ ...detail, idempotencyKey }), EventBusName: eventBusName(stage.tableName) }] }),
  );
  expect(out.FailedEntryCount).toBe(0);
  await stage.cloud.settle();
  return executionIdFor(idempotencyKey);
}

async function execution(id: string): Promise<Execution> {
  const loaded = await store.get(id);
  if (!loaded) throw new Error(`no execution ${id}; worker failures: ${JSON.stringify(stage.cloud.lambda.failures)}`);
  return loaded.execution;
}

const calls = (service: string, operation: string) => stage.cloud.calls.snapshot()[service]?.[operation] ?? 0;

describe('AWS-owned runbooks on the local stage', () => {
  it('stops an instance with AWS-StopEC2Instance: both steps succeed once the instance has stopped', async () => {
    // Prepare
    const solo = await instance('solo');
    // Act
    const id = await request({ documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [solo.id] } });
    const waiting = await execution(id);
    await stage.cloud.advance('1m');
    // Assess
    expect(waiting.status).toBe('InProgress');
    const done = await execution(id);
    expect(done.status).toBe('Success');
    expect(done.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['stopInstances:Success', 'forceStopInstances:Success']);
    expect((await instance('solo')).state).toBe('stopped');
    expect(calls('ec2', 'StopInstances')).toBe(1);
  });

  it('stops an RDS instance with AWS-StopRdsInstance (executeAwsApi, then a wait and an assert on DescribeDBInstances)', async () => {
    // Act
    const id = await request({ documentName: 'AWS-StopRdsInstance', parameters: { InstanceId: 'reports-db' } });
    await stage.cloud.advance('10m');
    // Assess
    const done = await execution(id);
    expect(done.status, done.failureMessage).toBe('Success');
    const db = await new RDSClient(clientConfig(stage.cloud)).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'reports-db' }));
    expect(db.DBInstances?.[0]?.DBInstanceStatus).toBe('stopped');
    expect(calls('rds', 'StopDBInstance')).toBe(1);
  });

  it('creates an image with AWS-CreateImage and announces it as Runbook Image Created', async () => {
    // Prepare
    const imaged = await instance('imaged');
    // Act
    const id = await request({ documentName: 'AWS-CreateImage', parameters: { InstanceId: imaged.id } });
    await stage.cloud.advance('10m');
    // Assess
    const done = await execution(id);
    expect(done.status, done.failureMessage).toBe('Success');
    const imageId = done.steps[0]?.outputs?.ImageId as string;
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.State).toBe('available');
    const announced = stage.cloud.lambda.invocations.filter((i) => i.function === 'ami-publisher' && i.trigger.includes('runbook-image-created'));
    expect(announced.length).toBe(1);
    expect(calls('ec2', 'CreateImage')).toBe(1);
  });

  it('still announces the image it created when PutEvents fails as the execution ends: the tick publishes the outbox', async () => {
    // Prepare: an image-creating run is under way; then the bus fails every PutEvents for a while.
    const imaged = await instance('imaged');
    const id = await request({ documentName: 'AWS-CreateImage', parameters: { InstanceId: imaged.id } });
    stage.cloud.faults.set([{ service: "events", operation: "PutEvents", errorRate: 1 }]);
    // Act: the image becomes available and the execution ends while PutEvents fails; then the bus recovers.
    await stage.cloud.advance('3m');
    const ended = await execution(id);
    const announcedWhileDown = stage.cloud.lambda.invocations.filter((i) => i.function === 'ami-publisher' && i.trigger.includes('runbook-image-created')).length;
    stage.cloud.faults.set([]);
    await stage.cloud.advance('10m');
    // Assess
    expect(ended.status, ended.failureMessage).toBe('Success');
    expect(Object.keys(ended.outbox ?? {}).length).toBeGreaterThan(0);
    const announced = stage.cloud.lambda.invocations.filter((i) => i.function === 'ami-publisher' && i.trigger.includes('runbook-image-created'));
    expect(announced.length - announcedWhileDown).toBe(1);
    expect((await execution(id)).outbox).toBeUndefined();
  });

  it('starts one execution when the same request is delivered twice', async () => {
    // Prepare
    const solo = await instance('solo');
    // Act
    const first = await request({ documentName: 'AWS-StartEC2Instance', parameters: { InstanceId: [solo.id] } }, 'twice');
    const second = await request({ documentName: 'AWS-StartEC2Instance', parameters: { InstanceId: [solo.id] } }, 'twice');
    await stage.cloud.advance('2m');
    // Assess
    expect(second).toBe(first);
    expect((await execution(first)).status).toBe('Success');
    expect(calls('ec2', 'StartInstances')).toBe(1);
  });

  it('runs a shipped runbook of ours: snapshots a stale volume, waits for the snapshot, deletes the volume', async () => {
    // Prepare
    const volume = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8, VolumeType: 'gp3' }));
    await stage.cloud.advance('1m');
    // Act
    const id = await request({ documentName: 'opsauto-SnapshotThenDeleteVolume', parameters: { VolumeId: volume.VolumeId } });
    await stage.cloud.advance('30m');
    // Assess
    const done = await execution(id);
    expect(done.status, done.failureMessage).toBe('Success');
    const snapshotId = done.outputs?.['createSnapshot.SnapshotId'] as string;
    expect((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0]?.State).toBe('completed');
    await expect(ec2.send(new DescribeVolumesCommand({ VolumeIds: [volume.VolumeId!] }))).rejects.toThrow(/InvalidVolume.NotFound|does not exist/);
  });

  it('sleeps across ticks and wakes at its time, two hours later', async () => {
    // Prepare: an Automation document of the account's own.
    await ssm.send(
      new CreateDocumentCommand({
        Name: 'Team-SleepThenTag',
        DocumentType: 'Automation',
        DocumentFormat: 'YAML',
        Content: "schemaVersion: '0.3'\nparameters:\n  InstanceId: { type: String }\nmainSteps:\n  - { name: nap, action: aws:sleep, inputs: { Duration: PT2H } }\n  - { name: tag, action: aws:createTags, inputs: { ResourceIds: ['{{ InstanceId }}'], Tags: [{ Key: rested, Value: 'yes' }] } }\n",
      }),
    );
    const target = await instance('fleet-1');
    // Act
    const id = await request({ documentName: 'Team-SleepThenTag', parameters: { InstanceId: target.id } });
    await stage.cloud.advance('119m');
    const before = await execution(id);
    await stage.cloud.advance('2m');
    // Assess
    expect(before.status).toBe('InProgress');
    expect(before.steps.map((s) => s.status)).toEqual(['InProgress']);
    const done = await execution(id);
    expect(done.status).toBe('Success');
    expect(Date.parse(done.endedAt!) - Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(7_200_000);
  });
});

// Succeeds on instances of team web, fails on team legacy: a target that fails, for rate control.
const CHECK_AND_STOP = `schemaVersion: '0.3'
parameters:
  InstanceId: { type: String }
mainSteps:
  - name: checkTeam
    action: aws:assertAwsResourceProperty
    inputs:
      Service: ec2
      Api: DescribeInstances
      InstanceIds: ['{{ InstanceId }}']
      Filters: [{ Name: 'tag:team', Values: [web] }]
      PropertySelector: $.Reservations[0].Instances[0].State.Name
      DesiredValues: [pending, running, stopping, stopped]
  - name: stop
    action: aws:changeInstanceState
    inputs: { InstanceIds: ['{{ InstanceId }}'], DesiredState: stopped }
`;

describe('rate control on the local stage', () => {
  beforeAll(async () => {
    await ssm.send(new CreateDocumentCommand({ Name: 'Team-CheckAndStop', DocumentType: 'Automation', DocumentFormat: 'YAML', Content: CHECK_AND_STOP }));
  });

  async function runOverFleet(maxErrors: string): Promise<{ done: Execution; peak: number }> {
    const id = await request({ documentName: 'Team-CheckAndStop', targetParameterName: 'InstanceId', targets: [{ Key: 'tag:fleet', Values: ['office'] }], maxConcurrency: '10', maxErrors });
    let peak = 0;
    for (let minute = 0; minute < 30 && !(await execution(id)).endedAt; minute++) {
      peak = Math.max(peak, (await execution(id)).counters?.running ?? 0);
      await stage.cloud.advance('1m');
    }
    return { done: await execution(id), peak };
  }

  it('stops launching once failures exceed MaxErrors 2, lets running children finish, and ends Failed', async () => {
    // Act
    const { done, peak } = await runOverFleet('2');
    // Assess
    expect(done.status).toBe('Failed');
    expect(peak).toBeLessThanOrEqual(10);
    expect(done.counters!.failed).toBeGreaterThanOrEqual(3);
    expect(done.counters!.running).toBe(0);
    expect(done.counters!.succeeded + done.counters!.failed).toBe(done.counters!.launched);
    expect(done.failureMessage).toContain('MaxErrors 2');
  });

  it('ends CompletedWithFailure with exactly the 5 failing targets when MaxErrors 5 allows them', async () => {
    // Act
    const { done } = await runOverFleet('5');
    // Assess
    const children = (await store.list({ parentExecutionId: done.executionId, limit: 3 })).executions.map((c) => c.failureMessage);
    expect(done.status, JSON.stringify({ counters: done.counters, failure: done.failureMessage, children })).toBe('CompletedWithFailure');
    expect(done.counters).toMatchObject({ launched: 100, running: 0, succeeded: 95, failed: 5 });
  });

  it('runs AWS-StopEC2Instance over 100 tagged instances by tag, never more than 10 at a time, and ends Success', async () => {
    // Prepare: instances of team legacy cannot be stopped (they are terminated first, so their step fails).
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:team', Values: ['legacy'] }] }));
    expect(Reservations?.length).toBe(5);
    // Act
    const id = await request({
      documentName: 'AWS-StopEC2Instance',
      targetParameterName: 'InstanceId',
      targets: [{ Key: 'tag:fleet', Values: ['office'] }],
      maxConcurrency: '10',
      maxErrors: '2',
    });
    let peak = 0;
    for (let minute = 0; minute < 30; minute++) {
      peak = Math.max(peak, (await execution(id)).counters?.running ?? 0);
      await stage.cloud.advance('1m');
    }
    // Assess
    const done = await execution(id);
    expect(done.rateControl?.targets).toHaveLength(100);
    expect(peak).toBeLessThanOrEqual(10);
    expect(done.counters?.running).toBe(0);
    expect(done.counters?.launched).toBe(100);
    expect(done.counters?.succeeded).toBe(100);
    expect(done.status).toBe('Success');
  });
});
