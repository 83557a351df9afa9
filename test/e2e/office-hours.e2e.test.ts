import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { DescribeOpsItemsCommand, GetOpsItemCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, parseScheduleExpression, type ExecutionSummary } from '@opsauto/core';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { shippedConfig } from '../helpers/automations.js';
import { clientConfig, nextMondayUtc } from '../helpers/localcloud.js';

// The shipped qa-office-hours automation on the local stage, on the virtual clock: EC2 instances, RDS instances and an
// Aurora cluster tagged opsauto:schedule=qa-office-hours stop at 17:00 Seoul time and start at 09:00 on weekdays,
// checked every 5 minutes; an instance started by hand outside hours is stopped at the next check; an RDS instance
// that AWS starts after 7 days stopped is stopped again; members of Auto Scaling groups are left alone. And the
// shipped nightly-resize: instances tagged opsauto:night-type take that type 22:00-07:00 Seoul time.

process.env.RUNBOOK_INLINE_WAIT_MS = '0';
process.env.RUNBOOK_POLL_MS = '60000';

const SEOUL = 'Asia/Seoul';
const config = shippedConfig((a) => a.name === 'qa-office-hours' || a.name === 'nightly-resize');
// Beside the shipped ones: the same hours for instances tagged opsauto:schedule=qa-hibernate, hibernated where they can be.
const hibernating = defineConfig({
  automations: [
    {
      name: 'qa-hibernate',
      officeHours: { period: { days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: SEOUL }, hibernate: true, resources: ['ec2'] },
      trigger: { schedule: 'cron(0/5 * * * ? *)', timezone: SEOUL },
    },
  ],
}).automations[0];
config.automations.push(hibernating);

const TAG = { 'opsauto:schedule': 'qa-office-hours' };

let stage: Stage;
let store: DynamoExecutionStore;
let ec2: EC2Client;
let rds: RDSClient;

beforeAll(async () => {
  // Monday 09:00 in Seoul: each test moves to an hour of a weekday, and the checks on the way are the same every run.
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT', startAt: nextMondayUtc() });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName, { clock: stage.cloud.clock });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  rds = new RDSClient(clientConfig(stage.cloud));
});
afterAll(async () => {
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
  delete process.env.RUNBOOK_POLL_MS;
});

/** Moves the clock to the next `cron` time (in Seoul) plus `afterMs`, running every check on the way. */
async function advanceTo(cron: string, afterMs: number): Promise<Date> {
  const at = parseScheduleExpression(cron, SEOUL).nextAfter(stage.cloud.clock.now())!;
  await stage.cloud.advance(at.getTime() - stage.cloud.clock.nowMs() + afterMs);
  return at;
}

async function ec2State(name: string): Promise<string> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  return out.Reservations![0].Instances![0].State!.Name!;
}
async function ec2Id(name: string): Promise<string> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  return out.Reservations![0].Instances![0].InstanceId!;
}
const dbStatus = async (id: string) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0].DBInstanceStatus;
const clusterStatus = async (id: string) => (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0].Status;

async function runs(): Promise<ExecutionSummary[]> {
  const out: ExecutionSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.list({ limit: 100, nextToken });
    out.push(...page.executions.filter((e) => e.triggeredBy === 'automation:qa-office-hours'));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

describe('qa-office-hours: 09:00-17:00 Monday to Friday, Asia/Seoul', () => {
  it('stops the tagged fleet at 17:00 Seoul time and starts it at 09:00, leaving untagged and Auto Scaling instances alone', async () => {
    // Prepare: move to 16:00 on a weekday, then seed (running, as in office hours).
    await advanceTo('cron(0 16 ? * MON-FRI *)', 0);
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          instances: [
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
    // Act: 17:00 comes (and 10 minutes pass).
    const stopAt = await advanceTo('cron(0 17 ? * MON-FRI *)', 10 * 60_000);
    // Assess
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: SEOUL, hour: '2-digit', minute: '2-digit' }).format(stopAt)).toBe('17:00');
    expect([await ec2State('qa-web'), await ec2State('qa-batch'), await ec2State('qa-asg'), await ec2State('prod-web')]).toEqual(['stopped', 'stopped', 'running', 'running']);
    expect(await dbStatus('qa-db')).toBe('stopped');
    expect(await clusterStatus('qa-aurora')).toBe('stopped');
    const atStop = await runs();
    expect(atStop.map((r) => r.documentName).sort()).toEqual(['AWS-StartStopAuroraCluster', 'AWS-StopEC2Instance', 'AWS-StopRdsInstance']);
    expect(atStop.every((r) => r.status === 'Success')).toBe(true);
    // Each stop started within the 17:00 check.
    for (const r of atStop) expect(Date.parse(r.createdAt) - stopAt.getTime()).toBeLessThan(60_000);

    // Act: the next weekday's 09:00.
    const startAt = await advanceTo('cron(0 9 ? * MON-FRI *)', 15 * 60_000);
    // Assess
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: SEOUL, hour: '2-digit', minute: '2-digit', weekday: 'short' }).format(startAt)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
    expect([await ec2State('qa-web'), await ec2State('qa-batch')]).toEqual(['running', 'running']);
    expect(await dbStatus('qa-db')).toBe('available');
    expect(await clusterStatus('qa-aurora')).toBe('available');
    // Checks in between (every 5 minutes, all night and any weekend) changed nothing: one stop and one start of each.
    const all = await runs();
    expect(all.map((r) => r.documentName).sort()).toEqual(['AWS-StartEC2Instance', 'AWS-StartRdsInstance', 'AWS-StartStopAuroraCluster', 'AWS-StartStopAuroraCluster', 'AWS-StopEC2Instance', 'AWS-StopRdsInstance']);
  });

  it('hibernates, at 17:00, an instance configured for hibernation when the automation says so, and keeps one running while its opsauto:keep-running tag names today', async () => {
    // Prepare: 16:00 on a weekday.
    const at = await advanceTo('cron(0 16 ? * MON-FRI *)', 0);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: SEOUL, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          instances: [
            { hibernation: true, tags: { Name: 'qa-sleepy', 'opsauto:schedule': 'qa-hibernate' } },
            { tags: { Name: 'qa-plain-stop', 'opsauto:schedule': 'qa-hibernate' } },
            // A demo day: kept running today only (the date in Seoul).
            { tags: { Name: 'qa-demo-day', ...TAG, 'opsauto:keep-running': today } },
          ],
        },
      },
    });
    // Act
    await advanceTo('cron(0 17 ? * MON-FRI *)', 10 * 60_000);
    // Assess
    const reason = async (name: string) => (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }))).Reservations![0].Instances![0].StateReason?.Code;
    expect([await ec2State('qa-sleepy'), await reason('qa-sleepy')]).toEqual(['stopped', 'Client.UserInitiatedHibernate']);
    expect([await ec2State('qa-plain-stop'), await reason('qa-plain-stop')]).toEqual(['stopped', 'Client.UserInitiatedShutdown']);
    expect(await ec2State('qa-demo-day')).toBe('running');
    // Act: midnight in Seoul passes, and the override with it.
    await advanceTo('cron(0 0 * * ? *)', 10 * 60_000);
    // Assess: stopped at the first check of the next day (outside hours, drift enforced).
    expect(await ec2State('qa-demo-day')).toBe('stopped');
  });

  it('stops an instance started by hand outside hours at the next check', async () => {
    // Prepare: 02:00, after hours whatever the day.
    await advanceTo('cron(0 2 * * ? *)', 0);
    expect(await ec2State('qa-web')).toBe('stopped');
    // Act: someone starts it by hand; 5 minutes pass.
    await ec2.send(new StartInstancesCommand({ InstanceIds: [await ec2Id('qa-web')] }));
    await stage.cloud.advance('2m');
    expect(await ec2State('qa-web')).toBe('running');
    await stage.cloud.advance('6m');
    // Assess
    expect(await ec2State('qa-web')).toBe('stopped');
  });

  it('stops again at once an RDS instance that AWS starts after 7 days stopped (RDS-EVENT-0154)', async () => {
    // Prepare: 04:00 (after hours whatever the day), an instance stopped 7 days ago less 30 minutes: RDS starts it in
    // 30 minutes.
    await advanceTo('cron(0 4 * * ? *)', 0);
    const stoppedAt = new Date(stage.cloud.clock.nowMs() - 7 * 86_400_000 + 30 * 60_000).toISOString();
    stage.cloud.seed({ regions: { 'us-east-1': { dbInstances: [{ identifier: 'qa-reports', tags: TAG, status: 'stopped', stoppedAt }] } } });
    const before = (await runs()).length;
    // Act: 30 minutes, then RDS's start and the time the instance takes to come up, and one check.
    await stage.cloud.advance('31m');
    expect(await dbStatus('qa-reports')).not.toBe('stopped');
    await stage.cloud.advance('20m');
    // Assess: stopped again by qa-office-hours.
    expect(await dbStatus('qa-reports')).toBe('stopped');
    const after = await runs();
    const stops = after.slice(0, after.length - before).filter((r) => r.documentName === 'AWS-StopRdsInstance');
    expect(stops).toHaveLength(1);
  });
  it('reports on an OpsItem, once, an instance that cannot start (a missing KMS key, no capacity), and does not retry it at every check; one bad instance does not keep its batch down', async () => {
    // Prepare: 08:00 on a weekday; three stopped instances: one whose volume's KMS key is gone (EC2 accepts the start,
    // then stops it again), one EC2 has no capacity for (StartInstances fails, for every instance it names), one fine.
    await advanceTo('cron(0 8 ? * MON-FRI *)', 0);
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          instances: [
            { state: 'stopped', tags: { Name: 'qa-kms', ...TAG }, startError: { code: 'Client.InvalidKMSKey.InvalidState', message: 'The KMS key provided is in an incorrect state' } },
            { state: 'stopped', tags: { Name: 'qa-capacity', ...TAG }, startError: { api: 'InsufficientInstanceCapacity' } },
            { state: 'stopped', tags: { Name: 'qa-fine', ...TAG } },
          ],
        },
      },
    });
    const [kms, capacity] = [await ec2Id('qa-kms'), await ec2Id('qa-capacity')];
    // Act: 09:00 comes, and an hour of checks every 5 minutes.
    await advanceTo('cron(0 9 ? * MON-FRI *)', 3_600_000);
    // Assess: the good one runs although its first batch failed (it went again on its own); the others are stopped.
    expect([await ec2State('qa-fine'), await ec2State('qa-kms'), await ec2State('qa-capacity')]).toEqual(['running', 'stopped', 'stopped']);
    // Each bad one was tried twice: in the 09:00 batch and then alone; not at every check since.
    const starts = (await runs()).filter((r) => r.documentName === 'AWS-StartEC2Instance');
    const tries = async (id: string) => {
      let n = 0;
      for (const r of starts) if (((await store.get(r.executionId))!.execution.parameters.InstanceId as string[]).includes(id)) n++;
      return n;
    };
    expect([await tries(kms), await tries(capacity)]).toEqual([2, 2]);
    // One OpsItem each, naming the instance and why.
    const ssm = new SSMClient(clientConfig(stage.cloud));
    const { OpsItemSummaries = [] } = await ssm.send(
      new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'OperationalData', Values: [JSON.stringify({ key: 'automation', value: 'qa-office-hours' })], Operator: 'Equal' }] }),
    );
    const items = await Promise.all(OpsItemSummaries.map(async (s) => (await ssm.send(new GetOpsItemCommand({ OpsItemId: s.OpsItemId }))).OpsItem!));
    expect(items.map((i) => i.Title).sort()).toEqual([`qa-office-hours: ${capacity} could not be started`, `qa-office-hours: ${kms} could not be started`].sort());
    const byId = (id: string) => items.find((i) => i.Title!.includes(id))!;
    expect(byId(kms).Description).toContain('Client.InvalidKMSKey.InvalidState');
    expect(byId(capacity).Description).toMatch(/InsufficientInstanceCapacity|capacity/);
    expect(JSON.parse(byId(kms).OperationalData!['/aws/resources'].Value!)).toEqual([{ arn: `arn:aws:ec2:us-east-1:${DEFAULT_ACCOUNT}:instance/${kms}` }]);
    expect(byId(kms)).toMatchObject({ Source: 'opsauto', Status: 'Open', Category: 'Availability', Severity: '2' });
  });
});

describe('nightly-resize: opsauto:night-type=<type> from 22:00 to 07:00, Asia/Seoul', () => {
  async function instance(name: string): Promise<Instance> {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
    return out.Reservations![0].Instances![0];
  }
  const tag = (i: Instance, key: string) => i.Tags?.find((t) => t.Key === key)?.Value;

  it('gives tagged instances their night type at 22:00 and their day type back at 07:00, leaving a stopped one stopped', async () => {
    // Prepare: 21:00 Seoul time.
    await advanceTo('cron(0 21 * * ? *)', 0);
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          instances: [
            { type: 'm5.large', tags: { Name: 'qa-app', 'opsauto:night-type': 't3.micro' } },
            { type: 'm5.xlarge', state: 'stopped', tags: { Name: 'qa-idle', 'opsauto:night-type': 't3.small' } },
            { type: 'm5.large', tags: { Name: 'qa-plain' } },
          ],
        },
      },
    });
    // Act: 22:00 comes.
    await advanceTo('cron(0 22 * * ? *)', 20 * 60_000);
    // Assess
    const app = await instance('qa-app');
    const idle = await instance('qa-idle');
    expect([app.InstanceType, app.State?.Name, tag(app, 'opsauto:day-type')]).toEqual(['t3.micro', 'running', 'm5.large']);
    expect([idle.InstanceType, idle.State?.Name, tag(idle, 'opsauto:day-type')]).toEqual(['t3.small', 'stopped', 'm5.xlarge']);
    expect((await instance('qa-plain')).InstanceType).toBe('m5.large');

    // Act: 07:00 comes.
    await advanceTo('cron(0 7 * * ? *)', 20 * 60_000);
    // Assess
    const morning = await instance('qa-app');
    expect([morning.InstanceType, morning.State?.Name]).toEqual(['m5.large', 'running']);
    expect([(await instance('qa-idle')).InstanceType, (await instance('qa-idle')).State?.Name]).toEqual(['m5.xlarge', 'stopped']);
  });
});
