import { ConcurrentUpdateError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { storedCopy } from '../stored-copy.js';
import {
  checkRefusal,
  idempotencyConflict,
  isOtherRequest,
  isTerminal,
  summaryOf,
  type Execution,
  type ExecutionPage,
  type ExecutionRefusal,
  type ExecutionSignal,
  type ExecutionStore,
  type RateControl,
  type RateCounters,
  type TargetLimits,
} from './execution.js';

/** Page size of `list` when the caller gives none, and the largest one it accepts. */
export const EXECUTION_PAGE_DEFAULT = 50;
export const EXECUTION_PAGE_MAX = 1000;

/**
 * Which stored signal a returned signal object is, so that `save` removes exactly the ones consumed. Kept beside
 * the objects rather than on them: ExecutionSignal stays the plain type callers know.
 */
const signalIdentity = new WeakMap<ExecutionSignal, { executionId: string; id: number }>();

interface StoredSignal {
  id: number;
  signal: ExecutionSignal;
}

interface StoredCounters extends RateCounters {
  /** Set by stopTargets: nothing more may be reserved. */
  stopped?: boolean;
  finished: Set<number>;
}

/**
 * ExecutionStore in memory, behaving as the DynamoDB store does (one contract suite runs against both): copies in
 * and out, optimistic versions, signals kept apart from the execution, atomic rate counters, the due order and
 * newest-first paging. For core unit tests and the local engine's tests.
 *
 * Like the DynamoDB store, `list` shows the summary of each execution as it was last saved (its `counters`
 * included), while `get` shows the live rate counters; an idempotency key reused with another `requestHash` is a
 * ConflictError; refused starts are kept and listed newest first. Unlike it, nothing expires (no TTL) and listings
 * have no horizon: tests that need either use the DynamoDB store on localcloud.
 *
 * @example
 * ```ts
 * const store = new InMemoryExecutionStore();
 * await store.create(execution);
 * const { execution: current, signals } = (await store.get(execution.executionId))!;
 * await store.save({ ...current, status: 'InProgress', version: current.version + 1 }, signals);
 * ```
 */
export class InMemoryExecutionStore implements ExecutionStore {
  private readonly executions = new Map<string, Execution>();
  private readonly signals = new Map<string, StoredSignal[]>();
  private readonly counters = new Map<string, StoredCounters>();
  private readonly refusals: { seq: number; refusal: ExecutionRefusal }[] = [];
  private nextSignalId = 1;

  create(execution: Execution): Promise<{ created: boolean; execution: Execution }> {
    // The caller derives the ID from the idempotency key: an existing ID is the same trigger delivered again.
    const existing = this.executions.get(execution.executionId);
    if (existing) {
      if (isOtherRequest(existing, execution)) return Promise.reject(idempotencyConflict(existing));
      return Promise.resolve({ created: false, execution: this.withCounters(existing) });
    }
    try {
      checkItemSize(execution);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const stored = storedCopy({ ...execution, version: 1 });
    this.executions.set(stored.executionId, stored);
    return Promise.resolve({ created: true, execution: structuredClone(stored) });
  }

  get(executionId: string): Promise<{ execution: Execution; signals: ExecutionSignal[] } | undefined> {
    const stored = this.executions.get(executionId);
    if (!stored) return Promise.resolve(undefined);
    const signals = (this.signals.get(executionId) ?? []).map(({ id, signal }) => {
      const copy = structuredClone(signal);
      signalIdentity.set(copy, { executionId, id });
      return copy;
    });
    return Promise.resolve({ execution: this.withCounters(stored), signals });
  }

  save(execution: Execution, consumedSignals: readonly ExecutionSignal[] = []): Promise<void> {
    try {
      checkItemSize(execution);
      const consumed = new Set(consumedSignals.map((s) => consumedSignalId(execution.executionId, s, signalIdentity.get(s))));
      const stored = this.executions.get(execution.executionId);
      if (!stored || stored.version !== execution.version - 1) {
        throw new ConcurrentUpdateError(`execution ${execution.executionId} is not at version ${execution.version - 1}`);
      }
      this.executions.set(execution.executionId, storedCopy(execution));
      const left = (this.signals.get(execution.executionId) ?? []).filter((s) => !consumed.has(s.id));
      this.signals.set(execution.executionId, left);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  signal(executionId: string, signal: ExecutionSignal): Promise<void> {
    if (!this.executions.has(executionId)) return Promise.reject(new NotFoundError(`no execution ${executionId}`));
    const list = this.signals.get(executionId) ?? [];
    list.push({ id: this.nextSignalId++, signal: storedCopy(signal) });
    // In the order they were sent at, as the DynamoDB store's sort key `signal#<at>#…` keeps them.
    list.sort((a, b) => compare(isoOf(a.signal.at), isoOf(b.signal.at)) || a.id - b.id);
    this.signals.set(executionId, list);
    return Promise.resolve();
  }

  listDue(now: Date, limit: number): Promise<string[]> {
    if (limit <= 0) return Promise.resolve([]);
    const due = [...this.executions.values()]
      .filter((e) => !isTerminal(e.status) || e.outbox !== undefined)
      .map((e) => ({ id: e.executionId, key: `${dueAt(e)}#${e.executionId}`, at: dueAt(e) }))
      .filter((e) => e.at <= now.toISOString())
      .sort((a, b) => compare(a.key, b.key));
    return Promise.resolve(due.slice(0, limit).map((e) => e.id));
  }

  list(options: { limit?: number; nextToken?: string; parentExecutionId?: string } = {}): Promise<ExecutionPage> {
    try {
      const limit = pageLimit(options.limit);
      const after = options.nextToken === undefined ? undefined : decodeToken(options.nextToken);
      const newestFirst = [...this.executions.values()]
        .filter((e) => e.parentExecutionId === options.parentExecutionId)
        .map((e) => ({ key: listKey(e), execution: e }))
        .filter((e) => after === undefined || e.key < after)
        .sort((a, b) => compare(b.key, a.key));
      const page = newestFirst.slice(0, limit);
      const last = page.at(-1);
      return Promise.resolve({
        executions: page.map((e) => summaryOf(e.execution)),
        ...(newestFirst.length > limit && last ? { nextToken: encodeToken(last.key) } : {}),
      });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  recordRefusal(refusal: ExecutionRefusal): Promise<void> {
    try {
      checkRefusal(refusal);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    this.refusals.push({ seq: this.refusals.length, refusal: storedCopy(refusal) });
    return Promise.resolve();
  }

  listRefusals(options: { limit?: number } = {}): Promise<ExecutionRefusal[]> {
    try {
      const limit = pageLimit(options.limit);
      const newestFirst = [...this.refusals].sort((a, b) => compare(isoOf(b.refusal.at), isoOf(a.refusal.at)) || b.seq - a.seq);
      return Promise.resolve(newestFirst.slice(0, limit).map((r) => structuredClone(r.refusal)));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  reserveTarget(parentExecutionId: string, rate: Pick<RateControl, 'concurrencyLimit' | 'errorLimit'> & { total: number }): Promise<number | undefined> {
    const c = this.counters.get(parentExecutionId) ?? { launched: 0, running: 0, succeeded: 0, failed: 0, finished: new Set<number>() };
    if (c.stopped || !(c.running < rate.concurrencyLimit && c.failed <= rate.errorLimit && c.launched < rate.total)) return Promise.resolve(undefined);
    const index = c.launched;
    c.launched++;
    c.running++;
    this.counters.set(parentExecutionId, c);
    return Promise.resolve(index);
  }

  finishTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed'): Promise<RateCounters> {
    if (!Number.isInteger(targetIndex) || targetIndex < 0) return Promise.reject(new ValidationError(`target index ${targetIndex} is not a whole number`, 'targetIndex'));
    const c = this.counters.get(parentExecutionId);
    if (!c || targetIndex >= c.launched) return Promise.reject(new ConflictError(`target ${targetIndex} of execution ${parentExecutionId} was never reserved`));
    if (!c.finished.has(targetIndex)) {
      c.finished.add(targetIndex);
      c.running--;
      c[outcome]++;
    }
    return Promise.resolve(countersOf(c));
  }

  pendingSignals(executionId: string): Promise<ExecutionSignal[]> {
    return this.get(executionId).then((loaded) => loaded?.signals ?? []);
  }

  clearOutbox(execution: Execution): Promise<void> {
    const stored = this.executions.get(execution.executionId);
    if (stored && stored.version === execution.version) {
      delete stored.outbox;
      delete stored.outboxRetryAt;
    }
    return Promise.resolve();
  }

  finishAndReserveTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed', limits: TargetLimits): Promise<RateCounters & { reserved?: number }> {
    const c = this.counters.get(parentExecutionId);
    const failedAfter = (c?.failed ?? 0) + (outcome === 'failed' ? 1 : 0);
    if (!c || c.finished.has(targetIndex) || targetIndex >= c.launched || c.stopped || c.launched >= limits.total || failedAfter > limits.errorLimit) {
      return this.finishTarget(parentExecutionId, targetIndex, outcome);
    }
    // The ending child's slot goes to the next target: running stays as it is.
    c.finished.add(targetIndex);
    c[outcome]++;
    const reserved = c.launched;
    c.launched++;
    return Promise.resolve({ ...countersOf(c), reserved });
  }

  stopTargets(parentExecutionId: string): Promise<void> {
    const c = this.counters.get(parentExecutionId) ?? { launched: 0, running: 0, succeeded: 0, failed: 0, finished: new Set<number>() };
    c.stopped = true;
    this.counters.set(parentExecutionId, c);
    return Promise.resolve();
  }

  private withCounters(stored: Execution): Execution {
    const execution = structuredClone(stored);
    const c = this.counters.get(stored.executionId);
    if (c) execution.counters = countersOf(c);
    return execution;
  }
}

/**
 * The stored identity of a signal handed to `save`; throws ValidationError for a signal that did not come from
 * `get` of this execution (a copy loses its identity), before anything is written.
 */
function consumedSignalId(executionId: string, signal: ExecutionSignal, identity: { executionId: string; id: number } | undefined): number {
  if (!identity || identity.executionId !== executionId) {
    throw new ValidationError(`a consumed ${signal.kind} signal was not read by get(${executionId}); pass the signal objects get returned`, 'consumedSignals');
  }
  return identity.id;
}

/** DynamoDB refuses an item over 400 KB; so does this store (its JSON as the measure), so that tests see it too. */
function checkItemSize(execution: Execution): void {
  const size = Buffer.byteLength(JSON.stringify(execution));
  if (size > 400 * 1024) throw new ValidationError(`Item size has exceeded the maximum allowed size (${size} bytes)`, 'execution');
}

const countersOf = (c: RateCounters): RateCounters => ({ launched: c.launched, running: c.running, succeeded: c.succeeded, failed: c.failed });

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A timestamp in the one ISO form (`…T00:00:00.000Z`) that sorts as a string; anything unparsable as it is. */
function isoOf(at: string): string {
  const t = Date.parse(at);
  return Number.isNaN(t) ? at : new Date(t).toISOString();
}

/**
 * When a worker should look at an execution: an unfinished one at its wake-up or lease end, whichever is later, else at
 * once; one whose outbox waits to be published no later than its retry time.
 */
function dueAt(e: Pick<Execution, 'wakeAt' | 'leaseUntil' | 'createdAt' | 'status' | 'outboxRetryAt'>): string {
  const times = [e.wakeAt, e.leaseUntil].filter((t): t is string => t !== undefined).map(isoOf);
  const work = isTerminal(e.status) ? undefined : times.length > 0 ? times.reduce((a, b) => (a > b ? a : b)) : isoOf(e.createdAt);
  const outbox = e.outboxRetryAt === undefined ? undefined : isoOf(e.outboxRetryAt);
  return [work, outbox].filter((t): t is string => t !== undefined).reduce((a, b) => (a < b ? a : b));
}

const listKey = (e: Pick<Execution, 'createdAt' | 'executionId'>) => `${isoOf(e.createdAt)}#${e.executionId}`;

function pageLimit(limit: number | undefined): number {
  const n = limit ?? EXECUTION_PAGE_DEFAULT;
  if (!Number.isInteger(n) || n < 1 || n > EXECUTION_PAGE_MAX) throw new ValidationError(`limit must be a whole number from 1 to ${EXECUTION_PAGE_MAX}`, 'limit');
  return n;
}

function encodeToken(key: string): string {
  return btoa(encodeURIComponent(JSON.stringify({ after: key })))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(decodeURIComponent(atob(token.replace(/-/g, '+').replace(/_/g, '/')))) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { after?: unknown }).after === 'string') return (parsed as { after: string }).after;
  } catch {
    // Reported below, as any other token that is not one of ours.
  }
  throw new ValidationError('nextToken is not a token this listing returned', 'nextToken');
}
