/**
 * The runbook engine at fleet size: AWS-StopEC2Instance over 1,000 instances found by tag, MaxConcurrency 50, on the
 * local stage (the runbook-worker function on localcloud) with 20 ms of latency injected into every AWS call. The
 * clock runs in real time; instances take 1 s to stop (localcloud's 30 s scaled down) and actions look every 250 ms.
 *
 * Baseline, in the same process: the same runbook on one target alone. Its child's duration is the per-target
 * critical path; the ideal makespan is ceil(targets / concurrency) × that path.
 * Reports makespan / ideal (target ≤ 1.25), DynamoDB writes per step transition (target ≤ 3; a step's start and its
 * end are two transitions) and the worker's Lambda invocations.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { continueExecution, defineConfig, executionIdFor, InMemoryExecutionStore, runExecution, startExecution, validateRunbook, type EngineDeps, type Execution } from '@opsauto/core';
import { instanceTimings } from '@opsauto/localcloud';
import { eventBusName } from '@opsauto/functions';
import { startStage } from '../packages/cli/src/stage.js';
import { writeResult } from './report.js';

const TARGETS = 1000;
const CONCURRENCY = 50;
const LATENCY_MS = 20;
const STOP_SCALE = 1 / 30; // 30 s -> 1 s
const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

type Calls = Record<string, Record<string, number>>;

export async function run(): Promise<boolean> {
  process.env.RUNBOOK_POLL_MS = '250';
  instanceTimings.scale = STOP_SCALE;
  const stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 20, functionLogLevel: 'SILENT' });
  try {
    const settings = { endpoint: stage.cloud.url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          images: [{ name: 'base' }],
          instances: [
            ...Array.from({ length: TARGETS }, (_, i) => ({ image: 'base', type: 't3.micro', tags: { Name: `fleet-${i}`, fleet: 'office' } })),
            { image: 'base', type: 't3.micro', tags: { Name: 'baseline', fleet: 'baseline' } },
          ],
        },
      },
    });
    const store = new DynamoExecutionStore(new AwsClients('us-east-1', settings), stage.tableName);
    const events = new EventBridgeClient(settings);
    const execute = async (key: string, fleet: string) => {
      stage.cloud.calls.reset();
      const invocationsBefore = stage.cloud.lambda.invocations.filter((i) => i.function === 'runbook-worker').length;
      const t0 = performance.now();
      await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'opsauto.runbooks',
              DetailType: 'Runbook Execution Requested',
              Detail: JSON.stringify({ documentName: 'AWS-StopEC2Instance', targetParameterName: 'InstanceId', targets: [{ Key: 'tag:fleet', Values: [fleet] }], maxConcurrency: String(CONCURRENCY), maxErrors: '0', idempotencyKey: key }),
              // The worker takes requests from opsauto's bus only.
              EventBusName: eventBusName(stage.tableName),
            },
          ],
        }),
      );
      const id = executionIdFor(key);
      let parent: Execution | undefined;
      for (;;) {
        parent = (await store.get(id))?.execution;
        if (parent?.endedAt) break;
        if (performance.now() - t0 > 600_000) throw new Error(`execution ${id} did not end in 10 minutes: ${JSON.stringify(parent?.counters)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const wallMs = performance.now() - t0;
      const calls: Calls = stage.cloud.calls.snapshot();
      const children: Execution[] = [];
      let nextToken: string | undefined;
      do {
        const page = await store.list({ parentExecutionId: id, limit: 1000, nextToken });
        // Listings hold summaries; the step counts below need each child whole (read after the calls were counted).
        children.push(...(await Promise.all(page.executions.map(async (c) => (await store.get(c.executionId))?.execution ?? Promise.reject(new Error(`child ${c.executionId} vanished`))))));
        nextToken = page.nextToken;
      } while (nextToken);
      const invocations = stage.cloud.lambda.invocations.filter((i) => i.function === 'runbook-worker').length - invocationsBefore;
      return { parent, children, wallMs, calls, invocations };
    };

    stage.cloud.faults.set([{ latencyMs: LATENCY_MS }]);
    const baseline = await execute('bench-baseline', 'baseline');
    const fleet = await execute('bench-fleet', 'office');
    stage.cloud.faults.set([]);

    const childMs = (c: Execution) => Date.parse(c.endedAt!) - Date.parse(c.createdAt);
    const pathMs = childMs(baseline.children[0]);
    const rounds = Math.ceil(TARGETS / CONCURRENCY);
    const idealMs = rounds * pathMs;
    const makespanMs = Date.parse(fleet.parent.endedAt!) - Date.parse(fleet.parent.createdAt);
    // Where a loaded child's time goes: before its first step, each step, and after its last.
    const mean = (values: number[]) => Math.round(values.reduce((n, v) => n + v, 0) / Math.max(1, values.length));
    const breakdown = (cs: Execution[]) => ({
      beforeFirstStepMs: mean(cs.map((c) => Date.parse(c.steps[0]?.startedAt ?? c.createdAt) - Date.parse(c.createdAt))),
      stepsMs: [0, 1].map((i) => mean(cs.filter((c) => c.steps[i]?.endedAt).map((c) => Date.parse(c.steps[i].endedAt!) - Date.parse(c.steps[i].startedAt!)))),
      afterLastStepMs: mean(cs.map((c) => Date.parse(c.endedAt!) - Date.parse(c.steps.at(-1)?.endedAt ?? c.endedAt!))),
    });
    const meanChildMs = Math.round(fleet.children.reduce((n, c) => n + childMs(c), 0) / fleet.children.length);
    // Hand-off: from a child's end to the start of the child that took its slot (children are created at hand-off).
    const byIndex = new Map(fleet.children.map((c) => [c.targetIndex!, c]));
    const gaps = fleet.children
      .filter((c) => c.targetIndex! >= CONCURRENCY)
      .map((c) => Date.parse(c.createdAt) - Math.max(...[...byIndex.values()].filter((p) => p.endedAt && Date.parse(p.endedAt) <= Date.parse(c.createdAt)).map((p) => Date.parse(p.endedAt!))))
      .filter((g) => Number.isFinite(g))
      .sort((a, b) => a - b);
    const handoffGapMs = gaps[Math.floor(gaps.length / 2)] ?? NaN;
    const handoffCalls = await handoffSequentialCalls();
    const writes = Object.entries(fleet.calls.dynamodb ?? {}).filter(([op]) => WRITES.includes(op)).reduce((n, [, c]) => n + c, 0);
    const transitions = fleet.children.reduce((n, c) => n + c.steps.length * 2, 0);
    const result = {
      targets: TARGETS,
      concurrency: CONCURRENCY,
      latencyMs: LATENCY_MS,
      status: fleet.parent.status,
      counters: fleet.parent.counters,
      perTargetPathMs: pathMs,
      idealMs,
      makespanMs,
      makespanRatio: Math.round((makespanMs / idealMs) * 100) / 100,
      // The same path measured on the fleet's own children (50 at once in one process): what the emulator's load
      // does to one target, apart from how the engine schedules them.
      meanChildMsUnderLoad: meanChildMs,
      makespanRatioToLoadedPath: Math.round((makespanMs / (rounds * meanChildMs)) * 100) / 100,
      dynamoWrites: writes,
      stepTransitions: transitions,
      writesPerTransition: Math.round((writes / transitions) * 100) / 100,
      handoffSequentialCalls: handoffCalls,
      handoffMedianGapMs: handoffGapMs,
      lambdaInvocations: fleet.invocations,
      invocationsPerTarget: Math.round((fleet.invocations / TARGETS) * 100) / 100,
      dynamoCalls: fleet.calls.dynamodb,
      baseline: { wallMs: Math.round(baseline.wallMs), childMs: pathMs, status: baseline.parent.status },
      childBreakdown: { loaded: breakdown(fleet.children), baseline: breakdown(baseline.children) },
    };
    console.log(`AWS-StopEC2Instance over ${TARGETS} instances, MaxConcurrency ${CONCURRENCY}, ${LATENCY_MS} ms per call; ${result.status} ${JSON.stringify(result.counters)}`);
    console.table({
      makespan: { measured: `${makespanMs} ms`, bound: `${idealMs} ms (${rounds} × ${pathMs} ms)`, ratio: result.makespanRatio, target: '<= 1.25' },
      makespanVsLoadedPath: { measured: `${makespanMs} ms`, bound: `${rounds * meanChildMs} ms (${rounds} × ${meanChildMs} ms)`, ratio: result.makespanRatioToLoadedPath, target: '(for reference)' },
      dynamoWrites: { measured: writes, bound: `${transitions} step transitions`, ratio: result.writesPerTransition, target: '<= 3 per transition' },
      handoff: { measured: `${handoffCalls} sequential calls`, bound: `median gap ${handoffGapMs} ms at ${LATENCY_MS} ms a call`, ratio: '-', target: '<= 3 calls' },
      invocations: { measured: fleet.invocations, bound: '-', ratio: result.invocationsPerTarget, target: '(per target, for reference)' },
    });
    console.log('DynamoDB calls:', JSON.stringify(fleet.calls.dynamodb));
    console.log('A child, loaded vs alone:', JSON.stringify(result.childBreakdown));
    const met = { makespan: result.makespanRatio <= 1.25, writes: result.writesPerTransition <= 3, handoff: handoffCalls <= 3, completed: result.status === 'Success' };
    console.log(`targets: makespan ${met.makespan ? 'met' : 'MISSED'}, writes ${met.writes ? 'met' : 'MISSED'}, hand-off ${met.handoff ? 'met' : 'MISSED'}, completed ${met.completed ? 'yes' : 'NO'}`);
    writeResult('runbook-rate', { ...result, met });
    return met.makespan && met.writes && met.handoff && met.completed;
  } finally {
    instanceTimings.scale = 1;
    await stage.stop();
  }
}

/**
 * The longest chain of sequential store calls from a child's last write to the creation of the child that takes its
 * slot, counted on the engine itself (an in-memory store that records its calls; calls started while another is in
 * flight run beside it), with one target at a time so that every start after the first is a hand-off.
 */
async function handoffSequentialCalls(): Promise<number> {
  const store = new InMemoryExecutionStore();
  const log: { call: string; round: number }[] = [];
  let round = 0;
  let inFlight = 0;
  const methods = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const method of ['create', 'get', 'save', 'finishAndReserveTarget', 'finishTarget', 'reserveTarget', 'signal', 'clearOutbox', 'pendingSignals', 'list']) {
    const original = methods[method].bind(store);
    methods[method] = async (...args: unknown[]) => {
      if (inFlight === 0) round++;
      inFlight++;
      log.push({ call: method, round });
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    };
  }
  let now = Date.parse('2026-12-01T00:00:00Z');
  const queue: string[] = [];
  const deps: EngineDeps = {
    store,
    actions: { start: () => Promise.resolve({ kind: 'done', response: {} }), poll: () => Promise.resolve({ kind: 'done', response: {} }) },
    clock: { now: () => new Date(now) },
    sleep: (ms) => Promise.resolve(void (now += ms)),
    dispatch: (ids) => Promise.resolve(void queue.push(...ids)),
    wakeUp: () => Promise.resolve(),
    publish: () => Promise.resolve(),
    loadRunbook: () => Promise.reject(new Error('none')),
    newId: () => 'bench-handoff',
  };
  const runbook = validateRunbook({ schemaVersion: '0.3', parameters: { InstanceId: { type: 'String' } }, mainSteps: [{ name: 'stop', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: ['{{ InstanceId }}'] } }] });
  const targets = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003', 'i-00000000000000004'];
  const { execution } = await startExecution({ documentName: 'bench', runbook, parameters: {}, accountId: '000000000000', region: 'us-east-1', rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '1', maxErrors: '0', concurrencyLimit: 1, errorLimit: 0 } }, deps);
  queue.push(execution.executionId);
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    let result = await runExecution(id, deps, { deadline: new Date(now + 600_000) });
    while (result.next) result = await continueExecution(result.next, deps, { deadline: new Date(now + 600_000) });
  }
  const handoffs = log.filter((l) => l.call === 'finishAndReserveTarget').slice(0, targets.length - 1);
  return Math.max(...handoffs.map((h) => log.find((l) => l.call === 'create' && l.round > h.round)!.round - h.round + 1));
}
