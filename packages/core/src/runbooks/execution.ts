import { ConflictError, ValidationError } from '../errors.js';
import type { JsonValue, Runbook } from './document.js';
import type { ParameterValue } from './values.js';

// The durable model of a runbook execution and the ports the engine drives. Everything here is stored as it is
// (JSON-serialisable), so that any worker can pick an execution up where another left it.

/** Execution statuses, as SSM Automation names them (AutomationExecutionStatus). */
export type ExecutionStatus =
  | 'Pending'
  | 'InProgress'
  | 'Waiting'
  | 'Success'
  | 'TimedOut'
  | 'Cancelling'
  | 'Cancelled'
  | 'Failed'
  | 'CompletedWithSuccess'
  | 'CompletedWithFailure';

/** Step statuses, as SSM Automation names them (StepExecution.StepStatus). */
export type StepStatus = 'Pending' | 'InProgress' | 'Waiting' | 'Success' | 'TimedOut' | 'Cancelled' | 'Failed';

export const TERMINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = ['Success', 'TimedOut', 'Cancelled', 'Failed', 'CompletedWithSuccess', 'CompletedWithFailure'];

/** Whether an ended execution succeeded (a rate-controlled parent whose targets all succeeded included). */
export function isSucceeded(status: ExecutionStatus): boolean {
  return status === 'Success' || status === 'CompletedWithSuccess';
}

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_EXECUTION_STATUSES.includes(status);
}

/** One run of one step. A step revisited through aws:branch or onFailure: step:X gets a new entry. */
export interface StepExecution {
  name: string;
  action: string;
  status: StepStatus;
  /** 1-based; counts attempts that ran, not resumes after a worker died. */
  attempt: number;
  startedAt?: string;
  endedAt?: string;
  /** The step's inputs after interpolation, as the action received them. */
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  failureMessage?: string;
  /** Action progress kept between polls (an image ID being waited on, instance IDs being stopped, …). */
  actionState?: JsonValue;
  /** When a waiting step is to be looked at again. */
  nextCheckAt?: string;
  /**
   * Milliseconds the step went unattended because its worker died holding the execution (from the look that was
   * due to the claim after the lease ran out): added to its timeout, so that a worker's death never times a step out.
   */
  unattendedMs?: number;
}

/** Rate control of an execution that runs its runbook once per target, each run a child execution. */
export interface RateControl {
  targetParameterName: string;
  /** One value per child: the value its TargetParameterName parameter gets. */
  targets: string[];
  /** As given (`10`, `10%`) and as resolved against the number of targets. */
  maxConcurrency: string;
  maxErrors: string;
  concurrencyLimit: number;
  errorLimit: number;
  /** No target is launched from this moment on (ISO 8601): a maintenance window's cutoff. */
  launchDeadline?: string;
}

/** Counters of a rate-controlled execution, updated atomically as children start and end. */
export interface RateCounters {
  launched: number;
  running: number;
  succeeded: number;
  failed: number;
}

/** A signal sent to an execution from outside (CLI or API): kept apart from it so a running worker never loses one. */
export type ExecutionSignal =
  | { kind: 'Resume'; at: string }
  | { kind: 'Approve'; at: string; approver: string; comment?: string }
  | { kind: 'Reject'; at: string; approver: string; comment?: string }
  | { kind: 'Cancel'; at: string }
  /** A child execution that an aws:executeAutomation step waits on has ended. */
  | { kind: 'ChildEnded'; at: string; executionId: string };

export interface Execution {
  executionId: string;
  documentName: string;
  documentVersion?: string;
  runbook: Runbook;
  parameters: Record<string, ParameterValue>;
  status: ExecutionStatus;
  accountId: string;
  region: string;
  /** The role every step's AWS calls run as, when the document names one. */
  assumeRole?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  /** The step to run next, or the step running now; undefined once the execution has ended. */
  currentStep?: string;
  steps: StepExecution[];
  outputs?: Record<string, unknown>;
  failureMessage?: string;
  /** When a waiting execution wants a worker again (the tick picks up executions whose time has come). */
  wakeAt?: string;
  /** A worker holds the execution until then; others leave it alone unless it is past. */
  leaseUntil?: string;
  /** Starts that carry the same key start this execution and no other. */
  idempotencyKey?: string;
  parentExecutionId?: string;
  /** For a child execution: the target it runs on, and its index in the parent's targets. */
  target?: string;
  targetIndex?: number;
  rateControl?: RateControl;
  counters?: RateCounters;
  /** For a child of a rate-controlled execution: its parent's limits, so that it can hand its slot on unaided. */
  parentRate?: TargetLimits;
  /** Digest of what the start asked for: a reused idempotency key must ask for the same (requestHashOf). */
  requestHash?: string;
  /** Step transitions made so far (every step run started, retries included): bounded per execution. */
  transitions?: number;
  /** Step runs left out of `steps` to keep the item small (the oldest; `steps` keeps the most recent). */
  omittedSteps?: number;
  /** The latest outputs of each step that has produced any, by step name: what `{{ step.Output }}` reads. */
  stepOutputs?: Record<string, Record<string, unknown>>;
  /** A critical step failed and the execution went on (onFailure Continue or step:X): it ends CompletedWithFailure. */
  failedCritical?: boolean;
  /**
   * Events written with the execution and not yet known to be published, by entry key (sorted in order of
   * publication). Written in the same conditional write as the change they announce; removed once published.
   */
  outbox?: Record<string, OutboxEntry>;
  /** While the outbox is not empty: when the tick should publish it if the worker could not. */
  outboxRetryAt?: string;
  /** Who or what started it (`schedule:office-hours-stop`, `cli`, `config:s3-versioning`, …). */
  triggeredBy?: string;
  /** Incremented by every save: the optimistic lock. */
  version: number;
}

/**
 * One event waiting in an execution's outbox: published on the bus as Source `opsauto.runbooks`, or, with
 * `notification`, to that SNS topic instead (an aws:approve step's request, sent as the execution's role).
 */
export interface OutboxEntry {
  /** Stable over retries (`<executionId>/<key>`): a consumer seeing it twice knows it is the same event. */
  id: string;
  detailType: string;
  detail: Record<string, unknown>;
  notification?: OutboxNotification;
}

/** An SNS message in the outbox. */
export interface OutboxNotification {
  topicArn: string;
  subject: string;
  message: string;
  /** The execution's role, which publishes it (as AWS's Automation does with the assume role). */
  roleArn?: string;
}

/** The limits a target reservation checks, as the parent's rate control resolved them. */
export interface TargetLimits {
  concurrencyLimit: number;
  errorLimit: number;
  total: number;
  /** As RateControl's: a child that ends after it hands its slot to nobody. */
  launchDeadline?: string;
}


/**
 * What a listing shows of an execution: who, what, where it stands and when; not its runbook, parameters, steps or
 * outputs (read those with `get`). Listings read an index that holds only these.
 */
export type ExecutionSummary = Pick<
  Execution,
  | 'executionId'
  | 'documentName'
  | 'documentVersion'
  | 'status'
  | 'createdAt'
  | 'startedAt'
  | 'endedAt'
  | 'wakeAt'
  | 'leaseUntil'
  | 'parentExecutionId'
  | 'target'
  | 'targetIndex'
  | 'counters'
  | 'failureMessage'
  | 'triggeredBy'
>;

/** Every ExecutionSummary field; a record so that a field added to the type and not here fails to compile. */
const SUMMARY_FIELDS: Record<keyof ExecutionSummary, true> = {
  executionId: true,
  documentName: true,
  documentVersion: true,
  status: true,
  createdAt: true,
  startedAt: true,
  endedAt: true,
  wakeAt: true,
  leaseUntil: true,
  parentExecutionId: true,
  target: true,
  targetIndex: true,
  counters: true,
  failureMessage: true,
  triggeredBy: true,
};
export const EXECUTION_SUMMARY_FIELDS = Object.keys(SUMMARY_FIELDS) as readonly (keyof ExecutionSummary)[];

/** The summary of an execution: its summary fields that are set, copied. */
export function summaryOf(execution: Execution): ExecutionSummary {
  const summary: Record<string, unknown> = {};
  for (const key of EXECUTION_SUMMARY_FIELDS) if (execution[key] !== undefined) summary[key] = structuredClone(execution[key]);
  return summary as ExecutionSummary;
}

/** The same idempotency key asked for something else: both starts carry a request hash and the hashes differ. */
export function isOtherRequest(existing: Pick<Execution, 'requestHash'>, asked: Pick<Execution, 'requestHash'>): boolean {
  return existing.requestHash !== undefined && asked.requestHash !== undefined && existing.requestHash !== asked.requestHash;
}

/** The refusal of a reused idempotency key, naming the key (or, without one, the execution it maps to). */
export function idempotencyConflict(existing: Pick<Execution, 'executionId' | 'idempotencyKey'>): ConflictError {
  const key = existing.idempotencyKey ?? existing.executionId;
  return new ConflictError(`idempotency key ${key} was already used to start execution ${existing.executionId} with a different document or parameters; use a new key for a different request`);
}

/** A page of execution summaries, newest first. */
export interface ExecutionPage {
  executions: ExecutionSummary[];
  nextToken?: string;
}

/** A start that was refused (a runbook not allowed, a role not allowed, …), kept for the operator to see. */
export interface ExecutionRefusal {
  at: string;
  documentName: string;
  /** Who or what asked (`event:<source>`, `cli`, …), when known. */
  triggeredBy?: string;
  /** Why it was refused, in words an operator can act on. */
  reason: string;
  idempotencyKey?: string;
}

/** Throws ValidationError naming the field when a refusal lacks what an operator needs to read it. */
export function checkRefusal(refusal: ExecutionRefusal): void {
  const text = (field: keyof ExecutionRefusal, optional: boolean) => {
    const value = refusal[field] as unknown;
    if (optional && value === undefined) return;
    if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`refusal ${field} must be a non-empty string`, field);
  };
  if (typeof refusal.at !== 'string' || Number.isNaN(Date.parse(refusal.at))) throw new ValidationError('refusal at must be an ISO-8601 time', 'at');
  text('documentName', false);
  text('reason', false);
  text('triggeredBy', true);
  text('idempotencyKey', true);
}

/**
 * Where executions live. Every save is conditional on the version read (ConcurrentUpdateError when it moved), so
 * two workers can never both think they advanced the same execution.
 */
export interface ExecutionStore {
  /**
   * Stores a new execution (version 1). When `idempotencyKey` is set and an execution with that key exists, stores
   * nothing and returns the existing one: the same trigger delivered twice starts one execution. When both carry a
   * `requestHash` and the hashes differ (the key reused for another document or other parameters), throws
   * ConflictError instead.
   */
  create(execution: Execution): Promise<{ created: boolean; execution: Execution }>;
  /** The execution and the signals sent to it that it has not yet consumed, or undefined. */
  get(executionId: string): Promise<{ execution: Execution; signals: ExecutionSignal[] } | undefined>;
  /**
   * Writes the execution if its stored version is still `execution.version - 1`; marks `consumedSignals` as consumed
   * in the same write or after it. Throws ConcurrentUpdateError otherwise.
   */
  save(execution: Execution, consumedSignals?: readonly ExecutionSignal[]): Promise<void>;
  /** The signals sent to an execution that it has not consumed (cheaper than `get`: the execution is not read). */
  pendingSignals(executionId: string): Promise<ExecutionSignal[]>;
  /**
   * Writes that the outbox of `execution` was published: removes it (and, with it, the tick's reason to look at the
   * execution) if the stored execution is still at `execution.version`. A newer version keeps its own outbox.
   */
  clearOutbox(execution: Execution): Promise<void>;
  /** Adds a signal for a worker to act on. NotFoundError when there is no such execution. */
  signal(executionId: string, signal: ExecutionSignal): Promise<void>;
  /** IDs of unfinished executions whose `wakeAt` is at or before `now`, or whose lease ran out: work for the tick. */
  listDue(now: Date, limit: number): Promise<string[]>;
  /** Summaries of executions, newest first; children only through their parent. */
  list(options?: { limit?: number; nextToken?: string; parentExecutionId?: string }): Promise<ExecutionPage>;
  /** Keeps a refused start for the operator to see; expires as executions do. */
  recordRefusal(refusal: ExecutionRefusal): Promise<void>;
  /** Refused starts, newest first (default 50, at most EXECUTION_PAGE_MAX). */
  listRefusals(options?: { limit?: number }): Promise<ExecutionRefusal[]>;
  /**
   * Reserves the next target of a rate-controlled execution: when fewer than `concurrencyLimit` children run, more
   * than `errorLimit` have not failed, and targets remain, increments `launched` and `running` and returns the index
   * of the target to start. Undefined when none may start now. Atomic.
   */
  reserveTarget(parentExecutionId: string, rate: Pick<RateControl, 'concurrencyLimit' | 'errorLimit'> & { total: number }): Promise<number | undefined>;
  /**
   * Records the end of the child on target `targetIndex` on its parent (running − 1, succeeded or failed + 1) and
   * returns the counters after. Atomic and idempotent: a second report for the same target changes nothing and returns
   * the counters as they are.
   */
  finishTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed'): Promise<RateCounters>;
  /**
   * `finishTarget` and `reserveTarget` in one atomic write, for a child handing its slot to the next target: when the
   * end is new and the limits allow another child, returns the counters and the reserved index; otherwise falls back
   * to `finishTarget` (no `reserved`).
   */
  finishAndReserveTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed', limits: TargetLimits): Promise<RateCounters & { reserved?: number }>;
  /** No further target of this parent may be reserved (it is being cancelled). Idempotent. */
  stopTargets(parentExecutionId: string): Promise<void>;
}

/** Where a step's AWS calls go: the execution's account and region, as the document's assumeRole when it names one. */
export interface ActionContext {
  executionId: string;
  stepName: string;
  attempt: number;
  accountId: string;
  region: string;
  assumeRole?: string;
  /** The same for every resume of one attempt: lets an action find what an earlier, interrupted run of it did. */
  idempotencyToken: string;
  /** When the step's timeout (its timeoutSeconds, else the action's default) runs out; absent when it has none. */
  deadline?: Date;
  /** The step's timeout in seconds, which `deadline` ends. */
  timeoutSeconds?: number;
  now(): Date;
}

/**
 * What an action did when it was started or polled: finished (with the predefined outputs and, for output selectors,
 * the API response), or waiting (poll again at `nextCheckAt`, with `state` kept in the store meanwhile).
 * A failure is thrown: ActionFailure (the step failed) or any other error (the step failed with its message).
 */
export type ActionResult =
  | { kind: 'done'; outputs?: Record<string, unknown>; response?: unknown }
  | { kind: 'waiting'; nextCheckAt: Date; state: JsonValue };

/** A step failed for a reason the action understands (a property that did not match, an unexpected instance state). */
export class ActionFailure extends Error {
  override name = 'ActionFailure';
}

/** A step's action ran past the step's timeout while it ran (a script that did not end in time): the step is TimedOut. */
export class ActionTimedOut extends ActionFailure {
  override name = 'ActionTimedOut';
}

/**
 * Runs the actions that call AWS (aws:executeAwsApi, aws:waitForAwsResourceProperty, aws:assertAwsResourceProperty,
 * aws:changeInstanceState, aws:createImage, aws:deleteImage, aws:createTags). `start` runs on a step's first try
 * and again when a worker resumes an attempt that died before its result was stored: it must not repeat an effect
 * that `context.idempotencyToken` shows was already made. `poll` continues a waiting action from its `state`.
 */
export interface ActionRunner {
  start(action: string, inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult>;
  poll(action: string, inputs: Record<string, unknown>, state: JsonValue, context: ActionContext): Promise<ActionResult>;
}
