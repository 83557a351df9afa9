import { continueExecution, EXECUTION_STATUS_DETAIL_TYPE, runExecution, type Execution, type RunResult } from '@opsauto/core';
import { describe, expect, it } from 'vitest';
import { doc, FakeActions, harness } from '../core/runbooks/engine-harness.js';
import { crashSeeds, describeKills, Killed, Killer, killAt, killPlan, engineThrough } from '../helpers/crash.js';
import { recordFigure } from '../helpers/figures.js';

// Crashes of the runbook worker (issue 14). A seeded kill is the death of one worker invocation at its k-th call to
// any dependency (store read or write, AWS action start or poll, dispatch, wake-up, event publish, runbook load),
// before the call takes effect or right after it took effect and before the worker saw the answer; after it nothing
// of that invocation lands. Each seed kills one to three invocations at points drawn over the whole run of a
// rate-controlled execution (5 targets, 2 at a time) whose children stop an instance, wait on it, sleep past the
// worker's inline wait (a wake-up) and run a child runbook (aws:executeAutomation) that tags it. Recovery is what
// happens deployed: Lambda retries a failed asynchronous invocation twice (after 1 and 2 minutes), the 5-minute tick
// dispatches what is due (a lease run out, a lost wake-up, an outbox not published), and a parent looks at its
// children every 5 minutes.
//
// What is asserted for every seed: every execution ends, with the status a run without a kill ends with (all
// Success); one child per target and one child runbook per target (never two); each execution's final status event
// is published. Mutating AWS calls (StopInstances, CreateTags) are made for each target, and made again ONLY with
// the same idempotency token: the engine re-runs a step whose worker died after calling its action and before
// recording the result (as AWS Automation re-runs an interrupted step). Exactly once is therefore at-least-once with
// a stable token, and each repetition is counted against a kill that landed between that call and its record:
// StopInstances and CreateTags are idempotent by AWS semantics (stopping a stopped instance, setting the same tag),
// and aws:createImage looks its token up before creating (packages/aws/src/runbooks/actions/create-image.ts).
//
// Replay and widen: CRASH_SEED=17 npx vitest run test/reliability/crash-runbooks.test.ts (one seed);
// CRASH_SEEDS=500 for seeds 1..500 (default 60).

const TICK_MS = 5 * 60_000;
const WORKER_MS = 600_000;
const MUTATING = ['StopInstances', 'CreateTags'];
const TARGETS = Array.from({ length: 5 }, (_, i) => `i-${String(i + 1).padStart(17, '0')}`);

const tagger = doc([{ name: 'tag', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'CreateTags', Resources: ['{{ InstanceId }}'], Tags: [{ Key: 'stopped-by', Value: 'opsauto' }] } }], {
  parameters: { InstanceId: { type: 'String' } },
});
const stopAndTag = doc(
  [
    { name: 'stop', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: '{{ InstanceId }}' } },
    {
      name: 'stopped',
      action: 'aws:waitForAwsResourceProperty',
      timeoutSeconds: 600,
      inputs: { Service: 'ec2', Api: 'DescribeInstances', InstanceIds: '{{ InstanceId }}', PropertySelector: '$.Reservations[0].Instances[0].State.Name', DesiredValues: ['stopped'] },
    },
    { name: 'settle', action: 'aws:sleep', inputs: { Duration: 'PT2M' } },
    { name: 'tag', action: 'aws:executeAutomation', inputs: { DocumentName: 'Tagger', RuntimeParameters: { InstanceId: '{{ InstanceId }}' } } },
  ],
  { parameters: { InstanceId: { type: 'StringList' } } },
);

/** The fake AWS: mutating calls are done at once; the wait sees the instance stopped on its second look. */
const fakeAws = () =>
  new FakeActions({
    'aws:waitForAwsResourceProperty': ({ poll, context }) => (poll ? { kind: 'done', response: {} } : { kind: 'waiting', nextCheckAt: new Date(context.now().getTime() + 10_000), state: { looks: 1 } }),
  });


/** One run of the scenario to its end under `killer`; throws when it does not settle in 3 virtual days. */
async function runScenario(killer: Killer) {
  const actions = fakeAws();
  const h = harness({ actions, runbooks: { Tagger: tagger }, workerMs: WORKER_MS });
  const root = await h.start({
    runbook: stopAndTag,
    rateControl: { targetParameterName: 'InstanceId', targets: TARGETS, maxConcurrency: '2', maxErrors: '0', concurrencyLimit: 2, errorLimit: 0 },
  });
  const retries: { id: string; at: number; left: number }[] = [];
  let nextTick = h.now() + TICK_MS;
  let invocations = 0;

  /** One worker invocation for `id`: the execution, then every child handed over to it, as the worker does. */
  const invoke = async (id: string, retriesLeft: number) => {
    invocations++;
    const inv = killer.invocation();
    const deps = engineThrough(h.deps, inv);
    const run = { deadline: new Date(h.now() + WORKER_MS), options: { inlineWaitLimitMs: 30_000 } };
    try {
      let result: RunResult = await runExecution(id, deps, run);
      while (result.next) result = await continueExecution(result.next, deps, { ...run, deadline: new Date(h.now() + WORKER_MS) });
    } catch (e) {
      if (!(e instanceof Killed) && !inv.dead) throw e;
      // Lambda retries a failed asynchronous invocation twice, after about 1 and 2 minutes.
      if (retriesLeft > 0) retries.push({ id, at: h.now() + (3 - retriesLeft) * 60_000, left: retriesLeft - 1 });
    }
  };
  /** The 5-minute tick: an invocation of its own, which can die too. */
  const tick = async () => {
    const inv = killer.invocation();
    try {
      const due = await inv.call('store.listDue', () => h.store.listDue(new Date(h.now()), 100));
      if (due.length > 0) await inv.call('dispatch', () => h.deps.dispatch(due));
    } catch (e) {
      if (!(e instanceof Killed)) throw e;
    }
  };
  const settled = async () => h.queue.length === 0 && retries.length === 0 && (await h.store.listDue(new Date('2100-01-01T00:00:00Z'), 1000)).length === 0;

  const limit = h.now() + 3 * 86_400_000;
  while (!(await settled())) {
    if (h.now() > limit) throw new Error('the run did not settle within 3 virtual days');
    const id = h.queue.shift();
    if (id !== undefined) {
      await invoke(id, 2);
      continue;
    }
    const wake = [...h.wakes.entries()].sort((a, b) => a[1] - b[1])[0];
    const retry = [...retries].sort((a, b) => a.at - b.at)[0];
    const next = Math.min(wake?.[1] ?? Infinity, retry?.at ?? Infinity, nextTick);
    h.advance(Math.max(0, next - h.now()));
    if (wake && wake[1] === next) {
      h.wakes.delete(wake[0]);
      await invoke(wake[0], 2);
    } else if (retry && retry.at === next) {
      retries.splice(retries.indexOf(retry), 1);
      await invoke(retry.id, retry.left);
    } else {
      nextTick = h.now() + TICK_MS;
      await tick();
    }
  }
  const all = await executions(h.store, root.executionId);
  return { h, actions, root: await h.get(root.executionId), all, invocations };
}

/** The root and every execution under it. */
async function executions(store: ReturnType<typeof harness>['store'], rootId: string): Promise<Execution[]> {
  const out: Execution[] = [];
  const visit = async (id: string) => {
    const loaded = await store.get(id);
    if (!loaded) throw new Error(`no execution ${id}`);
    out.push(loaded.execution);
    const page = await store.list({ parentExecutionId: id, limit: 1000 });
    for (const child of page.executions) await visit(child.executionId);
  };
  await visit(rootId);
  return out;
}

/** Mutating calls per (API, target): how many, and with which tokens. */
function mutations(actions: FakeActions): Map<string, { calls: number; tokens: Set<string> }> {
  const out = new Map<string, { calls: number; tokens: Set<string> }>();
  for (const c of actions.calls) {
    const apiName = String(c.inputs.Api);
    if (c.poll || !MUTATING.includes(apiName)) continue;
    const target = JSON.stringify(c.inputs.InstanceIds ?? c.inputs.Resources);
    const entry = out.get(`${apiName} ${target}`) ?? { calls: 0, tokens: new Set<string>() };
    entry.calls++;
    entry.tokens.add(c.token);
    out.set(`${apiName} ${target}`, entry);
  }
  return out;
}

/** What an execution's steps went through, for a failure message. */
const stepsOf = (e: Execution) => `${e.executionId.slice(0, 8)} ${e.status}: ${e.steps.map((s) => `${s.name} ${s.status}${s.failureMessage ? ` (${s.failureMessage})` : ''}`).join(', ')}`;

/**
 * The assertions every killed run must pass; returns the mutating calls repeated (with their token).
 */
async function assertRecovered(killer: Killer, why: string): Promise<number> {
  let run: Awaited<ReturnType<typeof runScenario>>;
  try {
    run = await runScenario(killer);
  } catch (e) {
    throw new Error(`${why}, kills: ${describeKills(killer.kills)}: ${(e as Error).message}`, { cause: e });
  }
  const { root, all, actions, h } = run;
  const context = () => `${why}, kills: ${describeKills(killer.kills)}\n${all.map(stepsOf).join('\n')}`;
  // Every execution ended, as the run without a kill ends.
  expect(all.filter((e) => e.status !== 'Success').map(stepsOf), context()).toEqual([]);
  // One child per target, one child runbook per child: no execution was started twice.
  const children = all.filter((e) => e.parentExecutionId === root.executionId);
  expect(children.map((c) => c.targetIndex).sort(), context()).toEqual([0, 1, 2, 3, 4]);
  expect(all.filter((e) => e.documentName === 'Tagger').map((e) => e.parameters.InstanceId).sort(), context()).toEqual(TARGETS);
  // Each mutating call made for every target; made again only with the same token, at most once per kill.
  const m = mutations(actions);
  expect(m.size, context()).toBe(TARGETS.length * MUTATING.length);
  for (const [key, { tokens }] of m) expect(tokens.size, `${context()}\n${key} with more than one idempotency token`).toBe(1);
  const repeats = [...m.values()].reduce((n, { calls }) => n + calls - 1, 0);
  expect(repeats, `${context()}\nmutating calls repeated`).toBeLessThanOrEqual(killer.kills.length);
  // Each execution's final status event was published (an event published twice keeps its ID).
  const finals = new Set(h.published.filter((p) => p.detailType === EXECUTION_STATUS_DETAIL_TYPE && p.detail.Status === 'Success').map((p) => p.detail.ExecutionId));
  expect(all.filter((e) => !finals.has(e.executionId)).map((e) => e.executionId), `${context()}\nfinal status event not published`).toEqual([]);
  return repeats;
}

describe('crash: the runbook worker killed at random points', () => {
  /** The named reproducers below (a seed that found a bug, replayed as a fixed kill) that passed. */
  let reproducers = 0;
  const reproduced = () => recordFigure(import.meta.url, 'named reproducers', ++reproducers);

  it('the run without a kill: every execution Success, each mutating call once, and the number of calls the kill points are drawn from', async () => {
    const killer = new Killer();
    const { root, all, actions } = await runScenario(killer);
    expect(root.status).toBe('Success');
    // The root, 5 children, 5 child runbooks.
    expect(all.map((e) => e.status)).toEqual(Array(11).fill('Success'));
    const m = mutations(actions);
    expect(m.size).toBe(TARGETS.length * MUTATING.length);
    for (const [key, { calls }] of m) expect(calls, key).toBe(1);
    expect(killer.calls).toBeGreaterThan(150);
  });

  it(`every execution ends as without a kill and each mutating call lands once (or again with its token) (${crashSeeds(60).length} seeds)`, async () => {
    const clean = new Killer();
    await runScenario(clean);
    let kills = 0;
    let repeats = 0;
    for (const seed of crashSeeds(60)) {
      const killer = new Killer(killPlan(seed, clean.calls));
      repeats += await assertRecovered(killer, `seed ${seed} (CRASH_SEED=${seed})`);
      kills += killer.kills.length;
    }
    expect(kills).toBeGreaterThanOrEqual(crashSeeds(60).length);
    console.info(`crash-runbooks: ${crashSeeds(60).length} seeds, ${kills} kills over ${clean.calls} calls a run, ${repeats} mutating calls repeated with their token`);
    recordFigure(import.meta.url, 'seeds', crashSeeds(60).length);
    recordFigure(import.meta.url, 'kills', kills);
    recordFigure(import.meta.url, 'calls a run', clean.calls);
    recordFigure(import.meta.url, 'mutating calls repeated with their token', repeats);
  });

  // Found by seeds 2 and 27: the worker died while a step waited (or before its action started), and the next worker
  // came only once the lease ran out (the worker's time plus a minute, then the tick), past the step's 600 s timeout:
  // the step ended TimedOut though the instance had stopped. The time a step goes unattended after its worker died is
  // now credited to its timeout (creditUnattended in packages/core/src/runbooks/engine/turn.ts).
  it('seed 2: a worker that dies during a step\'s wait does not time the step out', async () => {
    // The first signal read is the inline wait's, ten seconds into `stopped`.
    const killer = new Killer(killAt('store.pendingSignals', 1, 'before'));
    await assertRecovered(killer, 'killAt(store.pendingSignals, 1, before)');
    expect(killer.kills).toHaveLength(1);
    reproduced();
  });

  it('seed 27: a worker that dies after the write that begins a step, before its action starts, does not time the step out', async () => {
    // Publishes: the root's start, the first child's start, then the one after the write that ends `stop` and begins `stopped`.
    const killer = new Killer(killAt('publish', 3, 'after'));
    await assertRecovered(killer, 'killAt(publish, 3, after)');
    expect(killer.kills).toHaveLength(1);
    reproduced();
  });
});
