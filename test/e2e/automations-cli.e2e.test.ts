import { CreateVolumeCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeOpsItemsCommand, GetOpsItemCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatInZone, parseScheduleExpression, type Execution, type ExecutionPage } from '@opsauto/core';
import shipped from '../../opsauto.config.js';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { shippedConfig } from '../helpers/automations.js';
import { cliAgainst } from '../helpers/cli.js';
import { clientConfig, nextMondayUtc } from '../helpers/localcloud.js';

// `opsauto automations list | run | remediations`, the CLI run in-process (test/helpers/cli.ts) against a local stage started in-process, on the
// virtual clock. The CLI reads the shipped opsauto.config.ts itself; the stage runs it with the recovery tick made
// daily and the timed automations' schedules off, so that moving the clock to a Saturday starts nothing on its own:
// every execution here is one the CLI started (or the Config rule's event, which stays on).

process.env.RUNBOOK_INLINE_WAIT_MS = '0';
process.env.RUNBOOK_POLL_MS = '60000';

const config = shippedConfig((a) => 'configRules' in a.trigger);

const TAG = { 'opsauto:schedule': 'qa-office-hours' };
/** Who runs an automation by hand on the local stage when OPSAUTO_IDENTITY names no one. */
const OPERATOR = 'arn:aws:iam::000000000000:user/operator';

let stage: Stage;
let ec2: EC2Client;
let s3: S3Client;
let builderId: string;

/** The CLI in this process, as an operator with no OPSAUTO_IDENTITY runs it. */
const { opsauto, opsautoJson, opsautoFails } = cliAgainst(() => stage.cloud.url, { env: { OPSAUTO_IDENTITY: '' } });
const executions = async () => (await opsautoJson<ExecutionPage>('runbook', 'list', '--limit', '100')).executions;
const idsTagged = async (key: string, value: string) =>
  (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${key}`, Values: [value] }] }))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!)).sort();
/** Operations called between two call-count snapshots. */
function callsBetween(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>): string[] {
  return Object.entries(after).flatMap(([service, ops]) => Object.entries(ops).filter(([op, n]) => n > (before[service]?.[op] ?? 0)).map(([op]) => `${service}:${op}`));
}
/** Calls that write or signal (anything but a read, and any call to the table or the bus). */
const writes = (calls: string[]) => calls.filter((c) => c.startsWith('dynamodb:') || c.startsWith('events:') || !/:(Describe|Get|List)/.test(c));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Moves the clock to the next `cron` time in `timezone`, plus `afterMs`. */
async function advanceTo(cron: string, timezone: string, afterMs: number): Promise<Date> {
  const at = parseScheduleExpression(cron, timezone).nextAfter(stage.cloud.clock.now())!;
  await stage.cloud.advance(at.getTime() - stage.cloud.clock.nowMs() + afterMs);
  return at;
}

beforeAll(async () => {
  // A Monday 00:00 UTC: the weekly and office-hours schedules ahead are the same whatever day the suite runs.
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT', startAt: nextMondayUtc() });
  stage.cloud.seed({
    regions: {
      'us-east-1': {
        images: [{ name: 'qa-base-old-0', creationDate: '2026-01-01T00:00:00.000Z', tags: { 'opsauto:ami-family': 'qa-base' } }],
        instances: [
          { image: 'qa-base-old-0', tags: { Name: 'qa-base-builder', 'opsauto:golden-builder': 'qa-base' } },
          { tags: { Name: 'qa-web', ...TAG } },
          { tags: { Name: 'qa-batch', ...TAG } },
          { tags: { Name: 'qa-asg', ...TAG, 'aws:autoscaling:groupName': 'qa-workers' } },
          { tags: { Name: 'prod-web' } },
        ],
        dbInstances: [{ identifier: 'qa-db', tags: TAG }],
        dbClusters: [{ identifier: 'qa-aurora', tags: TAG, instances: ['qa-aurora-1'] }],
      },
    },
  });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  s3 = new S3Client({ ...clientConfig(stage.cloud), forcePathStyle: true });
  [builderId] = await idsTagged('opsauto:golden-builder', 'qa-base');
});
afterAll(async () => {
  await stage?.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
  delete process.env.RUNBOOK_POLL_MS;
});

interface Row {
  name: string;
  runbook: string;
  trigger: string;
  nextRun: string;
  lastRun: string;
}

/** Each shipped automation's trigger, as an operator should read it. */
const TRIGGERS: Record<string, string> = {
  'qa-office-hours': 'every 5 minutes (Asia/Seoul), and RDS starting a stopped instance or cluster again',
  'nightly-resize': 'at 07:00 and 22:00, every day (Asia/Seoul)',
  'weekly-golden-ami': 'at 03:00 on Sunday (UTC)',
  's3-versioning-remediation': 'Config rule s3-bucket-versioning-enabled finds a resource NON_COMPLIANT',
  'stale-volume-remediation': 'an OpsItem of opsauto set to InProgress',
  'stale-volume-delete': 'an OpsItem of opsauto set to InProgress (disabled)',
  'patch-window': 'window at 02:00 on Tuesday (Asia/Seoul), for 2h, no new target in the last 30m',
};

/** The next run of a shipped automation after `now`, in its own time zone (formatInZone); '' for event-driven ones. */
function expectedNextRun(name: string, now: Date): string {
  const t = shipped.automations.find((a) => a.name === name)!.trigger;
  const schedule = 'schedule' in t ? t : 'maintenanceWindow' in t ? t.maintenanceWindow : undefined;
  if (!schedule) return '';
  return formatInZone(parseScheduleExpression(schedule.schedule, schedule.timezone).nextAfter(now)!, schedule.timezone);
}

// Each test runs the CLI up to six times, a process each (about 1 s of CPU apiece on two shared cores).
describe('opsauto automations on the local stage', { timeout: 90_000 }, () => {
  it('exits 1 naming the automations the config declares when asked to run one that does not exist', async () => {
    // Act
    const { code, stderr } = await opsautoFails('automations', 'run', 'no-such');
    // Assess
    expect(code).toBe(1);
    expect(stderr).toBe('opsauto: no automation is named no-such (the config declares qa-office-hours, nightly-resize, weekly-golden-ami, s3-versioning-remediation, stale-volume-remediation, stale-volume-delete, patch-window)\n');
  });

  it('lists every automation with its trigger in words and its next run in its own time zone, and no last run before any', async () => {
    // Prepare: 2 s past a 5-minute mark, so that every schedule's next run stays the same while the CLI runs.
    await advanceTo('cron(0/5 * * * ? *)', 'UTC', 2_000);
    // Act
    const rows = await opsautoJson<Row[]>('automations', 'list');
    const text = await opsauto('automations', 'list');
    // Assess
    const now = stage.cloud.clock.now();
    expect(rows.map((r) => r.name)).toEqual(shipped.automations.map((a) => a.name));
    for (const r of rows) expect(r, r.name).toEqual({ name: r.name, runbook: expect.any(String), trigger: TRIGGERS[r.name], nextRun: expectedNextRun(r.name, now), lastRun: '' });
    expect(rows.find((r) => r.name === 'qa-office-hours')!.nextRun).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d[05]\+09:00 Asia\/Seoul$/);
    expect(rows.find((r) => r.name === 'weekly-golden-ami')!.nextRun).toMatch(/^\d{4}-\d{2}-\d{2}T03:00\+00:00 UTC$/);
    expect(rows.find((r) => r.name === 'patch-window')!.nextRun).toMatch(/^\d{4}-\d{2}-\d{2}T02:00\+09:00 Asia\/Seoul$/);
    expect(rows.map((r) => r.runbook)).toEqual(['office hours', 'night resize', 'opsauto-GoldenImage', 'AWS-ConfigureS3BucketVersioning', 'opsauto-SnapshotThenDeleteVolume', 'opsauto-DeleteVolume', 'opsauto-PatchInstance']);
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^name\s+runbook\s+trigger\s+nextRun\s+lastRun$/);
    expect(lines).toHaveLength(1 + shipped.automations.length);
    for (const r of rows) expect(text).toMatch(new RegExp(`^${[r.name, r.runbook, r.trigger, r.nextRun].filter(Boolean).map(escape).join('\\s+')}$`, 'm'));
  });

  it('refuses to run s3-versioning-remediation by hand, exiting 1 with the reason, and keeps the refusal', async () => {
    // Prepare
    const before = await executions();
    // Act
    const { code, stdout, stderr } = await opsautoFails('automations', 'run', 's3-versioning-remediation');
    const refusals = await opsautoJson<{ refusals: { documentName: string; triggeredBy: string; reason: string }[] }>('runbook', 'refusals', '--limit', '5');
    const refusalsText = await opsauto('runbook', 'refusals', '--limit', '1');
    // Assess
    expect(code).toBe(1);
    const reason = 'parameter BucketName takes {{ event.detail.resourceId }}, and this run has no event';
    expect(stdout).toBe(`automation s3-versioning-remediation refused: ${reason}\n`);
    expect(stderr).toBe('opsauto: 1 start(s) of automation s3-versioning-remediation refused (see above; opsauto runbook refusals keeps them)\n');
    expect(refusals.refusals[0]).toMatchObject({
      documentName: 'AWS-ConfigureS3BucketVersioning',
      triggeredBy: `automation:s3-versioning-remediation (run by ${OPERATOR})`,
      reason: expect.stringContaining(reason),
    });
    expect(refusalsText).toContain(reason);
    expect(await executions()).toEqual(before);

    // Act: the same with --json and --dry-run.
    const dry = await opsautoFails('--json', 'automations', 'run', 's3-versioning-remediation', '--dry-run');
    // Assess: the refusal as JSON, exit 1 all the same, and nothing more kept.
    expect(dry.code).toBe(1);
    expect(JSON.parse(dry.stdout)).toEqual([{ automation: 's3-versioning-remediation', refused: reason }]);
    expect((await opsautoJson<{ refusals: unknown[] }>('runbook', 'refusals', '--limit', '5')).refusals).toEqual(refusals.refusals);
  });

  it('prints the plan of weekly-golden-ami over the builder instance and starts nothing when run with --dry-run', async () => {
    // Prepare
    const before = stage.cloud.calls.snapshot();
    // Act
    const out = await opsauto('automations', 'run', 'weekly-golden-ami', '--dry-run');
    const plan = await opsautoJson<{ automation: string; plan: { documentName: string; parameters: Record<string, unknown>; targets: { values: string[]; targetParameterName: string } } }[]>(
      'automations',
      'run',
      'weekly-golden-ami',
      '--dry-run',
    );
    // Assess
    expect(out).toMatch(/^automation weekly-golden-ami would start:$/m);
    expect(out).toContain('dry run: nothing was started or changed');
    expect(out).toMatch(/^document\s+opsauto-GoldenImage$/m);
    expect(out).toMatch(/^parameters\s+Retain=4  FamilyTag=opsauto:ami-family  /m);
    expect(out).toMatch(new RegExp(`^targets\\s+1 -> InstanceId: ${builderId}$`, 'm'));
    expect(out).toMatch(/^limits\s+max concurrency 2 \(2 at a time\), max errors 1 \(stops after 2 failures\)$/m);
    expect(out).toMatch(/^createImage\s+aws:createImage\s+Abort\s+2\s+yes$/m);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ automation: 'weekly-golden-ami', plan: { documentName: 'opsauto-GoldenImage', parameters: { Retain: 4 }, targets: { values: [builderId], targetParameterName: 'InstanceId' } } });
    expect(writes(callsBetween(before, stage.cloud.calls.snapshot()))).toEqual([]);
    expect(await executions()).toEqual([]);
  });

  it('starts weekly-golden-ami as the operator asked, shows it in runbook status and runs it to Success, then lists it as the last run', async () => {
    // Act
    const out = await opsauto('automations', 'run', 'weekly-golden-ami');
    const id = /started execution (\S+);/.exec(out)?.[1];
    await stage.cloud.settle();
    // Assess
    expect(id, out).toBeDefined();
    expect(out).toContain(`automation weekly-golden-ami started execution ${id}; follow it: opsauto runbook status ${id}`);
    const listed = await executions();
    expect(listed.map((e) => [e.executionId, e.triggeredBy])).toEqual([[id, `automation:weekly-golden-ami (run by ${OPERATOR})`]]);
    const status = await opsauto('runbook', 'status', id!);
    expect(status).toMatch(new RegExp(`^execution\\s+${id}$`, 'm'));
    expect(status).toMatch(/^document\s+opsauto-GoldenImage$/m);
    expect(status).toContain(`triggered by automation:weekly-golden-ami (run by ${OPERATOR})`);
    expect(status).toMatch(/^targets\s+1 -> InstanceId, max concurrency 2 \(2\), max errors 1 \(1\)$/m);
    expect(status).toMatch(new RegExp(`^\\S+\\s+${builderId}\\s+InProgress\\s`, 'm'));

    // Act: the image is made on the clock.
    await stage.cloud.advance('1h');
    await stage.cloud.advance('1h');
    const ended = await opsautoJson<Execution>('runbook', 'status', id!);
    const rows = await opsautoJson<Row[]>('automations', 'list');
    const text = await opsauto('automations', 'list');
    // Assess
    expect(text).toMatch(new RegExp(`^weekly-golden-ami\\s.*\\sSuccess ${escape(ended.createdAt)} ${id}$`, 'm'));
    expect(ended).toMatchObject({ status: 'Success', counters: { launched: 1, succeeded: 1, failed: 0 } });
    expect(rows.find((r) => r.name === 'weekly-golden-ami')!.lastRun).toBe(`Success ${ended.createdAt} ${id}`);
    expect(rows.filter((r) => r.lastRun !== '').map((r) => r.name)).toEqual(['weekly-golden-ami']);
  });

  it('prints a stop plan per group for qa-office-hours on a Saturday with tagged resources running, and starts nothing', async () => {
    // Prepare: Saturday noon in Seoul, outside Monday-Friday 09:00-17:00; the stage's own check is off.
    await advanceTo('cron(0 12 ? * SAT *)', 'Asia/Seoul', 0);
    const [web, batch] = [(await idsTagged('Name', 'qa-web'))[0], (await idsTagged('Name', 'qa-batch'))[0]];
    const stopEc2 = [web, batch].sort();
    const before = await executions();
    // Act
    const out = await opsauto('automations', 'run', 'qa-office-hours', '--dry-run');
    const results = await opsautoJson<{ group: string; plan: { documentName: string; parameters: Record<string, unknown>; targets?: { values: string[] } } }[]>(
      'automations',
      'run',
      'qa-office-hours',
      '--dry-run',
    );
    // Assess
    // EC2 in one batch (its InstanceId list), RDS one target per DB instance or cluster.
    const acted = (r: (typeof results)[number]) => [...(r.plan.targets?.values ?? (r.plan.parameters.InstanceId as string[]))].sort();
    expect(results.map((r) => [r.group, r.plan.documentName, acted(r)])).toEqual([
      ['us-east-1/stop-ec2', 'AWS-StopEC2Instance', stopEc2],
      ['us-east-1/stop-rds', 'AWS-StopRdsInstance', ['qa-db']],
      ['us-east-1/stop-aurora', 'AWS-StartStopAuroraCluster', ['qa-aurora']],
    ]);
    expect(results[2].plan.parameters).toMatchObject({ Action: 'Stop' });
    const sections = out.split(/^(?=automation )/m);
    expect(sections.map((s) => s.split('\n')[0])).toEqual([
      'automation qa-office-hours (us-east-1/stop-ec2) would start:',
      'automation qa-office-hours (us-east-1/stop-rds) would start:',
      'automation qa-office-hours (us-east-1/stop-aurora) would start:',
    ]);
    expect(sections[0]).toMatch(/^document\s+AWS-StopEC2Instance \(version 1\)$/m);
    for (const id of stopEc2) expect(sections[0]).toContain(id);
    expect(sections[1]).toMatch(/^targets\s+1 -> InstanceId: qa-db$/m);
    expect(sections[2]).toMatch(/^parameters\s+Action=Stop  /m);
    expect(sections[2]).toMatch(/^targets\s+1 -> ClusterName: qa-aurora$/m);
    expect(out).not.toMatch(/started execution/);
    expect(await executions()).toEqual(before);
    const states = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: stopEc2 }))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.State!.Name));
    expect(states).toEqual(['running', 'running']);
  });

  it('lists the rule, evaluation time and execution with its status of a bucket remediated after a NON_COMPLIANT result', async () => {
    // Prepare
    await s3.send(new CreateBucketCommand({ Bucket: 'qa-logs' }));
    expect(await opsautoJson<unknown[]>('automations', 'remediations', 'qa-logs')).toEqual([]);
    const res = await fetch(`${stage.cloud.url}/_localcloud/config/compliance`, {
      method: 'POST',
      body: JSON.stringify({ configRuleName: 's3-bucket-versioning-enabled', resourceType: 'AWS::S3::Bucket', resourceId: 'qa-logs', complianceType: 'NON_COMPLIANT' }),
    });
    expect(res.status).toBe(200);
    const [event] = ((await res.json()) as { events: { detail: { newEvaluationResult: { evaluationResultIdentifier: { orderingTimestamp: string } } } }[] }).events;
    await stage.cloud.settle();
    // Act
    const rows = await opsautoJson<{ rule: string; resourceType: string; resourceId: string; evaluatedAt: string; automation: string; executionId: string; status: string }[]>('automations', 'remediations', 'qa-logs');
    const text = await opsauto('automations', 'remediations', 'qa-logs');
    // Assess
    const remediation = (await executions()).find((e) => e.triggeredBy === 'automation:s3-versioning-remediation');
    expect(remediation).toBeDefined();
    expect(rows).toEqual([
      expect.objectContaining({
        rule: 's3-bucket-versioning-enabled',
        resourceType: 'AWS::S3::Bucket',
        resourceId: 'qa-logs',
        evaluatedAt: event.detail.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp,
        automation: 's3-versioning-remediation',
        executionId: remediation!.executionId,
        status: 'Success',
      }),
    ]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^rule\s+resourceType\s+resourceId\s+evaluatedAt\s+automation\s+executionId\s+status\s+recordedAt$/);
    expect(lines[1]).toMatch(
      new RegExp(`^s3-bucket-versioning-enabled\\s+AWS::S3::Bucket\\s+qa-logs\\s+${rows[0].evaluatedAt.replace(/\./g, '\\.')}\\s+s3-versioning-remediation\\s+${remediation!.executionId}\\s+Success\\s+\\S+$`),
    );
    expect(lines).toHaveLength(2);
    expect(await opsautoJson<unknown[]>('automations', 'remediations', 'other-bucket')).toEqual([]);
  });

  it('remediates a stale volume by hand with volumes remediate: deletes it through stale-volume-delete and resolves its OpsItem', async () => {
    // Prepare: an unattached volume the daily scan sees, and 46 days later files.
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 5, VolumeType: 'gp3' }));
    await stage.cloud.advance('1m');
    await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test');
    await stage.cloud.advance('P46D');
    await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test');
    const ssm = new SSMClient(clientConfig(stage.cloud));
    const [item] = (await ssm.send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Title', Values: [VolumeId!], Operator: 'Contains' }] }))).OpsItemSummaries!;
    expect(item.Status).toBe('Open');
    // Act
    const out = await opsauto('volumes', 'remediate', VolumeId!);
    await stage.cloud.advance('10m');
    // Assess
    const id = /^automation stale-volume-delete started execution (\S+);/m.exec(out)?.[1];
    expect(id, out).toBeDefined();
    expect((await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [VolumeId!] }] }))).Volumes).toEqual([]);
    expect((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: [VolumeId!] }] }))).Snapshots).toEqual([]);
    const { OpsItem } = await ssm.send(new GetOpsItemCommand({ OpsItemId: item.OpsItemId }));
    expect(OpsItem?.Status).toBe('Resolved');
    expect(OpsItem?.OperationalData?.['opsauto:remediation']?.Value).toBe(`stale-volume-delete: execution ${id} ended Success`);
    // A volume with no OpsItem is refused, naming what to look at.
    const unknown = await opsautoFails('volumes', 'remediate', 'vol-0123456789abcdef0');
    expect(unknown.stderr).toMatch(/volume vol-0123456789abcdef0 has no OpsItem filed by the stale-volume scan/);
  });
});
