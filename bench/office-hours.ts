/**
 * Office hours at fleet size: the 17:00 check of an office-hours automation over 2,000 tagged EC2 instances and 200
 * tagged RDS instances in 2 regions (1,000 + 100 each), on the local stage with 20 ms of latency injected into every
 * AWS call, run until every stop it started has ended.
 *
 * Calls against the lower bound: the reads the check cannot avoid (DescribeInstances pages of 1,000,
 * DescribeDBInstances pages of 100, DescribeDBClusters pages) plus one StopInstances per batch of 100 instances (the
 * most DescribeInstanceStatus takes, which the stop waits on) and one StopDBInstance per DB instance (RDS stops one at
 * a time). Also: the engine's waiting reads, wall time against a baseline of one instance and one DB instance per
 * region in the same process, and that nothing was started and nothing stopped twice.
 */
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, type Execution, type ExecutionSummary } from '@opsauto/core';
import { startStage, type Stage } from '../packages/cli/src/stage.js';
import { writeResult } from './report.js';

const REGIONS = ['us-east-1', 'eu-west-1'];
const EC2_PER_REGION = 1000;
const RDS_PER_REGION = 100;
const LATENCY_MS = 20;
/** Monday 2027-01-04 17:00 in Seoul: the check that stops the fleet. */
const CHECK_TIME = '2027-01-04T08:00:00.000Z';

/** One automation per fleet (the baseline's and the big one), each over the resources tagged with its name. */
const automation = (name: string) => ({
  name,
  // Fired by hand below with a fixed schedule time, so that the clock's own date does not matter.
  enabled: false,
  officeHours: { period: { days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' } },
  maxConcurrency: '100%',
  trigger: { schedule: 'cron(0/5 * * * ? *)', timezone: 'Asia/Seoul' },
});
const config = defineConfig({ regions: REGIONS, runbooks: { tickSchedule: 'rate(1 day)' }, automations: [automation('bench-base'), automation('bench-fleet')] });

type Calls = Record<string, Record<string, number>>;

async function check(stage: Stage, ec2PerRegion: number, rdsPerRegion: number, name: string) {
  const tag = { 'opsauto:schedule': name };
  stage.cloud.seed({
    regions: Object.fromEntries(
      REGIONS.map((region) => [
        region,
        {
          instances: Array.from({ length: ec2PerRegion }, (_, i) => ({ tags: { Name: `${name}-${region}-${i}`, ...tag } })),
          dbInstances: Array.from({ length: rdsPerRegion }, (_, i) => ({ identifier: `${name}-${region}-db-${i}`, tags: tag })),
        },
      ]),
    ),
  });
  const settings = { endpoint: stage.cloud.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const store = new DynamoExecutionStore(new AwsClients(REGIONS[0], settings), stage.tableName, { clock: stage.cloud.clock });
  stage.cloud.faults.set([{ latencyMs: LATENCY_MS }]);
  // The check's own reads, alone: a dry run reads what the firing reads and starts nothing (the real firing's
  // executions start working while it is still starting the others, so its calls cannot be told apart).
  stage.cloud.calls.reset();
  const dry = await fetch(`${stage.cloud.url}/_localcloud/invoke/automation-trigger`, { method: 'POST', body: JSON.stringify({ automation: name, requestId: `dry-${name}`, dryRun: true }) });
  if (!dry.ok) throw new Error(`automation-trigger dry run failed: ${await dry.text()}`);
  const checkCalls: Calls = stage.cloud.calls.snapshot();
  stage.cloud.calls.reset();
  const t0 = performance.now();
  const event = { version: '0', id: `bench-${name}`, 'detail-type': 'Scheduled Event', source: 'aws.scheduler', account: '000000000000', time: CHECK_TIME, region: REGIONS[0], resources: [], detail: { trigger: name } };
  const response = await fetch(`${stage.cloud.url}/_localcloud/invoke/automation-trigger`, { method: 'POST', body: JSON.stringify(event) });
  if (!response.ok) throw new Error(`automation-trigger failed: ${await response.text()}`);
  const triggerMs = performance.now() - t0;
  // Run the stops to their end on the virtual clock.
  let runs: ExecutionSummary[] = [];
  for (let minute = 0; minute < 120; minute++) {
    runs = [];
    let nextToken: string | undefined;
    do {
      const page = await store.list({ limit: 100, nextToken });
      runs.push(...page.executions.filter((e) => e.triggeredBy === `automation:${name}`));
      nextToken = page.nextToken;
    } while (nextToken);
    if (runs.length > 0 && runs.every((r) => r.endedAt)) break;
    await stage.cloud.advance('1m');
  }
  const wallMs = performance.now() - t0;
  stage.cloud.faults.set([]);
  const calls: Calls = stage.cloud.calls.snapshot();
  const executions: Execution[] = await Promise.all(runs.map(async (r) => (await store.get(r.executionId))!.execution));
  const rdsTargets = executions.filter((e) => e.rateControl).flatMap((e) => e.rateControl!.targets);
  const ec2Stopped = executions.filter((e) => e.documentName === 'AWS-StopEC2Instance').flatMap((e) => e.parameters.InstanceId as string[]);
  return { calls, checkCalls, triggerMs, wallMs, executions, ec2Stopped, rdsTargets };
}

const count = (calls: Calls, service: string, operation: string) => calls[service]?.[operation] ?? 0;

export async function run(): Promise<boolean> {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  process.env.RUNBOOK_POLL_MS = '15000';
  // One stage for both: the functions keep their SDK clients for the process's life, pointed at the first stage.
  const stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  let baseline, fleet;
  try {
    baseline = await check(stage, 1, 1, 'bench-base');
    fleet = await check(stage, EC2_PER_REGION, RDS_PER_REGION, 'bench-fleet');
  } finally {
    await stage.stop();
  }

  const ec2Total = EC2_PER_REGION * REGIONS.length;
  const rdsTotal = RDS_PER_REGION * REGIONS.length;
  const lowerBound = {
    DescribeInstances: REGIONS.length * Math.ceil(EC2_PER_REGION / 1000),
    // RDS filters take no tags: every DB instance of the region is read (the baseline's one too), 100 a page.
    DescribeDBInstances: REGIONS.length * Math.ceil((RDS_PER_REGION + 1) / 100),
    DescribeDBClusters: REGIONS.length,
    StopInstances: REGIONS.length * Math.ceil(EC2_PER_REGION / 100),
    StopDBInstance: rdsTotal,
  };
  const made = {
    DescribeInstances: count(fleet.checkCalls, 'ec2', 'DescribeInstances'),
    DescribeDBInstances: count(fleet.checkCalls, 'rds', 'DescribeDBInstances'),
    DescribeDBClusters: count(fleet.checkCalls, 'rds', 'DescribeDBClusters'),
    StopInstances: count(fleet.calls, 'ec2', 'StopInstances'),
    StopDBInstance: count(fleet.calls, 'rds', 'StopDBInstance'),
  };
  const boundTotal = Object.values(lowerBound).reduce((a, b) => a + b, 0);
  const madeTotal = Object.values(made).reduce((a, b) => a + b, 0);
  const started = count(fleet.calls, 'ec2', 'StartInstances') + count(fleet.calls, 'rds', 'StartDBInstance');
  const stoppedOnce = new Set(fleet.ec2Stopped).size === fleet.ec2Stopped.length && fleet.ec2Stopped.length === ec2Total && new Set(fleet.rdsTargets).size === rdsTotal && fleet.rdsTargets.length === rdsTotal;
  const allSucceeded = fleet.executions.every((e) => e.status === 'Success');
  const result = {
    regions: REGIONS,
    ec2: ec2Total,
    rds: rdsTotal,
    latencyMs: LATENCY_MS,
    executions: fleet.executions.length,
    allSucceeded,
    lowerBound,
    made,
    callsOverLowerBound: Number((madeTotal / boundTotal).toFixed(3)),
    // The firing's reads beyond the check's: the stop runbooks' own (reading state, waiting for stopped).
    runbookReads: {
      DescribeInstanceStatus: count(fleet.calls, 'ec2', 'DescribeInstanceStatus'),
      DescribeInstances: count(fleet.calls, 'ec2', 'DescribeInstances') - made.DescribeInstances,
      DescribeDBInstances: count(fleet.calls, 'rds', 'DescribeDBInstances') - made.DescribeDBInstances,
    },
    checkCalls: fleet.checkCalls,
    startedAny: started > 0,
    stoppedEachOnce: stoppedOnce,
    triggerWallMs: Math.round(fleet.triggerMs),
    wallMs: Math.round(fleet.wallMs),
    baselineWallMs: Math.round(baseline.wallMs),
    wallOverBaseline: Number((fleet.wallMs / baseline.wallMs).toFixed(2)),
  };
  console.table([{ ...lowerBound, what: 'lower bound' }, { ...made, what: 'made' }]);
  console.log(JSON.stringify({ ...result, lowerBound: undefined, made: undefined }, null, 2));
  // Targets: calls within 1.1x the lower bound, nothing started, each resource stopped once, every stop Success.
  const met = { calls: result.callsOverLowerBound <= 1.1, nothingStarted: !result.startedAny, stoppedEachOnce: stoppedOnce, allSucceeded };
  writeResult('office-hours', { ...result, met });
  const allMet = Object.values(met).every(Boolean);
  console.log(allMet ? 'targets met' : 'TARGETS MISSED');
  return allMet;
}
