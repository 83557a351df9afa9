import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, type Issuance, type IssuanceChanges, type IssuanceStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';
import { batchGetItems, indexPartitionKeys, type TableKey } from '../index-listing.js';
import { pick } from '../items.js';
import { tokenPk } from './dynamo-token-store.js';

const ISSUANCE_TYPE = 'activation-issuance';
const TOKEN_REF_TYPE = 'activation-issuance-ref';
const IDEMPOTENCY_TYPE = 'activation-idempotency';
const ATTEMPT_TYPE = 'activation-attempt';
/** gsi1 partition listing every issuance, newest first. */
const ISSUANCES_INDEX_PK = 'activation-issuances';
/** gsi2 (sparse) partition of the issuances whose activation the sweep has not deleted yet, soonest expiry first. */
const OPEN_INDEX_PK = 'activation-open';
const ISSUANCE_SK = 'issuance';
const DEFAULT_LIMIT = 100;

const issuanceKey = (activationId: string): TableKey => ({ pk: `activation#${activationId}`, sk: ISSUANCE_SK });
/** The pointer in the token's partition that lists what the token issued, newest first. */
const tokenRefKey = (i: Pick<Issuance, 'tokenId' | 'issuedAt' | 'activationId'>): TableKey => ({ pk: tokenPk(i.tokenId), sk: `issuance#${i.issuedAt}#${i.activationId}` });
/** The pointer a retried request finds: a hash keeps any idempotency key (and hostname) within the sort key's size. */
const keyHash = (hostname: string, key: string) => createHash('sha256').update(JSON.stringify([hostname, key])).digest('hex');
const idempotencyKey = (tokenId: string, hostname: string, key: string): TableKey => ({ pk: tokenPk(tokenId), sk: `idempotency#${keyHash(hostname, key)}` });
/** The mark a request leaves before CreateActivation (`markAttempt`), removed by the table's TTL after the activation expires. */
const attemptKey = (tokenId: string, hostname: string, key: string): TableKey => ({ pk: tokenPk(tokenId), sk: `attempt#${keyHash(hostname, key)}` });

const ISSUANCE_KEYS = [
  'activationId',
  'tokenId',
  'tokenName',
  'hostname',
  'instanceName',
  'region',
  'expiresAt',
  'issuedAt',
  'sourceIp',
  'userAgent',
  'idempotencyKey',
  'managedNodeId',
  'registeredAt',
  'deletedAt',
  'unregisteredReportedAt',
] as const;
const toIssuance = (item: Record<string, unknown>) => pick<Issuance>(item, ISSUANCE_KEYS);

/**
 * IssuanceStore in the single table (no activation code: none is ever stored). An issuance is the item
 * `pk = activation#<activationId>`, `sk = issuance`, listed through gsi1 (`activation-issuances`, by issue time) and,
 * until the sweep deletes its activation, through gsi2 (`activation-open`, by expiry; the attributes are removed with
 * `deletedAt`). Two pointers live in the token's partition (`token#<tokenId>`): `issuance#<issuedAt>#<activationId>`
 * (the token's issuances, newest first) and `idempotency#<sha256(hostname, key)>` (the issuance a retried request
 * gets, written once: the first issuance of a key keeps it unless `replace` moves it from a withdrawn one) and
 * `attempt#<sha256(hostname, key)>` (`markAttempt`, with the TTL attribute `expiresAt`). Without transactions (dynalite has none) the issuance
 * is written first and the pointers after it; recording it again writes any pointer a failure left out.
 */
export class DynamoIssuanceStore implements IssuanceStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  record(issuance: Issuance): Promise<void> {
    return this.write(issuance, undefined);
  }

  /** As `record`, and the key's pointer moves from `replacing` to this issuance (a conditional put on its old value). */
  replace(issuance: Issuance, replacing: string): Promise<void> {
    return this.write(issuance, replacing);
  }

  private async write(issuance: Issuance, replacing: string | undefined): Promise<void> {
    let recorded = issuance;
    try {
      await this.put({ ...issuance, ...issuanceKey(issuance.activationId), type: ISSUANCE_TYPE, ...indexAttributes(issuance) }, true);
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
      // Recorded before: the first record stays, and its pointers are the ones to (re)write.
      recorded = (await this.getIssuance(issuance.activationId)) ?? issuance;
    }
    // The two pointers are independent of each other: written at once.
    const key = recorded.idempotencyKey;
    await Promise.all([
      this.put({ ...tokenRefKey(recorded), type: TOKEN_REF_TYPE, activationId: recorded.activationId }, false),
      key === undefined
        ? undefined
        : this.clients
            .dynamo()
            .send(
              new PutCommand({
                TableName: this.tableName,
                Item: { ...idempotencyKey(recorded.tokenId, recorded.hostname, key), type: IDEMPOTENCY_TYPE, activationId: recorded.activationId },
                ConditionExpression: replacing === undefined ? 'attribute_not_exists(pk)' : 'attribute_not_exists(pk) OR activationId = :replacing',
                ...(replacing === undefined ? {} : { ExpressionAttributeValues: { ':replacing': replacing } }),
              }),
            )
            .catch((e: unknown) => {
              if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
            }),
    ]);
  }

  async findByIdempotencyKey(tokenId: string, hostname: string, key: string): Promise<Issuance | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: idempotencyKey(tokenId, hostname, key), ConsistentRead: true }));
    return out.Item ? this.getIssuance(String(out.Item.activationId)) : undefined;
  }

  async markAttempt(tokenId: string, hostname: string, key: string, expiresAt: string): Promise<void> {
    const ttl = Math.ceil(Date.parse(expiresAt) / 1000);
    await this.put({ ...attemptKey(tokenId, hostname, key), type: ATTEMPT_TYPE, attemptExpiresAt: expiresAt, expiresAt: ttl }, false);
  }

  async attempted(tokenId: string, hostname: string, key: string, now: string): Promise<boolean> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: attemptKey(tokenId, hostname, key), ConsistentRead: true }));
    // The TTL deletes within days, not at once: the mark's own expiry decides.
    return typeof out.Item?.attemptExpiresAt === 'string' && out.Item.attemptExpiresAt > now;
  }

  async list(options: { tokenId?: string; limit?: number } = {}): Promise<Issuance[]> {
    const limit = options.limit ?? DEFAULT_LIMIT;
    let keys: TableKey[];
    if (options.tokenId !== undefined) {
      const out = await this.clients.dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :issuance)',
          ExpressionAttributeValues: { ':pk': tokenPk(options.tokenId), ':issuance': 'issuance#' },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      keys = (out.Items ?? []).map((i) => issuanceKey(String(i.activationId)));
    } else {
      keys = await indexPartitionKeys(this.clients, this.tableName, { index: 'gsi1', partition: ISSUANCES_INDEX_PK, newestFirst: true, limit });
    }
    return (await batchGetItems(this.clients, this.tableName, keys)).map(toIssuance);
  }

  async listOpen(): Promise<Issuance[]> {
    const keys = await indexPartitionKeys(this.clients, this.tableName, { index: 'gsi2', partition: OPEN_INDEX_PK });
    return (await batchGetItems(this.clients, this.tableName, keys)).map(toIssuance).filter((i) => i.deletedAt === undefined);
  }

  async update(activationId: string, changes: IssuanceChanges): Promise<void> {
    await this.applyChanges(activationId, changes, false);
  }

  async updateOnce(activationId: string, changes: IssuanceChanges): Promise<boolean> {
    return this.applyChanges(activationId, changes, true);
  }

  /** One UpdateItem on an existing issuance; with `once`, only while none of the changed fields is set (false otherwise). */
  private async applyChanges(activationId: string, changes: IssuanceChanges, once: boolean): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined || !(ISSUANCE_KEYS as readonly string[]).includes(field)) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    // A deleted activation leaves the sweep's index.
    const remove = changes.deletedAt !== undefined ? ' REMOVE gsi2pk, gsi2sk' : '';
    if (sets.length === 0) {
      if (!(await this.getIssuance(activationId))) throw new NotFoundError(`no issuance of activation ${activationId}`);
      return !once;
    }
    const unset = once ? Object.keys(names).map((n) => ` AND attribute_not_exists(${n})`).join('') : '';
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: issuanceKey(activationId),
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: `attribute_exists(pk)${unset}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
      // Which part of the condition failed: the issuance is missing, or another writer set a field first.
      if (once && (await this.getIssuance(activationId))) return false;
      throw new NotFoundError(`no issuance of activation ${activationId}`);
    }
  }

  private async getIssuance(activationId: string): Promise<Issuance | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: issuanceKey(activationId), ConsistentRead: true }));
    return out.Item ? toIssuance(out.Item) : undefined;
  }

  private async put(item: Record<string, unknown>, once: boolean): Promise<void> {
    await this.clients.dynamo().send(new PutCommand({ TableName: this.tableName, Item: item, ...(once ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}) }));
  }
}

/** gsi1 always; gsi2 while the activation is not deleted. */
function indexAttributes(i: Issuance): Record<string, string> {
  return {
    gsi1pk: ISSUANCES_INDEX_PK,
    gsi1sk: `${i.issuedAt}#${i.activationId}`,
    ...(i.deletedAt === undefined ? { gsi2pk: OPEN_INDEX_PK, gsi2sk: `${i.expiresAt}#${i.activationId}` } : {}),
  };
}
