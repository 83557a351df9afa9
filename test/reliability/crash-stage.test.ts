import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AccountClients, AwsClients, staleVolumeAdapters } from '@opsauto/aws';
import { runbookEngineAdapters } from '@opsauto/aws/runbooks';
import { continueExecution, executionIdFor, isTerminal, planStart, runExecution, scanFleet, startExecution, type RunResult, type StaleVolumeDeps } from '@opsauto/core';
import { functionEnvironment, runbookStartPolicy } from '@opsauto/functions';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { describeKills, Killed, Killer, killPlan, engineThrough } from '../helpers/crash.js';
import { recordFigure } from '../helpers/figures.js';
import { clientConfig } from '../helpers/localcloud.js';
import { opsautoItems, reliabilityClients, reliabilityConfig, startReliabilityStage } from '../helpers/reliability.js';

// The crash suite's end-to-end variant (issue 14): the stale-volume scan killed on the local stage, through the
// adapters the scanner's handler builds (EC2 DescribeVolumes, SSM CreateOpsItem / DescribeOpsItems / UpdateOpsItem,
// the DynamoDB volume store and its region lease), each call through the crash suite's kill wrapper
// (test/helpers/crash.ts). It proves the wiring the in-memory suite (crash-scan.test.ts) assumes: localcloud's
// OpsCenter answers a second CreateOpsItem with the same dedup string with OpsItemAlreadyExistsException and the
// existing item's ID, and the DynamoDB lease left by a dead scan blocks the next scan until it runs out.
//
// Each round seeds four new unattached volumes, lets the deployed handler see them (first sighting), moves the clock
// past the threshold, runs a scan that is killed at a seeded call (round 0 is not killed: it measures the calls a
// scan makes), then recovers as deployed: the next scan comes after the dead scan's 16-minute lease ran out, through
// the stage's own stale-volume-scan function. Every stale volume has exactly one OpsItem at the end of every round.
// Seeds 1..4 (fixed: a stage round takes about a second).

const SEEDS = [1, 2, 3, 4];
let stage: Stage;

beforeAll(async () => {
  stage = await startReliabilityStage();
});
afterAll(async () => {
  await stage?.stop();
});

/** The scanner's dependencies as its handler builds them, against the stage's localcloud. */
function scannerDeps(): Omit<StaleVolumeDeps, 'config' | 'clock'> {
  const clients = new AwsClients('us-east-1', clientConfig(stage.cloud));
  const accounts = new AccountClients(clients, { ownAccount: DEFAULT_ACCOUNT, roles: [], settings: clientConfig(stage.cloud), now: () => stage.cloud.clock.nowMs() });
  return staleVolumeAdapters(accounts, clients, stage.tableName, stage.cloud.clock);
}

interface ScanOutcome {
  summary?: { totals: { stale: number; filed: number; alreadyFiled: number; errors: number } };
}

describe('crash on the local stage: the stale-volume scan killed through its real adapters', () => {
  it(`files every stale volume exactly once after a kill at a seeded call (${SEEDS.length} seeds and a round without a kill)`, async () => {
    const { ssm } = reliabilityClients(stage);
    const real = scannerDeps();
    let calls = 0;
    let seeded = 0;
    let cleanRounds = 0;
    const kills: string[] = [];
    for (const [round, seed] of [0, ...SEEDS].entries()) {
      // Prepare: four new volumes, seen once by the deployed scan, stale a day later (thresholdDays 1).
      stage.cloud.seed({ regions: { 'us-east-1': { volumes: [10, 20, 30, 40].map((size) => ({ size, type: 'gp3', tags: { Name: `crash-${round}-${size}` } })) } } });
      seeded += 4;
      await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test');
      await stage.cloud.advance('P2D');
      // Act: a scan through the real adapters, killed at a seeded call (round 0: not killed, counted).
      const killer = new Killer(round === 0 ? new Map() : killPlan(seed, calls));
      const inv = killer.invocation();
      const deps: StaleVolumeDeps = {
        config: reliabilityConfig(),
        clock: stage.cloud.clock,
        inventory: inv.wrap(real.inventory, 'ec2', ['listUnattached']),
        opsCenter: inv.wrap(real.opsCenter, 'ssm'),
        store: inv.wrap(real.store, 'store'),
      };
      const why = `round ${round} seed ${seed}, kills: ${describeKills(killer.kills)}`;
      try {
        await scanFleet(deps, { ownAccount: DEFAULT_ACCOUNT, runId: `crash-${round}`, leaseHolder: `crash-${round}/request` });
      } catch (e) {
        if (!(e instanceof Killed) && !inv.dead) throw e;
      }
      if (round === 0) {
        calls = killer.calls;
        cleanRounds++;
      } else {
        expect(killer.kills, why).toHaveLength(1);
        kills.push(describeKills(killer.kills));
      }
      // Recover: the dead scan's lease runs out; the next scan is the deployed function's.
      await stage.cloud.advance('17m');
      const next = (await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test')) as ScanOutcome;
      // Assess: every stale volume filed, each exactly once, and the next scan found nothing left to do twice.
      const items = await opsautoItems(ssm);
      const volumes = items.map((i) => /vol-[0-9a-f]+/.exec(i.Title ?? '')?.[0]);
      expect(items.filter((i) => i.Status === 'Open'), why).toHaveLength(seeded);
      expect(new Set(volumes).size, `${why}: a volume filed twice`).toBe(items.length);
      expect(next.summary?.totals, why).toMatchObject({ stale: seeded, errors: 0 });
      expect(next.summary!.totals.filed + next.summary!.totals.alreadyFiled, why).toBe(seeded);
    }
    expect(calls).toBeGreaterThan(5);
    console.info(`crash-stage: ${SEEDS.length} seeds killed on the local stage over ${calls} calls a scan (${kills.join(', ')}), ${seeded} volumes filed once each`);
    recordFigure(import.meta.url, 'seeds', SEEDS.length);
    recordFigure(import.meta.url, 'round without a kill', cleanRounds);
    recordFigure(import.meta.url, 'calls a scan', calls);
    recordFigure(import.meta.url, 'volumes, each filed once', seeded);
  });
});

// The runbook worker killed the same way (issue 14). Each round seeds three running instances and starts
// AWS-StopEC2Instance over them as the worker does for a `Runbook Execution Requested` event (planStart,
// startExecution, runExecution), through the adapters the worker's handler builds (runbookEngineAdapters: the DynamoDB
// execution store, the AWS action runner acting as the execution's role, EventBridge dispatch and status events,
// Scheduler wake-ups, the shipped and account runbooks), every call through the kill wrapper. On the stage the worker
// never waits inline (RUNBOOK_INLINE_WAIT_MS=0): the killed invocation is the execution's first turn (create, claim,
// the first step's DescribeInstances and StopInstances, its wake-up, the save and the status events). Recovery is the
// stage's own runbook-worker function as deployed: Lambda's two retries of the failed event (after 1 and 2 minutes,
// the same event and so the same idempotency key), the wake-ups that landed, and the 5-minute tick (invoked by hand
// every 5 virtual minutes: the suite's config ticks daily) once the dead worker's lease ran out. Asserted for every
// round: the execution ends Success, one execution per request; each instance stopped; each step ran once (attempt
// 1, so any repeat of its StopInstances carried the attempt's idempotency token); StopInstances calls at most the
// round without a kill's plus the kills (changeInstanceState stops only instances still running, so a re-run after
// a kill that landed after StopInstances finds them stopping and calls nothing).

const RUNBOOK_SEEDS = [1, 2, 3, 4, 5];
const WORKER = 'runbook-worker';
/** The stage's wake-up role (packages/cli/src/stage.ts). */
const WAKE_UP_ROLE = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/opsauto-local-wake-up`;
/** The worker's Lambda timeout less its margin (runbook-worker.ts): the deadline of a turn. */
const TURN_MS = 900_000 - 30_000;

/** The worker's engine dependencies as its handler builds them, against the stage's localcloud. */
function workerAdapters() {
  const config = reliabilityConfig();
  const env = functionEnvironment(config, stage.tableName, WAKE_UP_ROLE);
  const clients = new AwsClients('us-east-1', clientConfig(stage.cloud));
  const adapters = runbookEngineAdapters(clients, {
    tableName: stage.tableName,
    clock: stage.cloud.clock,
    settings: clientConfig(stage.cloud),
    wakeUp: { functionArn: `arn:aws:lambda:us-east-1:${DEFAULT_ACCOUNT}:function:${WORKER}`, roleArn: WAKE_UP_ROLE, namePrefix: env.WAKE_UP_PREFIX },
    eventBusName: env.EVENT_BUS_NAME,
    onPublishError: () => {},
    runbooks: { shippedDirectory: resolve('runbooks') },
    sleep: () => Promise.reject(new Error('the worker on the stage never sleeps inline')),
  });
  return { adapters, policy: runbookStartPolicy(config, DEFAULT_ACCOUNT, stage.tableName) };
}


/** A `Runbook Execution Requested` event as EventBridge delivers it to the worker. */
function requested(id: string, instanceIds: string[]) {
  return {
    version: '0',
    id,
    'detail-type': 'Runbook Execution Requested' as const,
    source: 'opsauto.runbooks' as const,
    account: DEFAULT_ACCOUNT,
    time: stage.cloud.clock.now().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: instanceIds }, idempotencyKey: `crash-stage-runbook/${id}` },
  };
}

/** The worker's 5-minute tick as EventBridge Scheduler sends it. */
const tickEvent = () => ({
  version: '0',
  id: `tick-${stage.cloud.clock.nowMs()}`,
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: DEFAULT_ACCOUNT,
  time: stage.cloud.clock.now().toISOString(),
  region: 'us-east-1',
  resources: [],
  detail: {},
});

const stopCalls = () => stage.cloud.calls.snapshot().ec2?.StopInstances ?? 0;

describe('crash on the local stage: the runbook worker killed through its real adapters', () => {
  it(`ends every execution Success and stops each instance after a kill at a seeded call (${RUNBOOK_SEEDS.length} seeds and a round without a kill)`, async () => {
    const { executions } = reliabilityClients(stage);
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    const { adapters, policy } = workerAdapters();
    let calls = 0;
    let cleanStops = 0;
    let instances = 0;
    let cleanRounds = 0;
    let requests = 0;
    const kills: string[] = [];
    for (const [round, seed] of [0, ...RUNBOOK_SEEDS].entries()) {
      // Prepare: three running instances of this round.
      const tag = `crash-runbook-${round}`;
      stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: `${tag}-base` }], instances: [1, 2, 3].map((n) => ({ image: `${tag}-base`, type: 't3.micro', tags: { Name: `${tag}-${n}`, round: tag } })) } } });
      const described = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:round', Values: [tag] }] }));
      const ids = described.Reservations!.flatMap((r) => r.Instances!).map((i) => i.InstanceId!).sort();
      expect(ids).toHaveLength(3);
      instances += ids.length;
      const event = requested(`${tag}-event`, ids);
      const stopsBefore = stopCalls();

      // Act: the worker's invocation for the event, killed at a seeded call (round 0: not killed, counted).
      const killer = new Killer(round === 0 ? new Map() : killPlan(seed, calls));
      const inv = killer.invocation();
      const deps = engineThrough(adapters, inv);
      const run = () => ({ deadline: new Date(stage.cloud.clock.nowMs() + TURN_MS), options: { inlineWaitLimitMs: 0 } });
      let executionId: string | undefined;
      try {
        const { request } = await planStart(
          { ...event.detail, triggeredBy: `event:${event.source}` },
          { accountId: DEFAULT_ACCOUNT, region: 'us-east-1', policy, loadRunbook: (name, version) => deps.loadRunbook(name, version), findInstances: () => Promise.reject(new Error('no targets here')) },
        );
        const { execution } = await startExecution(request, deps);
        executionId = execution.executionId;
        let result: RunResult = await runExecution(execution.executionId, deps, run());
        while (result.next) result = await continueExecution(result.next, deps, run());
      } catch (e) {
        if (!(e instanceof Killed) && !inv.dead) throw e;
      }
      const why = () => `round ${round} seed ${seed}, kills: ${describeKills(killer.kills)}`;
      if (round === 0) {
        calls = killer.calls;
        cleanRounds++;
      } else {
        expect(killer.kills, why()).toHaveLength(1);
        kills.push(describeKills(killer.kills));
        // Recover as deployed: Lambda retries the failed event twice (after 1 and 2 minutes) on the stage's worker.
        for (const delay of ['1m', '2m']) {
          await stage.cloud.advance(delay);
          await stage.cloud.lambda.invoke(WORKER, event, 'test');
        }
      }
      // Then the wake-ups and the tick, every 5 minutes, until the execution ended (at most 2 virtual hours).
      const id = executionIdFor(event.detail.idempotencyKey);
      const load = async () => (await executions.get(id))?.execution;
      let mine = await load();
      for (let minutes = 0; minutes < 120 && !(mine && isTerminal(mine.status)); minutes += 5) {
        await stage.cloud.advance('5m');
        await stage.cloud.lambda.invoke(WORKER, tickEvent(), 'test');
        mine = await load();
      }
      const { executions: all } = await executions.list({ limit: 1000 });
      requests++;
      // Assess: one execution for the request, Success, every step once; each instance stopped.
      const detail = () => `${why()}\n${mine ? `${mine.executionId} ${mine.status} ${mine.failureMessage ?? ''}: ${mine.steps.map((s) => `${s.name} ${s.status} attempt ${s.attempt}`).join(', ')}` : 'no execution'}`;
      expect(all.filter((e) => e.documentName === 'AWS-StopEC2Instance'), `${detail()}\none execution per request`).toHaveLength(requests);
      if (executionId !== undefined) expect(executionId, detail()).toBe(id);
      expect(mine?.status, detail()).toBe('Success');
      expect(mine!.steps.map((s) => [s.name, s.status, s.attempt]), detail()).toEqual([
        ['stopInstances', 'Success', 1],
        ['forceStopInstances', 'Success', 1],
      ]);
      const after = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      expect(after.Reservations!.flatMap((r) => r.Instances!).map((i) => i.State!.Name), detail()).toEqual(['stopped', 'stopped', 'stopped']);
      const stops = stopCalls() - stopsBefore;
      if (round === 0) cleanStops = stops;
      expect(stops, `${detail()}\nStopInstances calls`).toBeLessThanOrEqual(cleanStops + killer.kills.length);
    }
    expect(calls).toBeGreaterThan(5);
    expect(cleanStops).toBeGreaterThanOrEqual(1);
    console.info(`crash-stage runbook worker: ${RUNBOOK_SEEDS.length} seeds killed on the local stage over ${calls} calls a first turn (${kills.join(', ')}), ${instances} instances stopped, every execution Success`);
    recordFigure(import.meta.url, 'runbook-worker seeds', RUNBOOK_SEEDS.length);
    recordFigure(import.meta.url, 'runbook round without a kill', cleanRounds);
    recordFigure(import.meta.url, 'calls a first runbook turn', calls);
    recordFigure(import.meta.url, 'instances stopped, each execution Success', instances);
  });
});
