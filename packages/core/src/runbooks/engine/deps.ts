import type { Clock } from '../../clock.js';
import type { Runbook } from '../document.js';
import type { ActionRunner, ExecutionStore, OutboxEntry } from '../execution.js';

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
  /**
   * Publishes outbox entries (status events, `Runbook Image Created`) on the bus. Called only after the write that
   * holds them succeeded; a failure leaves them in the outbox for the next publish (the worker's, or the tick's).
   */
  publish(entries: OutboxEntry[]): Promise<void>;
  /** Told when `publish` failed (the entries stay in the outbox). */
  onPublishError?(error: unknown): void;
  /** Loads a runbook by name (aws:executeAutomation). */
  loadRunbook(name: string, version?: string): Promise<{ name: string; version?: string; runbook: Runbook }>;
  newId(): string;
}

/** Limits and timings of the engine; every field has a default (ENGINE_DEFAULTS). */
export interface EngineOptions {
  /** The longest wait a worker sits through itself; a longer one is left to a wake-up. Default 30 s. */
  inlineWaitLimitMs?: number;
  /** A worker's lease lasts this long past its deadline, so that a dead worker's execution is picked up soon after. */
  leaseMarginMs?: number;
  /** How often a rate-controlled parent looks at its children (a safety net for lost dispatches). Default 5 min. */
  parentCheckMs?: number;
  /**
   * Step transitions one worker turn makes before it hands the execution to a fresh invocation (a wake-up due at
   * once). Bounds one invocation's work whatever the document does. Default 500.
   */
  maxTransitionsPerTurn?: number;
  /**
   * Step transitions an execution may make in all; the next one ends it Failed, saying so. AWS documents no such
   * limit for Automation; this is ours, against documents that loop without end. Default 2,000.
   */
  maxTransitionsPerExecution?: number;
  /**
   * A worker hands its slot to the next target of a rate-controlled parent (runs it in the same invocation) only with
   * at least this much time left before its deadline; with less it dispatches it. Default 60 s.
   */
  inlineHandoffMinMs?: number;
}

export const ENGINE_DEFAULTS: Required<EngineOptions> = {
  inlineWaitLimitMs: 30_000,
  leaseMarginMs: 60_000,
  parentCheckMs: 300_000,
  maxTransitionsPerTurn: 500,
  maxTransitionsPerExecution: 2_000,
  inlineHandoffMinMs: 60_000,
};
