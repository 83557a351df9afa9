import { CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetBucketVersioningCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateActivationCommand, CreateOpsItemCommand, DescribeInstancePatchStatesCommand, GetOpsItemCommand, GetParameterCommand, SSMClient, UpdateOpsItemCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore, DynamoRemediationStore } from '@opsauto/aws';
import { parseScheduleExpression, type Execution, type ExecutionSummary } from '@opsauto/core';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { shippedConfig } from '../helpers/automations.js';
import { clientConfig, nextMondayUtc } from '../helpers/localcloud.js';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { registerManagedInstance } from '../../packages/localcloud/src/services/ssm.js';
import { configureAgent } from '../../packages/localcloud/src/services/ssm-managed-nodes.js';

// The automations of the shipped opsauto.config.ts, each end to end on the local stage against a seeded fleet, on
// the virtual clock: their schedules fire at the times the config says (in their time zones), their events start
// one execution per firing, and the runbooks' effects are read back with the SDK.

process.env.RUNBOOK_INLINE_WAIT_MS = '0';
// Steps that wait (a 25-minute patch run) are polled once a minute rather than every 5 seconds: fewer turns.
process.env.RUNBOOK_POLL_MS = '60000';

// Office hours check every 5 minutes, which over the week these tests cover would be 2,000 firings: they have their
// own test file, which moves the clock by hours.
const config = shippedConfig((a) => !a.officeHours);

let stage: Stage;
let store: DynamoExecutionStore;
let ec2: EC2Client;
let ssm: SSMClient;
let s3: S3Client;

beforeAll(async () => {
  // A Monday 00:00 UTC: the weekly and office-hours schedules ahead are the same whatever day the suite runs.
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT', startAt: nextMondayUtc() });
  const clients = new AwsClients('us-east-1', clientConfig(stage.cloud));
  // Listings walk back by day from the clock's today: the virtual one.
  store = new DynamoExecutionStore(clients, stage.tableName, { clock: stage.cloud.clock });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  ssm = new SSMClient(clientConfig(stage.cloud));
  s3 = new S3Client({ ...clientConfig(stage.cloud), forcePathStyle: true });
});
afterAll(async () => {
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
  delete process.env.RUNBOOK_POLL_MS;
});
beforeEach(() => stage.cloud.calls.reset());

const calls = (service: string, operation: string) => stage.cloud.calls.snapshot()[service]?.[operation] ?? 0;

/** Top-level executions an automation started, newest first. */
async function runsOf(automation: string): Promise<ExecutionSummary[]> {
  const { executions } = await store.list({ limit: 100 });
  return executions.filter((e) => e.triggeredBy === `automation:${automation}`);
}

async function execution(id: string): Promise<Execution> {
  const loaded = await store.get(id);
  if (!loaded) throw new Error(`no execution ${id}; failures: ${JSON.stringify(stage.cloud.lambda.failures)}`);
  return loaded.execution;
}

/** Moves the clock to the automation's next fire time after now, and `after` beyond it, running everything due. */
async function advanceToNextRun(automation: string, afterMs = 0): Promise<Date> {
  const a = config.automations.find((x) => x.name === automation)!;
  const t = 'schedule' in a.trigger ? { schedule: a.trigger.schedule, timezone: a.trigger.timezone } : 'maintenanceWindow' in a.trigger ? a.trigger.maintenanceWindow : undefined;
  const next = parseScheduleExpression(t!.schedule, t!.timezone).nextAfter(stage.cloud.clock.now())!;
  await stage.cloud.advance(next.getTime() - stage.cloud.clock.nowMs() + afterMs);
  return next;
}

async function compliance(resourceId: string, complianceType: 'COMPLIANT' | 'NON_COMPLIANT'): Promise<{ detail: Record<string, unknown> }[]> {
  const res = await fetch(`${stage.cloud.url}/_localcloud/config/compliance`, {
    method: 'POST',
    body: JSON.stringify({ configRuleName: 's3-bucket-versioning-enabled', resourceType: 'AWS::S3::Bucket', resourceId, complianceType }),
  });
  expect(res.status).toBe(200);
  await stage.cloud.settle();
  return ((await res.json()) as { events: { detail: Record<string, unknown> }[] }).events;
}

function redeliver(detail: Record<string, unknown>): Promise<void> {
  stage.cloud.bus.publish({ source: 'aws.config', detailType: 'Config Rules Compliance Change', detail, account: '000000000000', region: 'us-east-1' });
  return stage.cloud.settle();
}

describe('automations on the local stage', () => {
  it('registers the triggers the config declares, as the stacks deploy them: a schedule per timed one in its time zone, a rule per event-driven one', () => {
    // The stacks build theirs from the same manifest entries (test/stacks: "starts the shipped automations from their triggers").
    const schedules = stage.cloud.scheduler
      .list()
      .filter((s) => s.target === 'automation-trigger')
      .map((s) => [s.name, s.expression, s.timezone]);
    const rules = stage.cloud.bus
      .listRules()
      .filter((r) => r.targets.includes('automation-trigger'))
      .map((r) => [r.name, r.pattern]);
    const enabled = config.automations.filter((a) => a.enabled);
    const expected = enabled.flatMap((a) => {
      const t = 'schedule' in a.trigger ? a.trigger : 'maintenanceWindow' in a.trigger ? a.trigger.maintenanceWindow : undefined;
      return t ? [[`automation-trigger.${a.name}`, t.schedule, t.timezone]] : [];
    });
    expect(schedules.sort()).toEqual(expected.sort());
    expect(rules.map(([name]) => name)).toEqual([
      'automation-trigger.s3-versioning-remediation',
      'automation-trigger.stale-volume-remediation',
      // The end of an OpsItem remediation's execution, on opsauto's bus, settles the item.
      'automation-trigger.opsitem-remediation-ended',
    ]);
    expect(rules.slice(0, 1)).toEqual([
      [
        'automation-trigger.s3-versioning-remediation',
        {
          source: ['aws.config'],
          'detail-type': ['Config Rules Compliance Change'],
          detail: { messageType: ['ComplianceChangeNotification'], configRuleName: ['s3-bucket-versioning-enabled'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
        },
      ],
    ]);
  });
});

describe('s3-versioning-remediation: Config rule s3-bucket-versioning-enabled NON_COMPLIANT runs AWS-ConfigureS3BucketVersioning', () => {
  it('enables versioning on the bucket once per evaluation, whatever duplicates and late events come', async () => {
    // Prepare
    await s3.send(new CreateBucketCommand({ Bucket: 'qa-logs' }));
    // Act: the rule finds the bucket non-compliant.
    const [event] = await compliance('qa-logs', 'NON_COMPLIANT');
    // Assess: versioning on, the remediation recorded against the resource with its execution.
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'qa-logs' }))).Status).toBe('Enabled');
    const remediations = new DynamoRemediationStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
    const [record] = await remediations.listByResource('qa-logs');
    expect(record).toMatchObject({ automation: 's3-versioning-remediation', rule: 's3-bucket-versioning-enabled', resourceType: 'AWS::S3::Bucket', resourceId: 'qa-logs' });
    expect((await execution(record.executionId)).status).toBe('Success');
    expect(calls('s3', 'PutBucketVersioning')).toBe(1);

    // Act: the same evaluation delivered again (EventBridge delivers at least once), and an older one arriving late.
    await redeliver(event.detail);
    const older = structuredClone(event.detail) as { newEvaluationResult: { evaluationResultIdentifier: { orderingTimestamp: string } } };
    older.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp = new Date(Date.parse(record.evaluatedAt) - 3_600_000).toISOString();
    await redeliver(older as unknown as Record<string, unknown>);
    // Assess: nothing ran again.
    expect(calls('s3', 'PutBucketVersioning')).toBe(1);
    expect(await runsOf('s3-versioning-remediation')).toHaveLength(1);

    // Act: someone suspends versioning; the rule evaluates again, later.
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'qa-logs', VersioningConfiguration: { Status: 'Suspended' } }));
    await compliance('qa-logs', 'COMPLIANT');
    await stage.cloud.advance('1m');
    await compliance('qa-logs', 'NON_COMPLIANT');
    // Assess: a new evaluation, a second remediation.
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'qa-logs' }))).Status).toBe('Enabled');
    expect(await runsOf('s3-versioning-remediation')).toHaveLength(2);
  });
});

describe('patch-window: Tuesday 02:00-04:00 Asia/Seoul, AWS-RunPatchBaseline Install on Patch Group=qa, 20% at a time', () => {
  it('starts at 02:00 Seoul time, patches 2 nodes at a time, EC2 and hybrid alike, and launches none after the 03:30 cutoff', async () => {
    // Prepare: 10 QA nodes whose patching takes 25 minutes each (9 EC2 instances and an on-premises server registered
    // through a hybrid activation tagged Patch Group=qa), and one node of another group.
    const agent = { durationSeconds: 1500, patches: { installed: 40, missing: 3 } };
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          instances: [
            ...Array.from({ length: 9 }, (_, i) => ({ tags: { Name: `qa-${i}`, 'Patch Group': 'qa' }, agent })),
            { tags: { Name: 'prod-0', 'Patch Group': 'prod' }, agent: {} },
          ],
        },
      },
    });
    const activation = await ssm.send(new CreateActivationCommand({ IamRole: 'SSMServiceRole', RegistrationLimit: 1, Tags: [{ Key: 'Patch Group', Value: 'qa' }] }));
    const { instanceId: onPrem } = registerManagedInstance(stage.cloud.store, DEFAULT_ACCOUNT, 'us-east-1', activation.ActivationId!, activation.ActivationCode!, { hostname: 'rack7-db-01' });
    configureAgent(stage.cloud.store, DEFAULT_ACCOUNT, 'us-east-1', onPrem, agent, stage.cloud.clock.nowMs());
    // Act
    const windowStart = await advanceToNextRun('patch-window', 2 * 3_600_000);
    // Assess: the window opened at 02:00 in Seoul (17:00 UTC the day before).
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Seoul', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(windowStart)).toBe('Tue 02:00');
    const [run] = await runsOf('patch-window');
    expect(Date.parse(run.createdAt) - windowStart.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse(run.createdAt) - windowStart.getTime()).toBeLessThan(60_000);
    const done = await execution(run.executionId);
    // The targets: the 9 EC2 instances and the hybrid node of group qa, not prod-0.
    const qa = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Patch Group', Values: ['qa'] }] }))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!));
    expect(done.rateControl?.targets.slice().sort()).toEqual([...qa, onPrem].sort());
    // 02:00, ~02:25, ~02:50, ~03:15 launched 2 each; the next pair would start after 03:30.
    expect(done.status).toBe('TimedOut');
    expect(done.counters).toMatchObject({ launched: 8, running: 0, succeeded: 8, failed: 0 });
    expect(done.failureMessage).toMatch(/the cutoff \(.+\) came before 2 of 10 targets were launched/);
    const states = (await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [...qa, onPrem] }))).InstancePatchStates ?? [];
    expect(states.filter((s) => s.Operation === 'Install' && s.MissingCount === 0)).toHaveLength(8);
    expect(calls('ssm', 'SendCommand')).toBe(8);
  });
});

describe('weekly-golden-ami: Sunday 03:00 UTC, an image of each builder tagged with its family, 4 kept', () => {
  it('images the builder, tags the image with its family, publishes it, and deregisters the oldest beyond 4 with their snapshots', async () => {
    // Prepare: a builder of family qa-base, and 4 older images of that family.
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          images: Array.from({ length: 4 }, (_, i) => ({ name: `qa-base-old-${i}`, creationDate: `2026-0${i + 1}-01T00:00:00.000Z`, tags: { 'opsauto:ami-family': 'qa-base' } })),
          instances: [{ image: 'qa-base-old-3', tags: { Name: 'qa-base-builder', 'opsauto:golden-builder': 'qa-base' } }],
        },
      },
    });
    const family = async () =>
      (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:opsauto:ami-family', Values: ['qa-base'] }] }))).Images!.sort((a, b) => a.CreationDate!.localeCompare(b.CreationDate!));
    const oldest = (await family())[0];
    const oldestSnapshots = oldest.BlockDeviceMappings!.flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
    // Act
    const fired = await advanceToNextRun('weekly-golden-ami', 3_600_000);
    // Assess
    expect(fired.getUTCDay()).toBe(0);
    expect(fired.toISOString().slice(11, 16)).toBe('03:00');
    const [run] = await runsOf('weekly-golden-ami');
    const done = await execution(run.executionId);
    const [child] = (await store.list({ parentExecutionId: run.executionId })).executions;
    expect(done.status, (await execution(child.executionId)).failureMessage).toBe('Success');
    const images = await family();
    expect(images).toHaveLength(4);
    expect(images.map((i) => i.Name)).not.toContain('qa-base-old-0');
    const newest = images.at(-1)!;
    expect(newest.Name).toMatch(/^qa-base-golden-/);
    expect((await ssm.send(new GetParameterCommand({ Name: '/opsauto/ami/qa-base/latest' }))).Parameter?.Value).toBe(newest.ImageId);
    const left = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.map((s) => s.SnapshotId);
    expect(oldestSnapshots).toHaveLength(1);
    expect(left).not.toContain(oldestSnapshots[0]);
    // The kept images' snapshots stay.
    const kept = images.flatMap((i) => i.BlockDeviceMappings!.flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])));
    expect(left).toEqual(expect.arrayContaining(kept));
  });
});

describe('stale-volume-remediation: an OpsItem of opsauto set to InProgress runs opsauto-SnapshotThenDeleteVolume on its volume', () => {
  it('snapshots and deletes the volume, notes the execution on the item and resolves it when the run succeeds', async () => {
    // Prepare: an unattached volume and the OpsItem the scanner files for it (Source opsauto, its ARN in /aws/resources).
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8 }));
    await stage.cloud.advance('1m'); // creating -> available
    const arn = `arn:aws:ec2:us-east-1:000000000000:volume/${VolumeId}`;
    const { OpsItemId } = await ssm.send(
      new CreateOpsItemCommand({
        Title: `Unattached EBS volume ${VolumeId}`,
        Description: 'stale',
        Source: 'opsauto',
        OperationalData: { '/aws/resources': { Value: JSON.stringify([{ arn }]), Type: 'SearchableString' }, '/aws/dedup': { Value: JSON.stringify({ dedupString: VolumeId }), Type: 'SearchableString' } },
      }),
    );
    // Act: an operator asks for the remediation.
    await ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'InProgress' }));
    await stage.cloud.settle();
    await stage.cloud.advance('10m');
    // Assess: one execution, though the item's own updates (the note naming it) raise further OpsItem Update events.
    const runs = await runsOf('stale-volume-remediation');
    expect(runs).toHaveLength(1);
    const [run] = runs;
    const done = await execution(run.executionId);
    expect(done.status, done.failureMessage).toBe('Success');
    expect(done.parameters).toMatchObject({ VolumeId });
    expect((await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [VolumeId!] }] }))).Volumes).toEqual([]);
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: [VolumeId!] }] }))).Snapshots!;
    expect(snapshots).toHaveLength(1);
    const item = (await ssm.send(new GetOpsItemCommand({ OpsItemId }))).OpsItem!;
    expect(item.Status).toBe('Resolved');
    expect(item.OperationalData?.['opsauto:remediation']?.Value).toBe(`stale-volume-remediation: execution ${run.executionId} ended Success`);
    // Only stale-volume-remediation fired: stale-volume-delete is declared for runs by hand only.
    expect(await runsOf('stale-volume-delete')).toEqual([]);
  });

  it('opens the item again, naming the execution, when the remediation fails', async () => {
    // Prepare: an item whose volume does not exist any more.
    const { OpsItemId } = await ssm.send(
      new CreateOpsItemCommand({
        Title: 'Unattached EBS volume vol-0123456789abcdef0',
        Description: 'stale',
        Source: 'opsauto',
        OperationalData: { '/aws/resources': { Value: JSON.stringify([{ arn: 'arn:aws:ec2:us-east-1:000000000000:volume/vol-0123456789abcdef0' }]), Type: 'SearchableString' } },
      }),
    );
    // Act
    await ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'InProgress' }));
    await stage.cloud.settle();
    await stage.cloud.advance('10m');
    // Assess
    const [run] = await runsOf('stale-volume-remediation');
    expect((await execution(run.executionId)).status).toBe('Failed');
    const item = (await ssm.send(new GetOpsItemCommand({ OpsItemId }))).OpsItem!;
    expect(item.Status).toBe('Open');
    expect(item.OperationalData?.['opsauto:remediation']?.Value).toBe(`stale-volume-remediation: execution ${run.executionId} ended Failed`);
  });
});
