import { describe, expect, it } from 'vitest';
import { EXECUTION_SIZE_LIMIT_BYTES, STEP_HISTORY_LIMIT, type ExecutionStore } from '@opsauto/core';
import { doc, FakeActions, harness } from './engine-harness.js';

// A document that loops on itself without ever waiting: AWS allows it, so the engine must bound it.
const selfLoop = doc([{ name: 'again', action: 'aws:sleep', inputs: { Duration: 'PT0S' }, nextStep: 'again' }]);

/** `count` steps, each outputting (through a selector) a string of `bytes` characters. */
function blobSteps(count: number, bytes: number) {
  const blob = 'x'.repeat(bytes);
  const actions = new FakeActions({ 'aws:executeAwsApi': () => ({ kind: 'done', response: { Blob: blob } }) });
  const steps = Array.from({ length: count }, (_, i) => ({
    name: `s${i}`,
    action: 'aws:executeAwsApi',
    inputs: { Service: 'ec2', Api: 'DescribeInstances' },
    outputs: [{ Name: 'Blob', Selector: '$.Blob', Type: 'String' }],
  }));
  return { actions, runbook: doc(steps) };
}

describe('runbook engine: bounds', () => {
  it('ends a document that loops without waiting Failed at the per-execution limit, each worker turn making at most the per-turn limit', async () => {
    // Prepare
    const h = harness({ engine: { maxTransitionsPerTurn: 50, maxTransitionsPerExecution: 300 } });
    const turns: number[] = [];
    const run = h.run;
    // Act
    const ex = await h.start({ runbook: selfLoop });
    let before = 0;
    for (let round = 0; round < 100 && h.queue.length > 0; round++) {
      await run(h.queue.shift()!);
      const now = (await h.get(ex.executionId)).transitions ?? 0;
      turns.push(now - before);
      before = now;
    }
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Failed');
    expect(done.transitions).toBe(300);
    expect(done.failureMessage).toMatch(/made 300 step transitions, the most one execution may make/);
    expect(Math.max(...turns)).toBeLessThanOrEqual(50);
    expect(turns.length).toBeGreaterThanOrEqual(6);
  });

  it('notices a cancel within ten steps while a document loops without waiting', async () => {
    // Prepare: the cancel arrives after the 5th step, while the worker is still looping.
    const h = harness({ engine: { maxTransitionsPerTurn: 10_000, maxTransitionsPerExecution: 10_000 } });
    const ex = await h.start({ runbook: selfLoop });
    let saves = 0;
    const save = h.store.save.bind(h.store);
    h.store.save = async (...args: Parameters<ExecutionStore['save']>) => {
      await save(...args);
      if (++saves === 5) await h.store.signal(ex.executionId, { kind: 'Cancel', at: new Date(h.now()).toISOString() });
    };
    // Act
    await h.run(h.queue.shift()!);
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Cancelled');
    expect(done.transitions).toBeLessThanOrEqual(16);
  });

  it('keeps the stored execution the same size however many steps it has taken', async () => {
    // Prepare
    const h = harness({ engine: { maxTransitionsPerTurn: 10_000, maxTransitionsPerExecution: 1_500 } });
    const sizes: Record<number, number> = {};
    const save = h.store.save.bind(h.store);
    h.store.save = (ex, consumed) => {
      if (ex.transitions === 300 || ex.transitions === 1_400) sizes[ex.transitions] = JSON.stringify(ex).length;
      return save(ex, consumed);
    };
    // Act
    const ex = await h.start({ runbook: selfLoop });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.transitions).toBe(1_500);
    expect(done.steps.length).toBeLessThanOrEqual(STEP_HISTORY_LIMIT);
    expect((done.omittedSteps ?? 0) + done.steps.length).toBe(1_500);
    expect(Math.abs(sizes[1_400] - sizes[300])).toBeLessThan(200);
  });

  it('keeps an execution under the item limit when its steps output more than it could hold, saying what it left out', async () => {
    // Prepare: each step outputs 150 KB, through 12 steps.
    const { actions, runbook } = blobSteps(12, 150_000);
    const h = harness({ actions });
    let largest = 0;
    const save = h.store.save.bind(h.store);
    h.store.save = (ex, consumed) => {
      largest = Math.max(largest, Buffer.byteLength(JSON.stringify(ex)));
      return save(ex, consumed);
    };
    // Act
    const ex = await h.start({ runbook });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(largest).toBeLessThanOrEqual(EXECUTION_SIZE_LIMIT_BYTES);
    expect(String(done.steps.at(-1)?.outputs?.Blob)).toMatch(/^\[output of \d+ bytes left out/);
  });

  it('ends Failed, saying why, an execution whose outputs no longer fit one item, instead of failing its writes for ever', async () => {
    // Prepare: each step outputs 95 KB (under the per-step cap); four of them cannot fit one 400 KB item.
    const { actions, runbook } = blobSteps(6, 95_000);
    const h = harness({ actions });
    // Act
    const ex = await h.start({ runbook });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Failed');
    expect(done.failureMessage).toMatch(/exceeds what one item may hold; its outputs and inputs were dropped/);
    expect(actions.calls.length).toBeLessThan(6);
    expect(h.published.at(-1)?.detail.Status).toBe('Failed');
  });
});

describe('runbook engine: outbox', () => {
  it('keeps the events PutEvents refused in the outbox and publishes each once when the tick comes, losing none', async () => {
    // Prepare: the bus refuses everything until it recovers.
    const h = harness();
    let down = true;
    const publish = h.deps.publish.bind(h.deps);
    h.deps.publish = (entries) => (down ? Promise.reject(new Error('InternalException')) : publish(entries));
    // Act
    const ex = await h.start({ runbook: doc([{ name: 'a', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeInstances' } }]) });
    await h.drain();
    const stranded = await h.get(ex.executionId);
    down = false;
    h.advance(61_000);
    const due = await h.store.listDue(new Date(h.now()), 10);
    for (const id of due) await h.run(id);
    // Assess
    expect(stranded.status).toBe('Success');
    expect(Object.keys(stranded.outbox ?? {})).toHaveLength(4);
    expect(due).toEqual([ex.executionId]);
    expect(h.published.map((e) => `${e.detailType}:${String(e.detail.Status)}`)).toEqual([
      'Runbook Step Status-change Notification:InProgress',
      'Runbook Execution Status-change Notification:InProgress',
      'Runbook Step Status-change Notification:Success',
      'Runbook Execution Status-change Notification:Success',
    ]);
    expect((await h.get(ex.executionId)).outbox).toBeUndefined();
    expect(await h.store.listDue(new Date(h.now() + 3_600_000), 10)).toEqual([]);
  });

  it('writes the events in the same write as the change they announce', async () => {
    // Prepare: the worker dies right after its last write, before publishing.
    const h = harness();
    const ex = await h.start({ runbook: doc([{ name: 'a', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeInstances' } }]) });
    h.deps.publish = () => Promise.reject(new Error('worker killed'));
    // Act
    await h.drain();
    // Assess: what the store holds announces exactly what the store says happened.
    const stored = await h.get(ex.executionId);
    const statuses = Object.values(stored.outbox ?? {}).map((e) => String(e.detail.Status));
    expect(stored.status).toBe('Success');
    expect(statuses.at(-1)).toBe('Success');
  });
});

describe('runbook engine: hand-off between targets', () => {
  it('starts the next target within 2 sequential store calls of a child ending, in the same worker, without a dispatch', async () => {
    // Prepare: one target at a time, so every start after the first is a hand-off. Record the store calls in order.
    const targets = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003'];
    const runbook = doc([{ name: 'act', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: '{{ InstanceId }}' } }], { parameters: { InstanceId: { type: 'StringList' } } });
    const h = harness();
    const log: { call: string; round: number }[] = [];
    let round = 0;
    let inFlight = 0;
    const store = h.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const method of ['create', 'get', 'save', 'finishAndReserveTarget', 'finishTarget', 'reserveTarget', 'signal', 'clearOutbox', 'pendingSignals']) {
      const original = store[method].bind(h.store);
      store[method] = async (...args: unknown[]) => {
        // Calls that start while another is in flight run concurrently with it: the same round.
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
    const dispatched: string[] = [];
    const dispatch = h.deps.dispatch.bind(h.deps);
    h.deps.dispatch = (ids) => {
      dispatched.push(...ids);
      return dispatch(ids);
    };
    // Act
    const parent = await h.start({ runbook, rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '1', maxErrors: '0', concurrencyLimit: 1, errorLimit: 0 } });
    await h.drain();
    // Assess
    expect((await h.get(parent.executionId)).status).toBe('Success');
    const handoffs = log.filter((l) => l.call === 'finishAndReserveTarget');
    expect(handoffs).toHaveLength(3);
    for (const handoff of handoffs.slice(0, 2)) {
      const create = log.find((l) => l.call === 'create' && l.round > handoff.round)!;
      expect(create.round - handoff.round + 1, 'sequential calls from the end to the next child').toBeLessThanOrEqual(2);
    }
    // No two events share an ID, across the hand-offs too.
    expect(new Set(h.published.map((e) => e.id)).size).toBe(h.published.length);
    // The parent dispatched the first child; the others were handed over, never dispatched.
    expect(dispatched.filter((id) => id !== parent.executionId)).toHaveLength(1);
  });
});
