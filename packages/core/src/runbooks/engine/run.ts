import { ConcurrentUpdateError } from '../../errors.js';
import { isTerminal, type Execution } from '../execution.js';
import { ENGINE_DEFAULTS, type EngineDeps, type EngineOptions } from './deps.js';
import { advanceParent, reportToParent } from './parent.js';
import { advance, endTooLarge } from './step-loop.js';
import { beginCurrentStep, creditUnattended, endTurn, ExecutionTooLargeError, newTurn, publishOutbox, save, setStatus, type RunOutcome, type Turn } from './turn.js';

// The interpreter's entry. It advances one execution as far as it can within a worker's time, writing the execution
// to the store after every step (one conditional write per step: the write that ends a step also starts the next),
// and leaves it, with a wake-up time, whenever it must wait longer than it may stay. Any worker can pick an execution
// up where another left it: steps that ended are never run again, and a step whose worker died is started again
// with the same idempotency token, so the action can tell it already made its change.

/** What one call did, and a child the worker should run next (already claimed by it), if any. */
export interface RunResult {
  outcome: RunOutcome;
  execution?: Execution;
  /** The next target's child of a rate-controlled parent, handed to this worker: run it with `continueExecution`. */
  next?: Execution;
}

export interface RunOptions {
  deadline: Date;
  options?: EngineOptions;
}

/**
 * Advances an execution until it ends, or must wait longer than the worker may stay (then it is saved with a
 * wake-up), or until `deadline`. Returns `busy` when another worker holds it. Also publishes what its outbox still
 * holds (the tick's way of delivering events a worker could not).
 */
export async function runExecution(executionId: string, deps: EngineDeps, run: RunOptions): Promise<RunResult> {
  const options = { ...ENGINE_DEFAULTS, ...run.options };
  const loaded = await deps.store.get(executionId);
  if (!loaded) return { outcome: 'not-found' };
  const { execution, signals } = loaded;
  const now = deps.clock.now();
  const held = execution.leaseUntil !== undefined && Date.parse(execution.leaseUntil) > now.getTime();
  if (isTerminal(execution.status) || held) {
    if (!held && execution.outbox) await publishOutbox(deps, execution, true);
    if (held) return { outcome: 'busy', execution };
    await reportToParent(execution, { deps, deadline: now, options });
    return { outcome: 'ended', execution };
  }
  if (execution.wakeAt && Date.parse(execution.wakeAt) > now.getTime() && signals.length === 0 && execution.status !== 'Pending') {
    // Woken early (a duplicate dispatch, or the tick for an outbox): nothing to do before the step's next check.
    if (execution.outbox) await publishOutbox(deps, execution, true);
    return { outcome: 'waiting', execution };
  }
  const turn = newTurn(execution, signals, deps, run.deadline, options);
  try {
    await claim(turn);
    return await play(turn);
  } catch (e) {
    if (e instanceof ConcurrentUpdateError) return { outcome: 'busy', execution: turn.execution };
    throw e;
  }
}

/**
 * Runs a child that `runExecution` handed over (`next`), already claimed by this worker: no read, no claim write.
 */
export async function continueExecution(execution: Execution, deps: EngineDeps, run: RunOptions): Promise<RunResult> {
  const options = { ...ENGINE_DEFAULTS, ...run.options };
  const turn = newTurn(execution, [], deps, run.deadline, options);
  try {
    return await play(turn);
  } catch (e) {
    if (e instanceof ConcurrentUpdateError) return { outcome: 'busy', execution: turn.execution };
    throw e;
  }
}

async function play(turn: Turn): Promise<RunResult> {
  let outcome: RunOutcome;
  try {
    outcome = turn.execution.rateControl ? await advanceParent(turn) : await advance(turn);
  } catch (e) {
    if (!(e instanceof ExecutionTooLargeError)) throw e;
    await endTooLarge(turn, e);
    outcome = 'ended';
  }
  await endTurn(turn);
  return { outcome, execution: turn.execution, ...(turn.handoff ? { next: turn.handoff } : {}) };
}

/** Takes the lease, starts a Pending execution, and starts its current step: one write. */
async function claim(turn: Turn): Promise<void> {
  const { execution: ex, deps } = turn;
  const now = deps.clock.now();
  // A lease that was not given back ran out: the worker that held it died.
  if (ex.leaseUntil !== undefined) creditUnattended(ex, now);
  ex.leaseUntil = new Date(turn.deadline.getTime() + turn.options.leaseMarginMs).toISOString();
  ex.wakeAt = undefined;
  if (ex.status === 'Pending') {
    setStatus(turn, 'InProgress');
    ex.startedAt = now.toISOString();
  }
  if (!ex.rateControl) beginCurrentStep(turn);
  await save(turn);
}
