import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import {
  ConcurrentUpdateError,
  ConflictError,
  EXECUTION_PAGE_DEFAULT,
  EXECUTION_PAGE_MAX,
  NotFoundError,
  ValidationError,
  isTerminal,
  type Execution,
  type ExecutionPage,
  type ExecutionSignal,
  type ExecutionStore,
  type RateControl,
  type RateCounters,
  type TargetLimits,
} from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';
import { pick } from '../items.js';

const EXECUTION_TYPE = 'runbook-execution';
const SIGNAL_TYPE = 'runbook-signal';
const COUNTERS_TYPE = 'runbook-counters';
const EXECUTION_SK = 'execution';
const COUNTERS_SK = 'counters';
const SIGNAL_PREFIX = 'signal#';
/** gsi1 partition of top-level executions; children are listed under their parent's partition. */
const TOP_LEVEL_PK = 'runbooks';
/** gsi2 partition of unfinished executions, sorted by when they are due. */
const DUE_PK = 'runbook-due';
/** BatchWriteItem takes at most 25 writes a call. */
const BATCH_WRITE_MAX = 25;

const executionPk = (executionId: string) => `runbook#${executionId}`;
const childrenPk = (parentExecutionId: string) => `runbook-children#${parentExecutionId}`;
const listPk = (parentExecutionId: string | undefined) => (parentExecutionId === undefined ? TOP_LEVEL_PK : childrenPk(parentExecutionId));

/**
 * Which stored item a returned signal object is, so that `save` deletes exactly the ones consumed. Kept beside the
 * objects rather than on them: ExecutionSignal stays the plain type callers know.
 */
const signalKeys = new WeakMap<ExecutionSignal, { executionId: string; sk: string }>();

export interface DynamoExecutionStoreOptions {
  /** Retries of BatchWriteItem's UnprocessedItems (signal deletions): attempts in all, and the first back-off. */
  batchRetry?: { maxAttempts: number; baseDelayMs: number };
}

/**
 * ExecutionStore in the single table. One partition per execution, `pk = runbook#<executionId>`:
 * - `sk = execution` (`type = runbook-execution`): every Execution field as an attribute (the runbook document too)
 *   and `version`, the optimistic lock. Listed through gsi1: `gsi1pk = runbooks` for a top-level execution,
 *   `runbook-children#<parentExecutionId>` for a child, `gsi1sk = <createdAt>#<executionId>` (read newest first).
 *   Due through the sparse gsi2 while not terminal: `gsi2pk = runbook-due`, `gsi2sk = <dueAt>#<executionId>`,
 *   dueAt being the later of `wakeAt` and `leaseUntil` when either is set, else `createdAt` (a created execution
 *   nobody picked up is due at once). A terminal execution carries no gsi2 attributes and leaves the index.
 * - `sk = signal#<at>#<random>` (`type = runbook-signal`): one signal sent from outside, in attribute `signal`.
 *   Signals are never written into the execution item, so a worker saving the execution cannot lose one sent
 *   while it ran; `save` deletes those it consumed, after the execution write.
 * - `sk = counters` (`type = runbook-counters`), rate-controlled parents only: `launched`, `running`, `succeeded`,
 *   `failed` and the number set `finished` (target indexes already reported). Updated only by `reserveTarget` and
 *   `finishTarget`, each one conditional UpdateItem; `save` never touches it, and `get` puts it into `counters`.
 *
 * Timestamps in keys are normalised to `toISOString()` form so that they sort as strings.
 *
 * Single-item conditional writes only (dynalite, under localcloud, has no transactions), and few of them, since a
 * step transition is counted in calls: create = 1 PutItem (conditional on the ID being new: the caller derives the
 * ID from the idempotency key, so a lost race means the execution exists and is returned); save = 1 PutItem
 * conditional on the version read (+1 BatchWriteItem only when signals were consumed); get = 1 Query of the
 * partition; reserve and finish = 1 UpdateItem each; signal = 1 GetItem + 1 PutItem. No read precedes a write.
 *
 * Consequences: a crash between save and the signal deletion leaves consumed signals to be seen again, so acting on
 * a signal must be idempotent; `list` reads the gsi1 projection, so its executions show `counters` as last saved,
 * where `get` shows them live; an execution item (runbook, steps, outputs) must stay under DynamoDB's 400 KB.
 *
 * @example
 * ```ts
 * const store = new DynamoExecutionStore(clients, tableName('opsauto', 'prod'));
 * const { execution } = await store.create(newExecution);
 * const due = await store.listDue(clock.now(), 25);
 * ```
 */
export class DynamoExecutionStore implements ExecutionStore {
  private readonly retry: { maxAttempts: number; baseDelayMs: number };

  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
    options: DynamoExecutionStoreOptions = {},
  ) {
    this.retry = options.batchRetry ?? { maxAttempts: 8, baseDelayMs: 50 };
  }

  async create(execution: Execution): Promise<{ created: boolean; execution: Execution }> {
    const stored = withoutUndefined({ ...execution, version: 1 });
    try {
      await this.clients.dynamo().send(new PutCommand({ TableName: this.tableName, Item: toItem(stored), ConditionExpression: 'attribute_not_exists(pk)' }));
      return { created: true, execution: structuredClone(stored) };
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
    const existing = await this.get(execution.executionId);
    if (!existing) throw new Error(`execution ${execution.executionId} exists and could not be read`);
    return { created: false, execution: existing.execution };
  }

  async get(executionId: string): Promise<{ execution: Execution; signals: ExecutionSignal[] } | undefined> {
    let execution: Execution | undefined;
    let counters: RateCounters | undefined;
    const signals: ExecutionSignal[] = [];
    let start: Record<string, unknown> | undefined;
    // One Query in practice; more only when pending signals fill a 1 MB page.
    do {
      const out = await this.clients.dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': executionPk(executionId) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const sk = item.sk as string;
        if (sk === EXECUTION_SK) execution = toExecution(item);
        else if (sk === COUNTERS_SK) counters = toCounters(item);
        else if (sk.startsWith(SIGNAL_PREFIX)) {
          const signal = item.signal as ExecutionSignal;
          signalKeys.set(signal, { executionId, sk });
          signals.push(signal);
        }
      }
      start = out.LastEvaluatedKey;
    } while (start);
    if (!execution) return undefined;
    if (counters) execution.counters = counters;
    return { execution, signals };
  }

  async save(execution: Execution, consumedSignals: readonly ExecutionSignal[] = []): Promise<void> {
    // Checked before the write: a signal we cannot name would be left to be acted on twice.
    const consumed = [...new Set(consumedSignals.map((s) => consumedSignalSk(execution.executionId, s)))];
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(withoutUndefined(execution)),
          ConditionExpression: '#version = :previous',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':previous': execution.version - 1 },
        }),
      );
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) {
        throw new ConcurrentUpdateError(`execution ${execution.executionId} is not at version ${execution.version - 1}`);
      }
      throw e;
    }
    const pk = executionPk(execution.executionId);
    for (let i = 0; i < consumed.length; i += BATCH_WRITE_MAX) {
      await this.writeBatch(consumed.slice(i, i + BATCH_WRITE_MAX).map((sk) => ({ DeleteRequest: { Key: { pk, sk } } })));
    }
  }

  async signal(executionId: string, signal: ExecutionSignal): Promise<void> {
    const pk = executionPk(executionId);
    const found = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk, sk: EXECUTION_SK }, ProjectionExpression: 'pk', ConsistentRead: true }));
    if (!found.Item) throw new NotFoundError(`no execution ${executionId}`);
    await this.clients.dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk, sk: `${SIGNAL_PREFIX}${isoOf(signal.at)}#${randomUUID()}`, type: SIGNAL_TYPE, executionId, createdAt: signal.at, signal: withoutUndefined(signal) },
      }),
    );
  }

  async listDue(now: Date, limit: number): Promise<string[]> {
    const ids: string[] = [];
    if (limit <= 0) return ids;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.clients.dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi2',
          // `<iso>$` sorts after `<iso>#<any ID>` ('$' follows '#') and before any later time: due at or before now.
          KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk < :bound',
          ExpressionAttributeValues: { ':pk': DUE_PK, ':bound': `${now.toISOString()}$` },
          ProjectionExpression: 'executionId',
          Limit: limit - ids.length,
          ExclusiveStartKey: start,
        }),
      );
      ids.push(...(out.Items ?? []).map((item) => item.executionId as string));
      start = out.LastEvaluatedKey;
    } while (start && ids.length < limit);
    return ids;
  }

  async list(options: { limit?: number; nextToken?: string; parentExecutionId?: string } = {}): Promise<ExecutionPage> {
    const limit = pageLimit(options.limit);
    const gsi1pk = listPk(options.parentExecutionId);
    let start: Record<string, unknown> | undefined;
    if (options.nextToken !== undefined) {
      const after = decodeToken(options.nextToken);
      start = { pk: executionPk(after.id), sk: EXECUTION_SK, gsi1pk, gsi1sk: `${after.createdAt}#${after.id}` };
    }
    // One more than the page: a next token only when there is a next execution, never a token to an empty page.
    const items: Record<string, unknown>[] = [];
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': gsi1pk },
        ScanIndexForward: false,
        Limit: limit + 1 - items.length,
        ExclusiveStartKey: start,
      };
      const out = await this.clients.dynamo().send(new QueryCommand(input));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length <= limit);
    const executions = items.slice(0, limit).map(toExecution);
    const last = executions.at(-1);
    return { executions, ...(items.length > limit && last ? { nextToken: encodeToken({ createdAt: isoOf(last.createdAt), id: last.executionId }) } : {}) };
  }

  async reserveTarget(parentExecutionId: string, rate: Pick<RateControl, 'concurrencyLimit' | 'errorLimit'> & { total: number }): Promise<number | undefined> {
    // What the condition would ask of counters that do not exist yet (all 0): no call when even that fails.
    if (!(rate.concurrencyLimit > 0 && rate.errorLimit >= 0 && rate.total > 0)) return undefined;
    try {
      const out = await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: executionPk(parentExecutionId), sk: COUNTERS_SK },
          UpdateExpression: 'ADD launched :one, running :one SET succeeded = if_not_exists(succeeded, :zero), failed = if_not_exists(failed, :zero), #type = :type',
          ConditionExpression: 'attribute_not_exists(pk) OR (running < :concurrency AND failed <= :errors AND launched < :total AND attribute_not_exists(stopped))',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':type': COUNTERS_TYPE, ':concurrency': rate.concurrencyLimit, ':errors': rate.errorLimit, ':total': rate.total },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return (out.Attributes?.launched as number) - 1;
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) return undefined;
      throw e;
    }
  }

  async finishTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed'): Promise<RateCounters> {
    if (!Number.isInteger(targetIndex) || targetIndex < 0) throw new ValidationError(`target index ${targetIndex} is not a whole number`, 'targetIndex');
    const Key = { pk: executionPk(parentExecutionId), sk: COUNTERS_SK };
    try {
      const out = await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'ADD running :minusOne, #outcome :one, finished :index',
          ConditionExpression: 'launched > :i AND (attribute_not_exists(finished) OR NOT contains(finished, :i))',
          ExpressionAttributeNames: { '#outcome': outcome },
          ExpressionAttributeValues: { ':minusOne': -1, ':one': 1, ':i': targetIndex, ':index': new Set([targetIndex]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toCounters(out.Attributes ?? {});
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
    // Reported before (idempotent: the counters as they are), or never reserved.
    const current = (await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }))).Item;
    const finished = current?.finished as Set<number> | undefined;
    if (!current || !finished?.has(targetIndex)) throw new ConflictError(`target ${targetIndex} of execution ${parentExecutionId} was never reserved`);
    return toCounters(current);
  }

  async finishAndReserveTarget(parentExecutionId: string, targetIndex: number, outcome: 'succeeded' | 'failed', limits: TargetLimits): Promise<RateCounters & { reserved?: number }> {
    // Failures allowed before this one for a reservation to stay within MaxErrors once it is counted.
    const failedBefore = limits.errorLimit - (outcome === 'failed' ? 1 : 0);
    if (!Number.isInteger(targetIndex) || targetIndex < 0 || failedBefore < 0 || limits.total <= 0) return this.finishTarget(parentExecutionId, targetIndex, outcome);
    try {
      // The ending child's slot goes to the next target: `running` stays as it is.
      const out = await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: executionPk(parentExecutionId), sk: COUNTERS_SK },
          UpdateExpression: 'ADD #outcome :one, finished :index, launched :one',
          ConditionExpression:
            'launched > :i AND (attribute_not_exists(finished) OR NOT contains(finished, :i)) AND launched < :total AND failed <= :failedBefore AND attribute_not_exists(stopped)',
          ExpressionAttributeNames: { '#outcome': outcome },
          ExpressionAttributeValues: { ':one': 1, ':i': targetIndex, ':index': new Set([targetIndex]), ':total': limits.total, ':failedBefore': failedBefore },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const counters = toCounters(out.Attributes ?? {});
      return { ...counters, reserved: counters.launched - 1 };
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
    // Already reported, or no next target may start: the end alone.
    return this.finishTarget(parentExecutionId, targetIndex, outcome);
  }

  async stopTargets(parentExecutionId: string): Promise<void> {
    await this.clients.dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: executionPk(parentExecutionId), sk: COUNTERS_SK },
        UpdateExpression: 'SET stopped = :yes, #type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':yes': true, ':type': COUNTERS_TYPE },
      }),
    );
  }

  async pendingSignals(executionId: string): Promise<ExecutionSignal[]> {
    const signals: ExecutionSignal[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.clients.dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :signal)',
          ExpressionAttributeValues: { ':pk': executionPk(executionId), ':signal': SIGNAL_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const signal = item.signal as ExecutionSignal;
        signalKeys.set(signal, { executionId, sk: item.sk as string });
        signals.push(signal);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return signals;
  }

  async clearOutbox(execution: Execution): Promise<void> {
    const due = dueKeys({ ...execution, outbox: undefined, outboxRetryAt: undefined });
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: executionPk(execution.executionId), sk: EXECUTION_SK },
          // The due-index entry goes back to what the execution itself is due for (none once it has ended).
          UpdateExpression: due ? 'REMOVE outbox, outboxRetryAt SET gsi2pk = :gsi2pk, gsi2sk = :gsi2sk' : 'REMOVE outbox, outboxRetryAt, gsi2pk, gsi2sk',
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':version': execution.version, ...(due ? { ':gsi2pk': due.gsi2pk, ':gsi2sk': due.gsi2sk } : {}) },
        }),
      );
    } catch (e) {
      // A newer version was written: its outbox is its own.
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }

  /** Sends one batch, resending what DynamoDB left unprocessed after a jittered exponential back-off. */
  private async writeBatch(batch: Record<string, unknown>[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const out = await this.clients.dynamo().send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = (out.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
      if (pending.length === 0) return;
      if (attempt >= this.retry.maxAttempts) {
        throw new Error(`BatchWriteItem on ${this.tableName} left ${pending.length} of ${batch.length} signal deletions unprocessed after ${attempt} attempts`);
      }
      const ceiling = Math.min(2_000, this.retry.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}

/** The item of an execution: its fields, its keys, and the due-index keys while it is unfinished. */
function toItem(execution: Execution): Record<string, unknown> {
  const item: Record<string, unknown> = {
    ...execution,
    pk: executionPk(execution.executionId),
    sk: EXECUTION_SK,
    type: EXECUTION_TYPE,
    gsi1pk: listPk(execution.parentExecutionId),
    gsi1sk: `${isoOf(execution.createdAt)}#${execution.executionId}`,
  };
  return { ...item, ...dueKeys(execution) };
}

/** The due-index keys: while unfinished, and while events wait in the outbox. */
function dueKeys(execution: Execution): { gsi2pk: string; gsi2sk: string } | undefined {
  const at = dueAt(execution);
  return at === undefined ? undefined : { gsi2pk: DUE_PK, gsi2sk: `${at}#${execution.executionId}` };
}

/** The sort key of a signal handed to `save`; ValidationError for one that `get` of this execution did not return. */
function consumedSignalSk(executionId: string, signal: ExecutionSignal): string {
  const key = signalKeys.get(signal);
  if (!key || key.executionId !== executionId) {
    throw new ValidationError(`a consumed ${signal.kind} signal was not read by get(${executionId}); pass the signal objects get returned`, 'consumedSignals');
  }
  return key.sk;
}

/** Every Execution field: typed as a record so that a field added to Execution and not here (written, never read back) fails to compile. */
const EXECUTION_FIELDS: Record<keyof Execution, true> = {
  executionId: true,
  documentName: true,
  documentVersion: true,
  runbook: true,
  parameters: true,
  status: true,
  accountId: true,
  region: true,
  assumeRole: true,
  createdAt: true,
  startedAt: true,
  endedAt: true,
  currentStep: true,
  steps: true,
  outputs: true,
  failureMessage: true,
  wakeAt: true,
  leaseUntil: true,
  idempotencyKey: true,
  parentExecutionId: true,
  target: true,
  targetIndex: true,
  rateControl: true,
  counters: true,
  triggeredBy: true,
  version: true,
  parentRate: true,
  requestHash: true,
  transitions: true,
  omittedSteps: true,
  stepOutputs: true,
  failedCritical: true,
  outbox: true,
  outboxRetryAt: true,
};
const EXECUTION_KEYS = Object.keys(EXECUTION_FIELDS);

const toExecution = (item: Record<string, unknown>) => pick<Execution>(item, EXECUTION_KEYS);

function toCounters(item: Record<string, unknown>): RateCounters {
  const n = (key: string) => (typeof item[key] === 'number' ? item[key] : 0);
  return { launched: n('launched'), running: n('running'), succeeded: n('succeeded'), failed: n('failed') };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A timestamp in the one ISO form (`…T00:00:00.000Z`) that sorts as a string; anything unparsable as it is. */
function isoOf(at: string): string {
  const t = Date.parse(at);
  return Number.isNaN(t) ? at : new Date(t).toISOString();
}

/**
 * When a worker should look at an execution: an unfinished one at its wake-up or lease end, whichever is later, else
 * at once; one whose outbox waits to be published no later than its retry time; otherwise never (undefined).
 */
function dueAt(e: Pick<Execution, 'wakeAt' | 'leaseUntil' | 'createdAt' | 'status' | 'outboxRetryAt'>): string | undefined {
  const times = [e.wakeAt, e.leaseUntil].filter((t): t is string => t !== undefined).map(isoOf);
  const work = isTerminal(e.status) ? undefined : times.length > 0 ? times.reduce((a, b) => (a > b ? a : b)) : isoOf(e.createdAt);
  const outbox = e.outboxRetryAt === undefined ? undefined : isoOf(e.outboxRetryAt);
  return work === undefined ? outbox : outbox === undefined || work < outbox ? work : outbox;
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? EXECUTION_PAGE_DEFAULT;
  if (!Number.isInteger(n) || n < 1 || n > EXECUTION_PAGE_MAX) throw new ValidationError(`limit must be a whole number from 1 to ${EXECUTION_PAGE_MAX}`, 'limit');
  return n;
}

/** Opaque to callers: base64url JSON of where the page ended (the last execution's creation time and ID). */
function encodeToken(after: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify({ c: after.createdAt, i: after.id }), 'utf8').toString('base64url');
}

function decodeToken(token: string): { createdAt: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown } | null;
    if (typeof parsed?.c === 'string' && typeof parsed.i === 'string' && parsed.c !== '' && parsed.i !== '') return { createdAt: parsed.c, id: parsed.i };
  } catch {
    // Reported below, as any other token that is not one of ours.
  }
  throw new ValidationError('nextToken is not a token this listing returned', 'nextToken');
}
