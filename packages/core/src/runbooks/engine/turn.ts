import { ConcurrentUpdateError } from '../../errors.js';
import { actionRules } from '../actions.js';
import type { Runbook, RunbookStep } from '../document.js';
import type { ActionContext, Execution, ExecutionSignal, ExecutionStatus, OutboxNotification, StepExecution } from '../execution.js';
import { interpolate, type InterpolationContext } from '../interpolate.js';
import { fitItem, trimHistory } from './bounds.js';
import type { EngineDeps, EngineOptions } from './deps.js';
import { emptyOutbox, pendingEvents, stageEvents, stageNotifications } from './outbox.js';

/** How a worker ended its turn on an execution. */
export type RunOutcome = 'ended' | 'waiting' | 'busy' | 'not-found';

/** One worker's hold on one execution, from claim to the last save of its turn. */
export interface Turn {
  execution: Execution;
  signals: ExecutionSignal[];
  consumed: ExecutionSignal[];
  deadline: Date;
  deps: EngineDeps;
  options: Required<EngineOptions>;
  /** Steps whose status changed since the last save, and whether the execution's did: the events to stage. */
  changedSteps: StepExecution[];
  executionChanged: boolean;
  /** Step transitions this turn has made (bounded by maxTransitionsPerTurn). */
  transitions: number;
  /** Transitions since signals were last read, and when (clock ms) they were. */
  sinceSignalCheck: number;
  signalsReadAt: number;
  /** A child of a rate-controlled parent, created and claimed by this turn's end, for the worker to run next. */
  handoff?: Execution;
  /** The version whose stored copy still holds events this turn has since published (cleared when the turn ends). */
  publishedUncleared?: number;
  /** SNS notifications asked for since the last save (aws:approve), staged into the outbox by the next save. */
  notifications: { detailType: string; detail: Record<string, unknown>; notification: OutboxNotification }[];
}

export function newTurn(execution: Execution, signals: ExecutionSignal[], deps: EngineDeps, deadline: Date, options: Required<EngineOptions>): Turn {
  const signalsReadAt = deps.clock.now().getTime();
  return { execution, signals, consumed: [], deadline, deps, options, changedSteps: [], executionChanged: false, transitions: 0, sinceSignalCheck: 0, signalsReadAt, notifications: [] };
}

/** Moves what changed since the last save into the execution's outbox, for the write of `version` that holds it. */
function stage(turn: Turn, version: number): void {
  const ex = turn.execution;
  if (turn.changedSteps.length > 0 || turn.executionChanged) stageEvents(ex, turn.changedSteps, turn.executionChanged, turn.deps.clock.now(), version);
  stageNotifications(ex, turn.notifications, turn.deps.clock.now(), version);
  turn.changedSteps = [];
  turn.executionChanged = false;
  turn.notifications = [];
}

/** The execution would not fit one item even cut down (bounds.ts): the turn ends it Failed instead of writing it. */
export class ExecutionTooLargeError extends Error {
  override name = 'ExecutionTooLargeError';
  constructor(readonly size: number) {
    super(`the execution's state (${size} bytes) exceeds what one item may hold`);
  }
}

/**
 * Writes the execution (conditional on the version read) with the events of what changed, then publishes them.
 * An execution grown past an item's size is cut down first (bounds.ts); one that still does not fit throws
 * ExecutionTooLargeError, and nothing is written.
 */
export async function save(turn: Turn): Promise<void> {
  const ex = turn.execution;
  stage(turn, ex.version + 1);
  trimHistory(ex);
  const tooLarge = fitItem(ex);
  if (tooLarge !== undefined) throw new ExecutionTooLargeError(tooLarge);
  ex.version += 1;
  try {
    await turn.deps.store.save(ex, turn.consumed);
  } catch (e) {
    ex.version -= 1;
    throw e;
  }
  turn.consumed = [];
  if (ex.outbox === undefined) return;
  await publishOutbox(turn.deps, ex, false);
  turn.publishedUncleared = ex.outbox === undefined ? ex.version : undefined;
}

/** Creates a new execution (version 1) with the events of its first changes, then publishes them. */
export async function createWithEvents(turn: Turn): Promise<boolean> {
  const ex = turn.execution;
  stage(turn, ex.version);
  const { created } = await turn.deps.store.create(ex);
  if (!created || ex.outbox === undefined) return created;
  await publishOutbox(turn.deps, ex, false);
  turn.publishedUncleared = ex.outbox === undefined ? ex.version : undefined;
  return created;
}

/**
 * Publishes the outbox. On success the entries leave it in memory (the next save writes it empty); with `clear`
 * the store is told now (the turn is over: no next save of ours will). On failure they stay, for the tick.
 */
export async function publishOutbox(deps: EngineDeps, ex: Execution, clear: boolean): Promise<void> {
  const entries = pendingEvents(ex);
  if (entries.length === 0) return;
  try {
    await deps.publish(entries);
  } catch (e) {
    deps.onPublishError?.(e);
    return;
  }
  emptyOutbox(ex);
  if (clear) await deps.store.clearOutbox(ex);
}

/**
 * Ends a turn: events published after its last save are cleared from the stored copy, so the tick does not publish
 * them again (events that could not be published stay for it).
 */
export async function endTurn(turn: Turn): Promise<void> {
  const ex = turn.execution;
  if (turn.publishedUncleared !== undefined && turn.publishedUncleared === ex.version) await turn.deps.store.clearOutbox(ex);
  turn.publishedUncleared = undefined;
}

export function setStatus(turn: Turn, status: ExecutionStatus): void {
  if (turn.execution.status !== status) {
    turn.execution.status = status;
    turn.executionChanged = true;
  }
}

export function setStepStatus(turn: Turn, entry: StepExecution, status: StepExecution['status']): void {
  if (entry.status !== status) {
    entry.status = status;
    if (!turn.changedSteps.includes(entry)) turn.changedSteps.push(entry);
  }
}

export function stepDefinition(runbook: Runbook, name: string): RunbookStep {
  const step = runbook.mainSteps.find((s) => s.name === name);
  if (!step) throw new Error(`the runbook has no step ${name}`);
  return step;
}

export function interpolationContext(ex: Execution, now: Date): InterpolationContext {
  return { parameters: ex.parameters, stepOutputs: ex.stepOutputs ?? {}, executionId: ex.executionId, accountId: ex.accountId, region: ex.region, now };
}

/** Interpolates a step's inputs into its entry; a reference that names nothing is kept as the entry's failure. */
export function resolveInputs(ex: Execution, step: RunbookStep, entry: StepExecution, now: Date): void {
  try {
    entry.inputs = interpolate(step.inputs, interpolationContext(ex, now), { path: `${step.name}.inputs` }) as Record<string, unknown>;
  } catch (e) {
    entry.failureMessage = `inputs: ${(e as Error).message}`;
  }
}

/** The absolute index of a step run in the execution's history (runs left out of `steps` count too). */
export function runIndex(ex: Execution, entry: StepExecution): number {
  return (ex.omittedSteps ?? 0) + ex.steps.indexOf(entry);
}

/**
 * When a step's timeout runs out: its start plus its timeoutSeconds (else its action's default timeout), plus the
 * time it went unattended after its worker died (creditUnattended).
 */
function stepDeadline(runbook: Execution['runbook'], entry: StepExecution): { deadline?: Date; timeoutSeconds?: number } {
  const step = runbook.mainSteps.find((s) => s.name === entry.name);
  const timeout = step ? (step.timeoutSeconds ?? actionRules[step.action].defaultTimeoutSeconds) : undefined;
  if (timeout === undefined || !entry.startedAt) return {};
  return { deadline: new Date(Date.parse(entry.startedAt) + (entry.unattendedMs ?? 0) + timeout * 1000), timeoutSeconds: timeout };
}

export function actionContext(turn: Turn, entry: StepExecution): ActionContext {
  const ex = turn.execution;
  return {
    executionId: ex.executionId,
    stepName: entry.name,
    attempt: entry.attempt,
    accountId: ex.accountId,
    region: ex.region,
    assumeRole: ex.assumeRole,
    idempotencyToken: `${ex.executionId}:${runIndex(ex, entry)}:${entry.attempt}`,
    ...stepDeadline(ex.runbook, entry),
    now: () => turn.deps.clock.now(),
  };
}

export function takeSignal<K extends ExecutionSignal['kind']>(turn: Turn, kind: K): Extract<ExecutionSignal, { kind: K }> | undefined {
  const signal = turn.signals.find((s) => s.kind === kind) as Extract<ExecutionSignal, { kind: K }> | undefined;
  if (signal) {
    turn.signals = turn.signals.filter((s) => s !== signal);
    turn.consumed.push(signal);
  }
  return signal;
}

/** Re-reads the signals sent while the worker ran or waited (a cancel, a resume, an approval). */
export async function refreshSignals(turn: Turn): Promise<void> {
  const pending = await turn.deps.store.pendingSignals(turn.execution.executionId);
  turn.signals = pending.filter((s) => !turn.consumed.some((c) => c.kind === s.kind && c.at === s.at));
  turn.sinceSignalCheck = 0;
  turn.signalsReadAt = turn.deps.clock.now().getTime();
}

/**
 * Signals are read again once a second at most while a step polls (a poll every 250 ms would otherwise read them four
 * times a second for every running execution); a wait of a second or more always ends with a read.
 */
export const SIGNAL_READ_INTERVAL_MS = 1_000;

/**
 * Waits until `at`: in the worker when the wait is short and ends before the deadline (saving first what changed, so
 * the store shows the step waiting), else by saving the execution with a wake-up at `at` and leaving it.
 */
export async function waitFor(turn: Turn, at: Date): Promise<'waited' | 'left'> {
  const { deps } = turn;
  const waitMs = at.getTime() - deps.clock.now().getTime();
  if (waitMs > turn.options.inlineWaitLimitMs || at.getTime() >= turn.deadline.getTime()) {
    await leave(turn, at);
    return 'left';
  }
  if (turn.changedSteps.length > 0 || turn.executionChanged || turn.notifications.length > 0) await save(turn);
  if (waitMs > 0) await deps.sleep(waitMs);
  if (deps.clock.now().getTime() - turn.signalsReadAt >= SIGNAL_READ_INTERVAL_MS) await refreshSignals(turn);
  return 'waited';
}

/** Saves the execution for a worker to take up again at `at`, and asks for that worker. */
export async function leave(turn: Turn, at: Date): Promise<void> {
  const ex = turn.execution;
  ex.wakeAt = at.toISOString();
  ex.leaseUntil = undefined;
  await save(turn);
  await turn.deps.wakeUp(ex.executionId, at);
}

export { ConcurrentUpdateError };

/** The entry of the current step when it has started and not ended. */
export function openEntry(ex: Execution): StepExecution | undefined {
  const last = ex.steps.at(-1);
  return last && last.name === ex.currentStep && (last.status === 'InProgress' || last.status === 'Waiting' || last.status === 'Pending') ? last : undefined;
}

/** Counts a step transition (a step run started or a retry queued). */
export function countTransition(turn: Turn): void {
  const ex = turn.execution;
  ex.transitions = (ex.transitions ?? 0) + 1;
  turn.transitions += 1;
  turn.sinceSignalCheck += 1;
}

/**
 * A worker claims an execution whose previous worker died holding it (its lease ran out, never given back): the open
 * step's next look (its next poll, or its start when none is recorded) was due and nobody made it. The time from then
 * to now is credited to the step (unattendedMs), so that it is not counted against its timeout: a step that would
 * have succeeded does not end TimedOut because a worker died. A step whose look was due only after its timeout gets
 * nothing: it would have timed out anyway.
 */
export function creditUnattended(ex: Execution, now: Date): void {
  const entry = openEntry(ex);
  if (!entry?.startedAt) return;
  const due = Date.parse(entry.nextCheckAt ?? entry.startedAt);
  const { deadline } = stepDeadline(ex.runbook, entry);
  if (!(due < now.getTime()) || (deadline !== undefined && due > deadline.getTime())) return;
  entry.unattendedMs = (entry.unattendedMs ?? 0) + (now.getTime() - due);
}

/**
 * Opens an entry for the current step (interpolating its inputs) unless one is open. None when there is no current
 * step, or when the execution has made as many transitions as it may (the step loop then ends it).
 */
export function beginCurrentStep(turn: Turn): StepExecution | undefined {
  const ex = turn.execution;
  if (ex.currentStep === undefined) return undefined;
  const open = openEntry(ex);
  if (open) return open;
  if ((ex.transitions ?? 0) >= turn.options.maxTransitionsPerExecution) return undefined;
  const step = stepDefinition(ex.runbook, ex.currentStep);
  const now = turn.deps.clock.now();
  const entry: StepExecution = { name: step.name, action: step.action, status: 'Pending', attempt: 1, startedAt: now.toISOString() };
  ex.steps.push(entry);
  countTransition(turn);
  setStepStatus(turn, entry, 'InProgress');
  resolveInputs(ex, step, entry, now);
  return entry;
}
