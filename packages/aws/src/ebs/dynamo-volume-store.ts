import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { mapBounded, type Clock, type RegionClaim, type RegionScanState, type ScanRunSummary, type VolumeRecord, type VolumeStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';
import { pick } from '../items.js';

const RECORD_TYPE = 'ebs-volume';
const REGION_TYPE = 'ebs-region-scan';
const RUN_TYPE = 'ebs-scan-run';
/** The partition of every run summary, sorted by `<startedAt>#<runId>`: one write a day needs no spreading. */
const RUNS_PK = 'volrun';

/** BatchWriteItem takes at most 25 puts and deletes a call. */
export const BATCH_WRITE_MAX = 25;
/** Batches of one put / delete in flight at the same time. */
const BATCH_CONCURRENCY = 8;

const volumesPk = (account: string, region: string) => `vol#${account}#${region}`;
const regionPk = (account: string, region: string) => `volscan#${account}#${region}`;
const runSk = (r: Pick<ScanRunSummary, 'startedAt' | 'runId'>) => `${r.startedAt}#${r.runId}`;
const recordKey = (r: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>) => ({ pk: volumesPk(r.account, r.region), sk: r.volumeId });

export interface DynamoVolumeStoreOptions {
  /** Stamps `updatedAt` on written records; pass the scan's clock (virtual under localcloud). Default: the system clock. */
  clock?: Clock;
  /** Run summaries expire (TTL) this many days after they started. Default 365. */
  runRetentionDays?: number;
  /** Retries of BatchWriteItem's UnprocessedItems: attempts in all, and the first back-off (doubling, jittered, at most 2 s). */
  batchRetry?: { maxAttempts: number; baseDelayMs: number };
}

/**
 * VolumeStore in the single table:
 * - volume records, one partition per account and region: `pk = vol#<account>#<region>`, `sk = <volumeId>`;
 * - region scan state and the region's scan lease (`leaseHolder`, `leaseUntil`): `pk = volscan#<account>#<region>`, `sk = state`;
 * - run summaries: `pk = volrun`, `sk = <startedAt>#<runId>`, newest last, expiring after `runRetentionDays`.
 *
 * Writes are kept few, since a scan is counted in calls: records (new ones and filings) and deletions go 25 to a
 * BatchWriteItem, an empty batch costs nothing, and the region state and the run summary are one write each.
 * Records are written whole, in batches, which take no condition: the region's scan lease (one conditional write at
 * the start of a region's scan) keeps a second scan from writing them at the same time, and OpsCenter's dedup keeps
 * filing to once.
 *
 * @example
 * ```ts
 * const store = new DynamoVolumeStore(clients, tableName('opsauto', 'prod'), { clock });
 * await store.put(records);
 * ```
 */
export class DynamoVolumeStore implements VolumeStore {
  private readonly clock: Clock;
  private readonly retry: { maxAttempts: number; baseDelayMs: number };

  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
    private readonly options: DynamoVolumeStoreOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => new Date() };
    this.retry = options.batchRetry ?? { maxAttempts: 8, baseDelayMs: 50 };
  }

  async listRecords(account: string, region: string): Promise<VolumeRecord[]> {
    const records: VolumeRecord[] = [];
    const pages = paginateQuery(
      { client: this.clients.dynamo() },
      { TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': volumesPk(account, region) }, ConsistentRead: true },
    );
    for await (const page of pages) records.push(...(page.Items ?? []).map(toRecord));
    return records;
  }

  async put(records: VolumeRecord[]): Promise<void> {
    // One request may not name a key twice; the last record given for a volume wins, as in memory.
    const unique = new Map(records.map((r) => [`${volumesPk(r.account, r.region)}#${r.volumeId}`, r]));
    const now = this.clock.now().toISOString();
    await this.batchWrite(
      [...unique.values()].map((r) => ({
        PutRequest: { Item: { ...withoutUndefined(r), ...recordKey(r), type: RECORD_TYPE, createdAt: r.firstSeenAt, updatedAt: now } },
      })),
    );
  }

  async delete(records: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>[]): Promise<void> {
    const unique = new Map(records.map((r) => [`${volumesPk(r.account, r.region)}#${r.volumeId}`, r]));
    await this.batchWrite([...unique.values()].map((r) => ({ DeleteRequest: { Key: recordKey(r) } })));
  }

  async getRegionState(account: string, region: string): Promise<RegionScanState | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk: regionPk(account, region), sk: 'state' }, ConsistentRead: true }));
    // A region whose first scan holds the lease but has not finished has no state yet.
    if (!out.Item?.firstScanAt) return undefined;
    const { firstScanAt, lastScanAt } = out.Item as { firstScanAt: string; lastScanAt: string };
    return { account, region, firstScanAt, lastScanAt };
  }

  async putRegionState(state: RegionScanState): Promise<void> {
    await this.clients.dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: regionPk(state.account, state.region), sk: 'state' },
        UpdateExpression: 'SET #type = :type, #createdAt = if_not_exists(#createdAt, :firstScanAt), #updatedAt = :lastScanAt, #account = :account, #region = :region, #firstScanAt = :firstScanAt, #lastScanAt = :lastScanAt',
        ExpressionAttributeNames: { '#type': 'type', '#createdAt': 'createdAt', '#updatedAt': 'updatedAt', '#account': 'account', '#region': 'region', '#firstScanAt': 'firstScanAt', '#lastScanAt': 'lastScanAt' },
        ExpressionAttributeValues: { ':type': REGION_TYPE, ':account': state.account, ':region': state.region, ':firstScanAt': state.firstScanAt, ':lastScanAt': state.lastScanAt },
      }),
    );
  }

  async claimRegion(account: string, region: string, holder: string, until: Date, now: Date): Promise<RegionClaim> {
    const Key = { pk: regionPk(account, region), sk: 'state' };
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET #type = :type, #leaseHolder = :holder, #leaseUntil = :until',
          ConditionExpression: 'attribute_not_exists(#leaseUntil) OR #leaseUntil < :now OR #leaseHolder = :holder',
          ExpressionAttributeNames: { '#type': 'type', '#leaseHolder': 'leaseHolder', '#leaseUntil': 'leaseUntil' },
          ExpressionAttributeValues: { ':type': REGION_TYPE, ':holder': holder, ':until': until.toISOString(), ':now': now.toISOString() },
        }),
      );
      return { claimed: true };
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
      // dynalite ignores ReturnValuesOnConditionCheckFailure: read who holds it.
      const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      return { claimed: false, holder: String(out.Item?.leaseHolder), until: String(out.Item?.leaseUntil) };
    }
  }

  async releaseRegion(account: string, region: string, holder: string): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: regionPk(account, region), sk: 'state' },
          UpdateExpression: 'REMOVE #leaseHolder, #leaseUntil',
          ConditionExpression: '#leaseHolder = :holder',
          ExpressionAttributeNames: { '#leaseHolder': 'leaseHolder', '#leaseUntil': 'leaseUntil' },
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (e) {
      // Taken over after it ran out: the lease is the new holder's now.
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }

  async putRun(summary: ScanRunSummary): Promise<void> {
    const retentionDays = this.options.runRetentionDays ?? 365;
    const expiresAt = Math.floor(Date.parse(summary.startedAt) / 1000) + retentionDays * 86_400;
    await this.clients.dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...summary, pk: RUNS_PK, sk: runSk(summary), type: RUN_TYPE, createdAt: summary.startedAt, updatedAt: summary.finishedAt, expiresAt },
      }),
    );
  }

  async listRuns(limit: number): Promise<ScanRunSummary[]> {
    const runs: ScanRunSummary[] = [];
    let start: Record<string, unknown> | undefined;
    while (runs.length < limit) {
      const out = await this.clients.dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': RUNS_PK },
          ScanIndexForward: false,
          Limit: limit - runs.length,
          ExclusiveStartKey: start,
        }),
      );
      runs.push(...(out.Items ?? []).map(toRun));
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return runs;
  }

  /**
   * Writes in batches of 25, a few batches at a time, each resent with what DynamoDB left unprocessed (after a
   * jittered exponential back-off, as the BatchWriteItem reference asks) until done or out of attempts.
   */
  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) batches.push(requests.slice(i, i + BATCH_WRITE_MAX));
    await mapBounded(batches, BATCH_CONCURRENCY, (batch) => this.writeBatch(batch));
  }

  private async writeBatch(batch: Record<string, unknown>[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const out = await this.clients.dynamo().send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = (out.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
      if (pending.length === 0) return;
      if (attempt >= this.retry.maxAttempts) {
        throw new Error(`BatchWriteItem on ${this.tableName} left ${pending.length} of ${batch.length} writes unprocessed after ${attempt} attempts`);
      }
      const ceiling = Math.min(2_000, this.retry.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const RECORD_KEYS = ['account', 'region', 'volumeId', 'unattachedSince', 'basis', 'firstSeenAt', 'status', 'opsItemId', 'filedAt', 'sizeGiB', 'volumeType', 'iops', 'throughputMiBs', 'version'] as const;
const RUN_KEYS = ['runId', 'startedAt', 'finishedAt', 'dryRun', 'regions', 'totals', 'remediated'] as const;

const toRecord = (item: Record<string, unknown>) => pick<VolumeRecord>(item, RECORD_KEYS);
const toRun = (item: Record<string, unknown>) => pick<ScanRunSummary>(item, RUN_KEYS);
