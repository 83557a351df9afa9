import { actionRules } from '../actions.js';
import type { RunbookStep } from '../document.js';
import { ActionFailure, ActionTimedOut, isTerminal, type ActionResult, type ExecutionStatus, type StepExecution } from '../execution.js';
import { selectOutputs } from '../selector.js';
import { boundedOutputs, shrinkToEnd } from './bounds.js';
import { builtInActions, isBuiltIn } from './built-in-actions.js';
import { reportToParent } from './parent.js';
import {
  actionContext,
  beginCurrentStep,
  countTransition,
  openEntry,
  refreshSignals,
  resolveInputs,
  save,
  setStatus,
  setStepStatus,
  stepDefinition,
  takeSignal,
  waitFor,
  type ExecutionTooLargeError,
  type RunOutcome,
  type Turn,
} from './turn.js';

/** Signals are read again after this many step transitions (and after every wait). */
const SIGNAL_CHECK_EVERY = 10;

/**
 * The step loop of an ordinary (not rate-controlled) execution. After every step it looks at the execution's
 * bounds (transitions per execution and per turn, the worker's deadline) and, every few steps, at new signals, so
 * that a document that loops without waiting is still cancellable and still ends.
 */
export async function advance(turn: Turn): Promise<RunOutcome> {
  const { deps, options } = turn;
  for (;;) {
    const ex = turn.execution;
    if (turn.sinceSignalCheck >= SIGNAL_CHECK_EVERY) await refreshSignals(turn);
    if (ex.status !== 'Cancelling' && takeSignal(turn, 'Cancel')) {
      await cancel(turn);
      if (isTerminal(ex.status)) return 'ended';
      continue;
    }
    if (ex.currentStep !== undefined && !openEntry(ex) && (ex.transitions ?? 0) >= options.maxTransitionsPerExecution) {
      ex.failureMessage = `Step ${ex.currentStep} not started: the execution made ${ex.transitions} step transitions, the most one execution may make (runbooks.maxStepTransitionsPerExecution)`;
      await finish(turn, 'Failed');
      return 'ended';
    }
    if (ex.currentStep !== undefined && (turn.transitions >= options.maxTransitionsPerTurn || deps.clock.now().getTime() >= turn.deadline.getTime())) {
      // A started step that has not run yet is run by the next worker, with the same idempotency token.
      await handOver(turn);
      return 'waiting';
    }
    const entry = beginCurrentStep(turn);
    if (!entry) {
      await finish(turn);
      return 'ended';
    }
    const step = stepDefinition(ex.runbook, entry.name);
    if (entry.status === 'Pending') {
      // A retry waiting for its backoff to pass.
      const at = entry.nextCheckAt ? new Date(entry.nextCheckAt) : deps.clock.now();
      if ((await waitFor(turn, at)) === 'left') return 'waiting';
      activateRetry(turn, entry);
      continue;
    }
    let result: ActionResult | undefined;
    let failure: { status: 'Failed' | 'TimedOut'; message: string } | undefined;
    const timedOut = stepTimedOut(step, entry, deps.clock.now());
    if (timedOut !== undefined) failure = { status: 'TimedOut', message: `Step timed out after ${timedOut} seconds` };
    else if (entry.inputs === undefined) failure = { status: 'Failed', message: entry.failureMessage ?? 'the inputs could not be resolved' };
    else {
      try {
        result = await perform(turn, step, entry);
      } catch (e) {
        failure = { status: e instanceof ActionTimedOut ? 'TimedOut' : 'Failed', message: failureText(e) };
      }
    }
    if (failure || !result) {
      const next = await stepFailed(turn, step, entry, failure?.status ?? 'Failed', failure?.message ?? 'no result');
      if (next !== 'continue') return next;
      continue;
    }
    if (result.kind === 'done') {
      completeStep(turn, step, entry, result);
      if (ex.currentStep === undefined) {
        await finish(turn);
        return 'ended';
      }
      // The write that ends a step starts the next (unless a bound stops it at the loop's top).
      beginCurrentStep(turn);
      await save(turn);
      continue;
    }
    // Waiting: keep the action's progress, then wait here or leave it to a wake-up.
    const firstWait = entry.nextCheckAt === undefined;
    entry.actionState = result.state;
    entry.nextCheckAt = result.nextCheckAt.toISOString();
    if (step.action === 'aws:pause' || step.action === 'aws:approve') {
      setStepStatus(turn, entry, 'Waiting');
      setStatus(turn, 'Waiting');
    }
    if (firstWait && !turn.changedSteps.includes(entry)) turn.changedSteps.push(entry);
    if ((await waitFor(turn, result.nextCheckAt)) === 'left') return 'waiting';
    if (entry.status === 'Waiting') {
      setStepStatus(turn, entry, 'InProgress');
      if (ex.status === 'Waiting') setStatus(turn, 'InProgress');
    }
  }
}

/** Ends this worker's turn early (its share of transitions, or its time, is used up) and asks for a fresh one now. */
async function handOver(turn: Turn): Promise<void> {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  ex.wakeAt = now.toISOString();
  ex.leaseUntil = undefined;
  await save(turn);
  await turn.deps.dispatch([ex.executionId]);
}

/** A retry whose backoff has passed: it starts now, with its inputs interpolated afresh. */
function activateRetry(turn: Turn, entry: StepExecution): void {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  const step = stepDefinition(ex.runbook, entry.name);
  entry.startedAt = now.toISOString();
  entry.nextCheckAt = undefined;
  setStepStatus(turn, entry, 'InProgress');
  resolveInputs(ex, step, entry, now);
}

function stepTimedOut(step: RunbookStep, entry: StepExecution, now: Date): number | undefined {
  const timeout = step.timeoutSeconds ?? actionRules[step.action].defaultTimeoutSeconds;
  if (timeout === undefined || !entry.startedAt) return undefined;
  return now.getTime() - Date.parse(entry.startedAt) - (entry.unattendedMs ?? 0) > timeout * 1000 ? timeout : undefined;
}

function failureText(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' && !(e instanceof ActionFailure) ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

/** Runs (or polls) the current step's action: a built-in one here, an AWS one through the action runner. */
async function perform(turn: Turn, step: RunbookStep, entry: StepExecution): Promise<ActionResult> {
  const inputs = entry.inputs ?? {};
  if (isBuiltIn(step.action)) return builtInActions[step.action](turn, step, entry, inputs, turn.deps.clock.now());
  const context = actionContext(turn, entry);
  return entry.actionState === undefined && entry.nextCheckAt === undefined
    ? turn.deps.actions.start(step.action, inputs, context)
    : turn.deps.actions.poll(step.action, inputs, entry.actionState ?? null, context);
}

/** Keeps a step run's outputs, bounded, and as the latest of its step for `{{ step.Output }}`. */
function keepOutputs(turn: Turn, entry: StepExecution, outputs: Record<string, unknown> | undefined): void {
  if (!outputs || Object.keys(outputs).length === 0) {
    entry.outputs = undefined;
    return;
  }
  entry.outputs = boundedOutputs(outputs);
  const ex = turn.execution;
  ex.stepOutputs = { ...ex.stepOutputs, [entry.name]: entry.outputs };
}

/** Records a step's success and moves the execution to the step that follows. */
function completeStep(turn: Turn, step: RunbookStep, entry: StepExecution, result: Extract<ActionResult, { kind: 'done' }>): void {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  const { '@nextStep': branchTo, ...predefined } = result.outputs ?? {};
  let outputs: Record<string, unknown> = { ...predefined };
  if (step.outputs.length > 0) outputs = { ...outputs, ...selectOutputs(result.response ?? result.outputs ?? {}, step.outputs) };
  keepOutputs(turn, entry, outputs);
  entry.endedAt = now.toISOString();
  entry.actionState = undefined;
  entry.nextCheckAt = undefined;
  setStepStatus(turn, entry, 'Success');
  // An approval or a resume taken up by a later worker: the execution runs again (AWS shows InProgress, not Waiting).
  if (ex.status === 'Waiting') setStatus(turn, 'InProgress');
  ex.currentStep = typeof branchTo === 'string' ? branchTo : following(ex.runbook, step);
}

/** The step after `step` when it succeeds: its nextStep, else the next in the document; none after isEnd. */
function following(runbook: Turn['execution']['runbook'], step: RunbookStep): string | undefined {
  if (step.isEnd) return undefined;
  if (step.nextStep) return step.nextStep;
  const index = runbook.mainSteps.findIndex((s) => s.name === step.name);
  return runbook.mainSteps[index + 1]?.name;
}

/** A step attempt failed: retry it after a backoff, or apply onFailure. Saves. */
async function stepFailed(turn: Turn, step: RunbookStep, entry: StepExecution, status: 'Failed' | 'TimedOut', message: string): Promise<'continue' | RunOutcome> {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  const verb = status === 'TimedOut' ? 'timed out' : 'failed';
  entry.failureMessage = message;
  entry.endedAt = now.toISOString();
  entry.actionState = undefined;
  entry.nextCheckAt = undefined;
  if (entry.outputs) keepOutputs(turn, entry, entry.outputs);
  setStepStatus(turn, entry, status);
  if (ex.status === 'Waiting') setStatus(turn, 'InProgress');
  if (entry.attempt < step.maxAttempts && ex.status !== 'Cancelling' && (ex.transitions ?? 0) < turn.options.maxTransitionsPerExecution) {
    // Retry after 1 s, 2 s, 4 s … (at most a minute): a new entry, Pending until then.
    const delay = Math.min(60_000, 1000 * 2 ** (entry.attempt - 1));
    ex.steps.push({ name: step.name, action: step.action, status: 'Pending', attempt: entry.attempt + 1, nextCheckAt: new Date(now.getTime() + delay).toISOString() });
    countTransition(turn);
    return 'continue';
  }
  if (step.onFailure === 'Abort' || ex.status === 'Cancelling') {
    ex.failureMessage = `Step ${step.name} ${verb}: ${message}`;
    await finish(turn, ex.status === 'Cancelling' ? 'Cancelled' : status === 'TimedOut' ? 'TimedOut' : 'Failed');
    return 'ended';
  }
  if (step.isCritical) {
    ex.failureMessage ??= `Step ${step.name} ${verb}: ${message}`;
    ex.failedCritical = true;
  }
  ex.currentStep = step.onFailure === 'Continue' ? following(ex.runbook, step) : step.onFailure.slice('step:'.length);
  if (ex.currentStep === undefined) {
    await finish(turn);
    return 'ended';
  }
  beginCurrentStep(turn);
  await save(turn);
  return 'continue';
}

/**
 * Ends the execution: its final status from its steps unless given, its outputs, a report to its parent (which may
 * hand this worker the parent's next target, in `turn.handoff`).
 */
export async function finish(turn: Turn, status?: ExecutionStatus): Promise<void> {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  ex.currentStep = undefined;
  ex.endedAt = now.toISOString();
  ex.leaseUntil = undefined;
  ex.wakeAt = undefined;
  ex.outputs = executionOutputs(ex);
  // Signals nobody will act on any more go with the last write.
  turn.consumed.push(...turn.signals);
  turn.signals = [];
  setStatus(turn, status ?? finalStatus(ex));
  await save(turn);
  turn.handoff = await reportToParent(ex, turn);
}

/**
 * Ends an execution whose next write would not fit one item (ExecutionTooLargeError from `save`): Failed, saying
 * so, with its outputs and inputs dropped, rather than a write that fails and a step that runs again for ever.
 */
export async function endTooLarge(turn: Turn, error: ExecutionTooLargeError): Promise<void> {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  shrinkToEnd(ex);
  const open = openEntry(ex);
  if (open) {
    open.endedAt = now.toISOString();
    open.failureMessage = error.message;
    setStepStatus(turn, open, 'Failed');
  }
  ex.failureMessage = `${error.message}; its outputs and inputs were dropped`;
  await finish(turn, 'Failed');
}

/**
 * The status of an execution whose steps have all run: Cancelled after a cancel; CompletedWithFailure when a
 * critical step failed and the runbook went on (onFailure Continue or step:X); Success otherwise. (A critical step
 * that aborts ends the execution Failed or TimedOut where it fails.)
 */
function finalStatus(ex: Turn['execution']): ExecutionStatus {
  if (ex.status === 'Cancelling' || ex.status === 'Cancelled') return 'Cancelled';
  return ex.failedCritical ? 'CompletedWithFailure' : 'Success';
}

function executionOutputs(ex: Turn['execution']): Record<string, unknown> | undefined {
  if (ex.runbook.outputs.length === 0) return undefined;
  const outputs: Record<string, unknown> = {};
  for (const name of ex.runbook.outputs) {
    const [step, output] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
    const stepOutputs = ex.stepOutputs?.[step];
    if (stepOutputs && Object.hasOwn(stepOutputs, output)) outputs[name] = stepOutputs[output];
  }
  return outputs;
}

/**
 * Cancel: the step running now is cancelled; with onCancel step:X the execution runs X onwards (Cancelling) and
 * ends Cancelled.
 */
async function cancel(turn: Turn): Promise<void> {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  const entry = openEntry(ex);
  const step = ex.currentStep ? ex.runbook.mainSteps.find((s) => s.name === ex.currentStep) : undefined;
  if (entry) {
    entry.endedAt = now.toISOString();
    entry.actionState = undefined;
    entry.nextCheckAt = undefined;
    setStepStatus(turn, entry, 'Cancelled');
  }
  if (step && step.onCancel !== 'Abort') {
    setStatus(turn, 'Cancelling');
    ex.currentStep = step.onCancel.slice('step:'.length);
    beginCurrentStep(turn);
    await save(turn);
    return;
  }
  await finish(turn, 'Cancelled');
}
