import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { ConcurrentUpdateError, NotFoundError, ValidationError } from '../errors.js';
import { actionRules, isoDurationSeconds } from './actions.js';
import { evaluateBranch } from './branch.js';
import type { JsonValue, Runbook, RunbookStep } from './document.js';
import {
  ActionFailure,
  isTerminal,
  type ActionContext,
  type ActionResult,
  type ActionRunner,
  type Execution,
  type ExecutionSignal,
  type ExecutionStatus,
  type ExecutionStore,
  type RateControl,
  type StepExecution,
} from './execution.js';
import { interpolate, type InterpolationContext } from './interpolate.js';
import { selectOutputs } from './selector.js';
import { resolveParameters, type ParameterValue } from './values.js';

// The interpreter. It advances one execution as far as it can within a worker's time, writing the execution to the
// store after every step (one conditional write per step: the write that ends a step also starts the next), and
// leaves it, with a wake-up time, whenever it must wait longer than it may stay. Any worker can pick an execution up
// where another left it: steps that ended are never run again, and a step whose worker died is started again with
// the same idempotency token, so the action can tell it already made its change.

/** What the engine needs from the world; the functions package wires AWS (or localcloud) behind it. */
export interface EngineDeps {
  store: ExecutionStore;
  actions: ActionRunner;
  clock: Clock;
  /** Waits in the worker (short waits between polls). */
  sleep(ms: number): Promise<void>;
  /** Asks for workers for these executions now (children to start, a parent whose child ended). */
  dispatch(executionIds: string[]): Promise<void>;
  /** Asks for a worker for this execution at `at` (a waiting step's next check). */
  wakeUp(executionId: string, at: Date): Promise<void>;
  /** Tells the world that an execution or some of its steps changed status (events on the bus). */
  notify(execution: Execution, steps: StepExecution[], executionChanged: boolean): Promise<void>;
  /** Loads a runbook by name (aws:executeAutomation). */
  loadRunbook(name: string, version?: string): Promise<{ name: string; version?: string; runbook: Runbook }>;
  newId(): string;
}

export interface EngineOptions {
  /** The longest wait a worker sits through itself; a longer one is left to a wake-up. Default 30 s. */
  inlineWaitLimitMs?: number;
  /** A worker's lease lasts this long past its deadline, so that a dead worker's execution is picked up soon after. */
  leaseMarginMs?: number;
  /** How often a rate-controlled parent looks at its children (a safety net for lost dispatches). Default 5 min. */
  parentCheckMs?: number;
}

const DEFAULTS = { inlineWaitLimitMs: 30_000, leaseMarginMs: 60_000, parentCheckMs: 300_000 };

/** What starts an execution. */
export interface StartRequest {
  documentName: string;
  documentVersion?: string;
  runbook: Runbook;
  /** Parameter values as given (CLI text, event JSON): resolved and checked against the document's declarations. */
  parameters: Record<string, unknown>;
  accountId: string;
  region: string;
  /** Starts with the same key start one execution: the first. */
  idempotencyKey?: string;
  triggeredBy?: string;
  parentExecutionId?: string;
  /** Run once per target: each target's value goes into `targetParameterName` of a child execution. */
  rateControl?: Omit<RateControl, 'concurrencyLimit' | 'errorLimit'> & { concurrencyLimit: number; errorLimit: number };
}

/**
 * The execution ID for an idempotency key: a UUID-shaped digest, so that the same trigger delivered twice names the
 * same execution and the store's create keeps the first.
 *
 * @example
 * executionIdFor('schedule:office-hours-stop:2026-11-23T18:00:00Z') // 'c2b4…-…' (always the same)
 */
export function executionIdFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Creates an execution (Pending). Parameters are resolved against the document first: wrong values throw
 * ParameterValueError naming every field, and nothing is stored. With an idempotency key already used, returns the
 * existing execution and `created: false`. The caller dispatches it.
 */
export async function startExecution(request: StartRequest, deps: Pick<EngineDeps, 'store' | 'clock' | 'newId'>): Promise<{ execution: Execution; created: boolean }> {
  const parameters = resolveExecutionParameters(request.runbook, request.parameters, request.rateControl);
  const now = deps.clock.now();
  const executionId = request.idempotencyKey ? executionIdFor(request.idempotencyKey) : deps.newId();
  const execution: Execution = {
    executionId,
    documentName: request.documentName,
    documentVersion: request.documentVersion,
    runbook: request.runbook,
    parameters,
    status: 'Pending',
    accountId: request.accountId,
    region: request.region,
    createdAt: now.toISOString(),
    currentStep: request.runbook.mainSteps[0]?.name,
    steps: [],
    idempotencyKey: request.idempotencyKey,
    parentExecutionId: request.parentExecutionId,
    triggeredBy: request.triggeredBy,
    version: 1,
  };
  if (request.rateControl) {
    const { targetParameterName, targets } = request.rateControl;
    if (!Object.hasOwn(request.runbook.parameters, targetParameterName)) {
      throw new ValidationError(`TargetParameterName ${targetParameterName} is not a parameter of ${request.documentName}`, 'targetParameterName');
    }
    if (targets.length === 0) throw new ValidationError('the targets matched nothing', 'targets');
    execution.rateControl = request.rateControl;
    execution.counters = { launched: 0, running: 0, succeeded: 0, failed: 0 };
    execution.currentStep = undefined;
  }
  const assumeRole = request.runbook.assumeRole;
  if (assumeRole) {
    const role = interpolate(assumeRole, interpolationContext(execution, now));
    if (typeof role === 'string' && role !== '') execution.assumeRole = role;
  }
  return deps.store.create(execution);
}

/**
 * An execution's parameters, checked against the document. A rate-controlled execution's target parameter is each
 * child's own: it is checked with the first target and kept out of the parent's values.
 *
 * @throws ParameterValueError naming every field that is wrong.
 */
export function resolveExecutionParameters(
  runbook: Runbook,
  given: Record<string, unknown>,
  rateControl?: Pick<RateControl, 'targetParameterName' | 'targets'>,
): Record<string, ParameterValue> {
  if (!rateControl) return resolveParameters(runbook.parameters, given);
  const name = rateControl.targetParameterName;
  const parameters = resolveParameters(runbook.parameters, { ...given, [name]: given[name] ?? rateControl.targets[0] });
  if (given[name] === undefined) delete parameters[name];
  return parameters;
}

/** How a worker ended its turn on an execution. */
export type RunOutcome = 'ended' | 'waiting' | 'busy' | 'not-found';

interface Turn {
  execution: Execution;
  signals: ExecutionSignal[];
  consumed: ExecutionSignal[];
  deadline: Date;
  deps: EngineDeps;
  options: Required<EngineOptions>;
  /** Steps whose status changed since the last save, and whether the execution's did: for notifications. */
  changedSteps: StepExecution[];
  executionChanged: boolean;
}

/**
 * Advances an execution until it ends, or must wait longer than the worker may stay (then it is saved with a
 * wake-up), or until `deadline`. Returns `busy` when another worker holds it.
 */
export async function runExecution(executionId: string, deps: EngineDeps, run: { deadline: Date; options?: EngineOptions }): Promise<{ outcome: RunOutcome; execution?: Execution }> {
  const options = { ...DEFAULTS, ...run.options };
  const loaded = await deps.store.get(executionId);
  if (!loaded) return { outcome: 'not-found' };
  const { execution, signals } = loaded;
  if (isTerminal(execution.status)) {
    await reportToParent(execution, deps);
    return { outcome: 'ended', execution };
  }
  const now = deps.clock.now();
  if (execution.leaseUntil && Date.parse(execution.leaseUntil) > now.getTime()) return { outcome: 'busy', execution };
  if (execution.wakeAt && Date.parse(execution.wakeAt) > now.getTime() && signals.length === 0 && execution.status !== 'Pending') {
    // Woken early (a duplicate dispatch): nothing to do before the step's next check.
    return { outcome: 'waiting', execution };
  }
  const turn: Turn = { execution, signals, consumed: [], deadline: run.deadline, deps, options, changedSteps: [], executionChanged: false };
  try {
    await claim(turn);
    const outcome = execution.rateControl ? await advanceParent(turn) : await advance(turn);
    return { outcome, execution: turn.execution };
  } catch (e) {
    if (e instanceof ConcurrentUpdateError) return { outcome: 'busy', execution: turn.execution };
    throw e;
  }
}

/** Takes the lease, starts a Pending execution, and starts its current step: one write. */
async function claim(turn: Turn): Promise<void> {
  const { execution: ex, deps } = turn;
  const now = deps.clock.now();
  ex.leaseUntil = new Date(turn.deadline.getTime() + turn.options.leaseMarginMs).toISOString();
  ex.wakeAt = undefined;
  if (ex.status === 'Pending') {
    setStatus(turn, 'InProgress');
    ex.startedAt = now.toISOString();
  }
  if (!ex.rateControl) beginCurrentStep(turn);
  await save(turn);
}

async function save(turn: Turn): Promise<void> {
  const ex = turn.execution;
  ex.version += 1;
  try {
    await turn.deps.store.save(ex, turn.consumed);
  } catch (e) {
    ex.version -= 1;
    throw e;
  }
  turn.consumed = [];
  const steps = turn.changedSteps;
  const executionChanged = turn.executionChanged;
  turn.changedSteps = [];
  turn.executionChanged = false;
  if (steps.length > 0 || executionChanged) await turn.deps.notify(structuredClone(ex), steps.map((s) => structuredClone(s)), executionChanged);
}

function setStatus(turn: Turn, status: ExecutionStatus): void {
  if (turn.execution.status !== status) {
    turn.execution.status = status;
    turn.executionChanged = true;
  }
}

function setStepStatus(turn: Turn, entry: StepExecution, status: StepExecution['status']): void {
  if (entry.status !== status) {
    entry.status = status;
    if (!turn.changedSteps.includes(entry)) turn.changedSteps.push(entry);
  }
}

function stepDefinition(runbook: Runbook, name: string): RunbookStep {
  const step = runbook.mainSteps.find((s) => s.name === name);
  if (!step) throw new Error(`the runbook has no step ${name}`);
  return step;
}

/** The entry of the current step when it has started and not ended. */
function openEntry(ex: Execution): StepExecution | undefined {
  const last = ex.steps.at(-1);
  return last && last.name === ex.currentStep && (last.status === 'InProgress' || last.status === 'Waiting' || last.status === 'Pending') ? last : undefined;
}

/** Opens an entry for the current step (interpolating its inputs) unless one is open. */
function beginCurrentStep(turn: Turn, attempt = 1): StepExecution | undefined {
  const ex = turn.execution;
  if (ex.currentStep === undefined) return undefined;
  const open = openEntry(ex);
  if (open) return open;
  const step = stepDefinition(ex.runbook, ex.currentStep);
  const now = turn.deps.clock.now();
  const entry: StepExecution = { name: step.name, action: step.action, status: 'Pending', attempt, startedAt: now.toISOString() };
  ex.steps.push(entry);
  setStepStatus(turn, entry, 'InProgress');
  resolveInputs(ex, step, entry, now);
  return entry;
}

/** Interpolates a step's inputs into its entry; a reference that names nothing is kept as the entry's failure. */
function resolveInputs(ex: Execution, step: RunbookStep, entry: StepExecution, now: Date): void {
  try {
    entry.inputs = interpolate(step.inputs, interpolationContext(ex, now), { path: `${step.name}.inputs` }) as Record<string, unknown>;
  } catch (e) {
    entry.failureMessage = `inputs: ${(e as Error).message}`;
  }
}

function interpolationContext(ex: Execution, now: Date): InterpolationContext {
  const stepOutputs: Record<string, Record<string, unknown>> = {};
  for (const entry of ex.steps) if (entry.outputs) stepOutputs[entry.name] = entry.outputs;
  return { parameters: ex.parameters, stepOutputs, executionId: ex.executionId, accountId: ex.accountId, region: ex.region, now };
}

function actionContext(turn: Turn, entry: StepExecution): ActionContext {
  const ex = turn.execution;
  const index = ex.steps.indexOf(entry);
  return {
    executionId: ex.executionId,
    stepName: entry.name,
    attempt: entry.attempt,
    accountId: ex.accountId,
    region: ex.region,
    assumeRole: ex.assumeRole,
    idempotencyToken: `${ex.executionId}:${index}:${entry.attempt}`,
    now: () => turn.deps.clock.now(),
  };
}

const ENGINE_ACTIONS = new Set(['aws:branch', 'aws:sleep', 'aws:pause', 'aws:approve', 'aws:executeAutomation']);

/** The step loop of an ordinary (not rate-controlled) execution. */
async function advance(turn: Turn): Promise<RunOutcome> {
  const { deps } = turn;
  for (;;) {
    const ex = turn.execution;
    if (ex.status !== 'Cancelling' && takeSignal(turn, 'Cancel')) {
      await cancel(turn);
      if (isTerminal(ex.status)) return 'ended';
      continue;
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
        failure = { status: 'Failed', message: failureText(e) };
      }
    }
    if (failure || !result) {
      const next = await stepFailed(turn, step, entry, failure?.status ?? 'Failed', failure?.message ?? 'no result');
      if (next !== 'continue') return next;
      continue;
    }
    if (result.kind === 'done') {
      completeStep(turn, step, entry, result);
      beginCurrentStep(turn);
      if (turn.execution.currentStep === undefined) {
        await finish(turn);
        return 'ended';
      }
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

/**
 * Waits until `at`: in the worker when the wait is short and ends before the deadline (saving first what changed, so
 * the store shows the step waiting), else by saving the execution with a wake-up at `at` and leaving it.
 */
async function waitFor(turn: Turn, at: Date): Promise<'waited' | 'left'> {
  const { deps } = turn;
  const ex = turn.execution;
  const waitMs = at.getTime() - deps.clock.now().getTime();
  if (waitMs > turn.options.inlineWaitLimitMs || at.getTime() >= turn.deadline.getTime()) {
    ex.wakeAt = at.toISOString();
    ex.leaseUntil = undefined;
    await save(turn);
    await deps.wakeUp(ex.executionId, at);
    return 'left';
  }
  if (turn.changedSteps.length > 0 || turn.executionChanged) await save(turn);
  if (waitMs > 0) await deps.sleep(waitMs);
  await refreshSignals(turn);
  return 'waited';
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

/** Re-reads the signals sent while the worker waited (a cancel, a resume, an approval). */
async function refreshSignals(turn: Turn): Promise<void> {
  const loaded = await turn.deps.store.get(turn.execution.executionId);
  if (!loaded) throw new NotFoundError(`execution ${turn.execution.executionId} is gone`);
  if (loaded.execution.version !== turn.execution.version) throw new ConcurrentUpdateError(`execution ${turn.execution.executionId} changed under its worker`);
  turn.signals = loaded.signals.filter((s) => !turn.consumed.some((c) => c.kind === s.kind && c.at === s.at));
}

function takeSignal<K extends ExecutionSignal['kind']>(turn: Turn, kind: K): Extract<ExecutionSignal, { kind: K }> | undefined {
  const signal = turn.signals.find((s) => s.kind === kind) as Extract<ExecutionSignal, { kind: K }> | undefined;
  if (signal) {
    turn.signals = turn.signals.filter((s) => s !== signal);
    turn.consumed.push(signal);
  }
  return signal;
}

function stepTimedOut(step: RunbookStep, entry: StepExecution, now: Date): number | undefined {
  const timeout = step.timeoutSeconds ?? actionRules[step.action].defaultTimeoutSeconds;
  if (timeout === undefined || !entry.startedAt) return undefined;
  return now.getTime() - Date.parse(entry.startedAt) > timeout * 1000 ? timeout : undefined;
}

function failureText(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' && e.name !== 'ActionFailure' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

/** Runs (or polls) the current step's action. */
async function perform(turn: Turn, step: RunbookStep, entry: StepExecution): Promise<ActionResult> {
  const inputs = entry.inputs ?? {};
  if (!ENGINE_ACTIONS.has(step.action)) {
    const context = actionContext(turn, entry);
    return entry.actionState === undefined && entry.nextCheckAt === undefined
      ? turn.deps.actions.start(step.action, inputs, context)
      : turn.deps.actions.poll(step.action, inputs, entry.actionState ?? null, context);
  }
  const now = turn.deps.clock.now();
  switch (step.action) {
    case 'aws:branch': {
      const outcome = evaluateBranch(inputs);
      return { kind: 'done', outputs: outcome.nextStep ? { '@nextStep': outcome.nextStep } : {} };
    }
    case 'aws:sleep': {
      const until = sleepUntil(inputs, entry);
      return until.getTime() <= now.getTime() ? { kind: 'done' } : { kind: 'waiting', nextCheckAt: until, state: { until: until.toISOString() } };
    }
    case 'aws:pause': {
      if (takeSignal(turn, 'Resume')) return { kind: 'done' };
      return { kind: 'waiting', nextCheckAt: farCheck(turn, step, entry, now), state: null };
    }
    case 'aws:approve':
      return approve(turn, step, entry, inputs, now);
    case 'aws:executeAutomation':
      return executeAutomation(turn, entry, inputs, now);
    default:
      throw new Error(`no engine action ${step.action}`);
  }
}

/** A step waiting for a signal is looked at again when it would time out (signals dispatch a worker at once). */
function farCheck(turn: Turn, step: RunbookStep, entry: StepExecution, now: Date): Date {
  const timeout = step.timeoutSeconds ?? actionRules[step.action].defaultTimeoutSeconds;
  const start = entry.startedAt ? Date.parse(entry.startedAt) : now.getTime();
  return new Date(timeout === undefined ? now.getTime() + 86_400_000 : start + timeout * 1000 + 1000);
}

function sleepUntil(inputs: Record<string, unknown>, entry: StepExecution): Date {
  if (typeof inputs.Timestamp === 'string') {
    const at = Date.parse(inputs.Timestamp);
    if (Number.isNaN(at)) throw new ActionFailure(`Timestamp ${inputs.Timestamp} is not an ISO 8601 timestamp`);
    return new Date(at);
  }
  const seconds = typeof inputs.Duration === 'string' ? isoDurationSeconds(inputs.Duration) : undefined;
  if (seconds === undefined || seconds < 0) throw new ActionFailure(`Duration ${String(inputs.Duration)} is not an ISO 8601 duration`);
  return new Date(Date.parse(entry.startedAt!) + seconds * 1000);
}

function approve(turn: Turn, step: RunbookStep, entry: StepExecution, inputs: Record<string, unknown>, now: Date): ActionResult {
  const state = (entry.actionState ?? { decisions: [] }) as { decisions: { approver: string; decision: string; at: string; comment?: string }[] };
  for (;;) {
    const signal = takeSignal(turn, 'Approve') ?? takeSignal(turn, 'Reject');
    if (!signal) break;
    if (!state.decisions.some((d) => d.approver === signal.approver)) {
      state.decisions.push({ approver: signal.approver, decision: signal.kind === 'Approve' ? 'Approved' : 'Rejected', at: signal.at, ...(signal.comment ? { comment: signal.comment } : {}) });
    }
  }
  const decisions = state.decisions.map((d) => ({ ...d }));
  if (state.decisions.some((d) => d.decision === 'Rejected')) {
    entry.outputs = { ApprovalStatus: 'Rejected', ApproverDecisions: decisions };
    throw new ActionFailure(`Rejected by ${state.decisions.filter((d) => d.decision === 'Rejected').map((d) => d.approver).join(', ')}`);
  }
  const needed = typeof inputs.MinRequiredApprovals === 'number' ? inputs.MinRequiredApprovals : 1;
  if (state.decisions.length >= needed) return { kind: 'done', outputs: { ApprovalStatus: 'Approved', ApproverDecisions: decisions } };
  return { kind: 'waiting', nextCheckAt: farCheck(turn, step, entry, now), state: state as unknown as JsonValue };
}

async function executeAutomation(turn: Turn, entry: StepExecution, inputs: Record<string, unknown>, now: Date): Promise<ActionResult> {
  const { deps } = turn;
  const ex = turn.execution;
  let childId = (entry.actionState as { childId?: string } | null | undefined)?.childId;
  if (!childId) {
    const name = String(inputs.DocumentName);
    const loaded = await deps.loadRunbook(name, typeof inputs.DocumentVersion === 'string' ? inputs.DocumentVersion : undefined);
    const { execution } = await startExecution(
      {
        documentName: loaded.name,
        documentVersion: loaded.version,
        runbook: loaded.runbook,
        parameters: (inputs.RuntimeParameters ?? {}) as Record<string, unknown>,
        accountId: ex.accountId,
        region: ex.region,
        idempotencyKey: actionContext(turn, entry).idempotencyToken,
        parentExecutionId: ex.executionId,
        triggeredBy: `runbook:${ex.executionId}`,
      },
      deps,
    );
    childId = execution.executionId;
    await deps.dispatch([childId]);
    return { kind: 'waiting', nextCheckAt: new Date(now.getTime() + turn.options.parentCheckMs), state: { childId } };
  }
  while (takeSignal(turn, 'ChildEnded'));
  const child = await deps.store.get(childId);
  if (!child) throw new ActionFailure(`child execution ${childId} is gone`);
  if (!isTerminal(child.execution.status)) {
    return { kind: 'waiting', nextCheckAt: new Date(now.getTime() + turn.options.parentCheckMs), state: { childId } };
  }
  const outputs = { ExecutionId: childId, Status: child.execution.status, Output: Object.entries(child.execution.outputs ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`) };
  if (child.execution.status !== 'Success' && child.execution.status !== 'CompletedWithSuccess') {
    entry.outputs = outputs;
    throw new ActionFailure(`child execution ${childId} ended ${child.execution.status}${child.execution.failureMessage ? `: ${child.execution.failureMessage}` : ''}`);
  }
  return { kind: 'done', outputs };
}

/** Records a step's success and moves the execution to the step that follows. */
function completeStep(turn: Turn, step: RunbookStep, entry: StepExecution, result: Extract<ActionResult, { kind: 'done' }>): void {
  const ex = turn.execution;
  const now = turn.deps.clock.now();
  const { '@nextStep': branchTo, ...predefined } = result.outputs ?? {};
  let outputs: Record<string, unknown> = { ...predefined };
  if (step.outputs.length > 0) outputs = { ...outputs, ...selectOutputs(result.response ?? result.outputs ?? {}, step.outputs) };
  entry.outputs = Object.keys(outputs).length > 0 ? outputs : undefined;
  entry.endedAt = now.toISOString();
  entry.actionState = undefined;
  entry.nextCheckAt = undefined;
  setStepStatus(turn, entry, 'Success');
  ex.currentStep = typeof branchTo === 'string' ? branchTo : following(ex.runbook, step);
}

/** The step after `step` when it succeeds: its nextStep, else the next in the document; none after isEnd. */
function following(runbook: Runbook, step: RunbookStep): string | undefined {
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
  setStepStatus(turn, entry, status);
  if (entry.attempt < step.maxAttempts && ex.status !== 'Cancelling') {
    // Retry after 1 s, 2 s, 4 s … (at most a minute): a new entry, Pending until then.
    const delay = Math.min(60_000, 1000 * 2 ** (entry.attempt - 1));
    ex.steps.push({ name: step.name, action: step.action, status: 'Pending', attempt: entry.attempt + 1, nextCheckAt: new Date(now.getTime() + delay).toISOString() });
    return 'continue';
  }
  if (step.onFailure === 'Abort' || ex.status === 'Cancelling') {
    ex.failureMessage = `Step ${step.name} ${verb}: ${message}`;
    await finish(turn, ex.status === 'Cancelling' ? 'Cancelled' : status === 'TimedOut' ? 'TimedOut' : 'Failed');
    return 'ended';
  }
  if (step.isCritical) ex.failureMessage ??= `Step ${step.name} ${verb}: ${message}`;
  ex.currentStep = step.onFailure === 'Continue' ? following(ex.runbook, step) : step.onFailure.slice('step:'.length);
  beginCurrentStep(turn);
  if (ex.currentStep === undefined) {
    await finish(turn);
    return 'ended';
  }
  await save(turn);
  return 'continue';
}

/** Ends the execution: its final status from its steps unless given, its outputs, a report to its parent. */
async function finish(turn: Turn, status?: ExecutionStatus): Promise<void> {
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
  await reportToParent(ex, turn.deps);
}

/**
 * The status of an execution whose steps have all run: Cancelled after a cancel; CompletedWithFailure when a
 * critical step failed and the runbook went on (onFailure Continue or step:X); Success otherwise. (A critical step
 * that aborts ends the execution Failed or TimedOut where it fails.)
 */
function finalStatus(ex: Execution): ExecutionStatus {
  if (ex.status === 'Cancelling' || ex.status === 'Cancelled') return 'Cancelled';
  const failedCritical = ex.steps.some((entry, i) => {
    if (entry.status !== 'Failed' && entry.status !== 'TimedOut') return false;
    const later = ex.steps.slice(i + 1).some((e) => e.name === entry.name && e.attempt > entry.attempt);
    if (later) return false;
    const step = ex.runbook.mainSteps.find((s) => s.name === entry.name);
    return step?.isCritical ?? true;
  });
  return failedCritical ? 'CompletedWithFailure' : 'Success';
}

function executionOutputs(ex: Execution): Record<string, unknown> | undefined {
  if (ex.runbook.outputs.length === 0) return undefined;
  const outputs: Record<string, unknown> = {};
  for (const name of ex.runbook.outputs) {
    const [step, output] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
    const entry = ex.steps.findLast((e) => e.name === step && e.outputs && Object.hasOwn(e.outputs, output));
    if (entry?.outputs) outputs[name] = entry.outputs[output];
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

/**
 * Tells the parent that a child ended. A rate-controlled parent's counters are updated, and the child starts the
 * targets its end made room for; the parent itself is only woken when nothing runs any more. A parent waiting in an
 * aws:executeAutomation step is woken at once.
 */
async function reportToParent(ex: Execution, deps: EngineDeps): Promise<void> {
  if (!ex.parentExecutionId || !isTerminal(ex.status)) return;
  if (ex.targetIndex === undefined) {
    await signalExecution(ex.parentExecutionId, { kind: 'ChildEnded', at: deps.clock.now().toISOString(), executionId: ex.executionId }, deps);
    return;
  }
  const counters = await deps.store.finishTarget(ex.parentExecutionId, ex.targetIndex, succeeded(ex.status) ? 'succeeded' : 'failed');
  const loaded = await deps.store.get(ex.parentExecutionId);
  const parent = loaded?.execution;
  if (!parent?.rateControl) return;
  const cancelling = parent.status === 'Cancelling' || loaded!.signals.some((s) => s.kind === 'Cancel');
  const started = cancelling ? [] : await launchTargets(parent, deps);
  // The last child to end wakes the parent to end it (a signal, so that the parent's wait for its next check gives way).
  if (started.length === 0 && counters.running === 0) {
    await signalExecution(parent.executionId, { kind: 'ChildEnded', at: deps.clock.now().toISOString(), executionId: ex.executionId }, deps);
  }
}

function succeeded(status: ExecutionStatus): boolean {
  return status === 'Success' || status === 'CompletedWithSuccess';
}

/** Starts as many children as the parent's rate control allows now; returns their IDs (dispatched). */
async function launchTargets(parent: Execution, deps: EngineDeps): Promise<string[]> {
  const rate = parent.rateControl!;
  const ids: string[] = [];
  for (;;) {
    const index = await deps.store.reserveTarget(parent.executionId, { concurrencyLimit: rate.concurrencyLimit, errorLimit: rate.errorLimit, total: rate.targets.length });
    if (index === undefined) break;
    ids.push(await createChild(parent, index, deps));
  }
  if (ids.length > 0) await deps.dispatch(ids);
  return ids;
}

/** The child execution of a parent's target `index` (created once: its ID comes from the parent's and the index). */
async function createChild(parent: Execution, index: number, deps: Pick<EngineDeps, 'store' | 'clock' | 'newId'>): Promise<string> {
  const rate = parent.rateControl!;
  const target = rate.targets[index];
  const declared = parent.runbook.parameters[rate.targetParameterName];
  const value: ParameterValue = declared && (declared.type === 'StringList' || declared.type.startsWith('List<')) ? [target] : target;
  const now = deps.clock.now();
  const child: Execution = {
    executionId: executionIdFor(`${parent.executionId}/target/${index}`),
    documentName: parent.documentName,
    documentVersion: parent.documentVersion,
    runbook: parent.runbook,
    parameters: { ...parent.parameters, [rate.targetParameterName]: value },
    status: 'Pending',
    accountId: parent.accountId,
    region: parent.region,
    assumeRole: parent.assumeRole,
    createdAt: now.toISOString(),
    currentStep: parent.runbook.mainSteps[0]?.name,
    steps: [],
    parentExecutionId: parent.executionId,
    target,
    targetIndex: index,
    triggeredBy: `runbook:${parent.executionId}`,
    version: 1,
  };
  await deps.store.create(child);
  return child.executionId;
}

/**
 * A rate-controlled execution's turn: start the children the limits allow; end once none runs and none may start;
 * otherwise (a periodic check) create and dispatch children that were reserved but lost, and re-dispatch idle ones.
 */
async function advanceParent(turn: Turn): Promise<RunOutcome> {
  const { deps } = turn;
  const ex = turn.execution;
  const rate = ex.rateControl!;
  while (takeSignal(turn, 'ChildEnded'));
  if (ex.status !== 'Cancelling' && takeSignal(turn, 'Cancel')) {
    setStatus(turn, 'Cancelling');
    await save(turn);
  }
  if (ex.status !== 'Cancelling') await launchTargets(ex, deps);
  let counters = (await deps.store.get(ex.executionId))?.execution.counters ?? ex.counters!;
  if (counters.running > 0) {
    await reconcileChildren(turn, counters.launched);
    counters = (await deps.store.get(ex.executionId))?.execution.counters ?? counters;
  }
  ex.counters = counters;
  const now = deps.clock.now();
  const stopped = counters.failed > rate.errorLimit || ex.status === 'Cancelling';
  if (counters.running === 0 && (counters.launched >= rate.targets.length || stopped)) {
    ex.endedAt = now.toISOString();
    ex.leaseUntil = undefined;
    ex.wakeAt = undefined;
    const status: ExecutionStatus =
      ex.status === 'Cancelling' ? 'Cancelled' : counters.failed > rate.errorLimit ? 'Failed' : counters.failed > 0 ? 'CompletedWithFailure' : 'Success';
    if (counters.failed > 0) ex.failureMessage = `${counters.failed} of ${counters.launched} targets failed (MaxErrors ${rate.maxErrors})`;
    setStatus(turn, status);
    await save(turn);
    await reportToParent(ex, deps);
    return 'ended';
  }
  ex.wakeAt = new Date(now.getTime() + turn.options.parentCheckMs).toISOString();
  ex.leaseUntil = undefined;
  await save(turn);
  await deps.wakeUp(ex.executionId, new Date(ex.wakeAt));
  return 'waiting';
}

/** The safety net: every reserved target has a child, ended children are counted, unfinished idle ones get a worker. */
async function reconcileChildren(turn: Turn, launched: number): Promise<void> {
  const { deps } = turn;
  const ex = turn.execution;
  const now = deps.clock.now().getTime();
  const seen = new Set<number>();
  const redispatch: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.store.list({ parentExecutionId: ex.executionId, limit: 100, nextToken });
    for (const child of page.executions) {
      if (child.targetIndex === undefined) continue;
      seen.add(child.targetIndex);
      if (isTerminal(child.status)) await deps.store.finishTarget(ex.executionId, child.targetIndex, succeeded(child.status) ? 'succeeded' : 'failed');
      else if (!child.leaseUntil || Date.parse(child.leaseUntil) < now) {
        if (ex.status === 'Cancelling') await deps.store.signal(child.executionId, { kind: 'Cancel', at: new Date(now).toISOString() });
        if (!child.wakeAt || Date.parse(child.wakeAt) <= now || ex.status === 'Cancelling') redispatch.push(child.executionId);
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  for (let index = 0; index < launched; index++) if (!seen.has(index)) redispatch.push(await createChild(ex, index, deps));
  if (redispatch.length > 0) await deps.dispatch(redispatch);
}

/** Sends a signal to an execution and asks for a worker to act on it. */
export async function signalExecution(executionId: string, signal: ExecutionSignal, deps: Pick<EngineDeps, 'store' | 'dispatch'>): Promise<void> {
  await deps.store.signal(executionId, signal);
  await deps.dispatch([executionId]);
}
