import {
  continueExecution,
  InMemoryExecutionStore,
  runExecution,
  startExecution,
  validateRunbook,
  type ActionContext,
  type ActionResult,
  type ActionRunner,
  type EngineDeps,
  type EngineOptions,
  type Execution,
  type JsonValue,
  type OutboxEntry,
  type RunResult,
  type Runbook,
  type StartRequest,
  type StepExecution,
} from '@opsauto/core';

/** What a fake action does when started or polled: its result, or an error to throw. */
export type FakeBehaviour = (call: { action: string; inputs: Record<string, unknown>; state?: JsonValue; context: ActionContext; poll: boolean }) => ActionResult | Promise<ActionResult>;

/** Records every call to the AWS-calling actions; answers from `behaviours` by action name (default: done). */
export class FakeActions implements ActionRunner {
  readonly calls: { action: string; inputs: Record<string, unknown>; poll: boolean; token: string }[] = [];
  constructor(readonly behaviours: Record<string, FakeBehaviour> = {}) {}
  start(action: string, inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    return this.call(action, inputs, undefined, context, false);
  }
  poll(action: string, inputs: Record<string, unknown>, state: JsonValue, context: ActionContext): Promise<ActionResult> {
    return this.call(action, inputs, state, context, true);
  }
  private async call(action: string, inputs: Record<string, unknown>, state: JsonValue | undefined, context: ActionContext, poll: boolean): Promise<ActionResult> {
    this.calls.push({ action, inputs, poll, token: context.idempotencyToken });
    const behaviour = this.behaviours[action];
    return behaviour ? behaviour({ action, inputs, state, context, poll }) : { kind: 'done', response: {} };
  }
}

export const T0 = Date.parse('2026-11-23T08:00:00.000Z');

/** A runbook from a plain document (validated as a loaded one would be). */
export function doc(mainSteps: unknown[], extra: Record<string, unknown> = {}): Runbook {
  return validateRunbook({ schemaVersion: '0.3', mainSteps, ...extra });
}

/**
 * The engine on a fake clock and an in-memory store. `sleep` moves the clock; dispatches and wake-ups queue up and
 * `drain` plays them, as the worker's triggers would, until nothing is left.
 */
export function harness(options: { actions?: FakeActions; runbooks?: Record<string, Runbook>; engine?: EngineOptions; workerMs?: number } = {}) {
  let now = T0;
  let ids = 0;
  const store = new InMemoryExecutionStore();
  const actions = options.actions ?? new FakeActions();
  const queue: string[] = [];
  const wakes = new Map<string, number>();
  /** Every event published, in order. */
  const published: OutboxEntry[] = [];
  const deps: EngineDeps = {
    store,
    actions,
    clock: { now: () => new Date(now) },
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    dispatch: (executionIds) => {
      queue.push(...executionIds);
      return Promise.resolve();
    },
    wakeUp: (executionId, at) => {
      wakes.set(executionId, at.getTime());
      return Promise.resolve();
    },
    publish: (entries) => {
      published.push(...structuredClone(entries));
      return Promise.resolve();
    },
    loadRunbook: (name) => {
      const runbook = options.runbooks?.[name];
      return runbook ? Promise.resolve({ name, runbook }) : Promise.reject(new Error(`no runbook ${name}`));
    },
    newId: () => `exec-${++ids}`,
  };
  const engine = { inlineWaitLimitMs: 30_000, ...options.engine };
  /** A worker's invocation: the execution, then every child handed over to it, as the worker function does. */
  const run = async (executionId: string): Promise<RunResult> => {
    const deadline = () => new Date(now + (options.workerMs ?? 600_000));
    let result = await runExecution(executionId, deps, { deadline: deadline(), options: engine });
    const first = result;
    while (result.next) result = await continueExecution(result.next, deps, { deadline: deadline(), options: engine });
    return first;
  };
  return {
    store,
    actions,
    deps,
    published,
    wakes,
    queue,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    run,
    async start(request: Partial<StartRequest> & { runbook: Runbook }): Promise<Execution> {
      const { execution } = await startExecution({ documentName: 'test', parameters: {}, accountId: '111122223333', region: 'eu-west-1', ...request }, deps);
      queue.push(execution.executionId);
      return execution;
    },
    /** Runs dispatched executions, then due wake-ups (moving the clock to them), until none is left or `untilMs` passes. */
    async drain(untilMs = 30 * 86_400_000): Promise<void> {
      for (let round = 0; round < 100_000; round++) {
        const id = queue.shift();
        if (id !== undefined) {
          await run(id);
          continue;
        }
        const next = [...wakes.entries()].sort((a, b) => a[1] - b[1])[0];
        if (!next || next[1] > T0 + untilMs) return;
        wakes.delete(next[0]);
        now = Math.max(now, next[1]);
        await run(next[0]);
      }
      throw new Error('drain did not settle');
    },
    async get(executionId: string): Promise<Execution> {
      const loaded = await store.get(executionId);
      if (!loaded) throw new Error(`no execution ${executionId}`);
      return loaded.execution;
    },
  };
}
