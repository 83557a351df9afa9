import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { ExpiredParameterRecord, NoticeRecord, NoticeStore, ParameterSummary } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';
import { batchGetItems, indexPartitionKeys } from '../index-listing.js';
import { pick } from '../items.js';

const NOTICE_TYPE = 'param-notice';
const EXPIRED_TYPE = 'param-expired';
const SEEN_TYPE = 'param-seen';
/** A digest claim: `paramdigest#<run>#<topic>#<owner>`, expiring (TTL) after its `until`. */
const DIGEST_TYPE = 'param-digest';
const digestPk = (key: string) => `paramdigest#${key}`;
/** gsi1 partitions listing every notice (newest due first) and every expired parameter (newest first). */
const NOTICES_INDEX_PK = 'param-notices';
const EXPIRED_INDEX_PK = 'param-expired';

const paramPk = (parameter: string) => `param#${parameter}`;
/** A notice's sort key: its kind and due time (the parameter is in the partition key). */
const noticeSk = (kind: string, dueAt: string) => `notice#${kind}#${dueAt}`;

/** `<parameter>#<kind>#<dueAt>` (parameter names hold no `#`) -> the item's key. */
function noticeItemKey(key: string): { pk: string; sk: string } {
  const parts = key.split('#');
  if (parts.length < 3) throw new Error(`notice key ${JSON.stringify(key)} is not <parameter>#<kind>#<dueAt>`);
  const dueAt = parts.pop()!;
  const kind = parts.pop()!;
  return { pk: paramPk(parts.join('#')), sk: noticeSk(kind, dueAt) };
}

const NOTICE_KEYS = ['key', 'parameter', 'kind', 'policy', 'dueAt', 'expiresAt', 'channel', 'status', 'sentAt', 'via', 'messageId'] as const;
const EXPIRED_KEYS = ['parameter', 'deletedAt', 'lastVersion', 'policy'] as const;

/**
 * NoticeStore in the single table. A parameter is one partition (`param#<name>`): its notices
 * (`notice#<kind>#<dueAt>`, claimed with a conditional put so that one is sent once), its expiries
 * (`expired#<deletedAt>`) and what was last seen of it (`seen`, the summary in one map attribute). The cross-parameter listings go through gsi1
 * (`param-notices` by due time, `param-expired` by deletion time), which projects only keys for these items: the
 * listed items are then read whole with BatchGetItem. Digest claims are items of their own (`paramdigest#<key>`),
 * deleted by TTL.
 */
export class DynamoNoticeStore implements NoticeStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async claim(record: NoticeRecord): Promise<boolean> {
    // A claim is pending until markSent: whatever the record says of a send is not written yet.
    const pending: Record<string, unknown> = { ...record, status: 'pending' };
    delete pending.sentAt;
    delete pending.messageId;
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...noticeItemKey(record.key),
            type: NOTICE_TYPE,
            gsi1pk: NOTICES_INDEX_PK,
            gsi1sk: `${record.dueAt}#${record.key}`,
            ...pending,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) return false;
      throw e;
    }
  }

  async markSent(key: string, sent: { sentAt: string; messageId?: string }): Promise<void> {
    await this.clients.dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: noticeItemKey(key),
        UpdateExpression: `SET #status = :sent, sentAt = :sentAt${sent.messageId ? ', messageId = :messageId' : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sent': 'sent', ':sentAt': sent.sentAt, ...(sent.messageId ? { ':messageId': sent.messageId } : {}) },
      }),
    );
  }

  async release(key: string): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: noticeItemKey(key),
          // A notice that was sent stays: only a claim whose publish failed is dropped.
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      );
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }

  async claimDigest(key: string, until: Date): Promise<boolean> {
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: digestPk(key), sk: 'digest', type: DIGEST_TYPE, expiresAt: Math.floor(until.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) return false;
      throw e;
    }
  }

  async releaseDigest(key: string): Promise<void> {
    await this.clients.dynamo().send(new DeleteCommand({ TableName: this.tableName, Key: { pk: digestPk(key), sk: 'digest' } }));
  }

  async firstExpiryNotice(parameter: string, expiresAt: string): Promise<NoticeRecord | undefined> {
    let first: NoticeRecord | undefined;
    const pages = paginateQuery(
      { client: this.clients.dynamo() },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :notice)',
        FilterExpression: 'expiresAt = :expiresAt AND #status = :sent AND kind <> :escalation',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pk': paramPk(parameter), ':notice': 'notice#', ':expiresAt': expiresAt, ':sent': 'sent', ':escalation': 'Escalation' },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const n = toNotice(item);
        if (n.sentAt && (!first?.sentAt || n.sentAt < first.sentAt || (n.sentAt === first.sentAt && n.key < first.key))) first = n;
      }
    }
    return first;
  }

  async list(options: { parameter?: string; limit?: number }): Promise<NoticeRecord[]> {
    const limit = options.limit ?? 100;
    if (options.parameter !== undefined) {
      // The partition's notices sort by kind first: read them all (a parameter has a handful) and sort by due time.
      const notices: NoticeRecord[] = [];
      const pages = paginateQuery(
        { client: this.clients.dynamo() },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :notice)',
          ExpressionAttributeValues: { ':pk': paramPk(options.parameter), ':notice': 'notice#' },
        },
      );
      for await (const page of pages) notices.push(...(page.Items ?? []).map(toNotice));
      return notices.sort((a, b) => b.dueAt.localeCompare(a.dueAt) || b.key.localeCompare(a.key)).slice(0, limit);
    }
    const items = await this.listThroughIndex(NOTICES_INDEX_PK, limit);
    return items.map(toNotice);
  }

  async recordExpired(record: ExpiredParameterRecord): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: paramPk(record.parameter),
            sk: `expired#${record.deletedAt}`,
            type: EXPIRED_TYPE,
            gsi1pk: EXPIRED_INDEX_PK,
            gsi1sk: `${record.deletedAt}#${record.parameter}`,
            ...record,
          },
          // Written once: a redelivered event keeps the first record.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }

  async listExpired(options: { limit?: number }): Promise<ExpiredParameterRecord[]> {
    const items = await this.listThroughIndex(EXPIRED_INDEX_PK, options.limit ?? 100);
    return items.map((item) => pick<ExpiredParameterRecord>(item, EXPIRED_KEYS));
  }

  async rememberParameter(parameter: ParameterSummary): Promise<void> {
    await this.clients.dynamo().send(new PutCommand({ TableName: this.tableName, Item: { pk: paramPk(parameter.name), sk: 'seen', type: SEEN_TYPE, summary: parameter } }));
  }

  async lastSeen(parameter: string): Promise<ParameterSummary | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk: paramPk(parameter), sk: 'seen' }, ConsistentRead: true }));
    return out.Item ? (out.Item.summary as ParameterSummary) : undefined;
  }

  /** The newest `limit` items of a gsi1 partition (keys only there), read whole, in the index's order. */
  private async listThroughIndex(indexPk: string, limit: number): Promise<Record<string, unknown>[]> {
    const keys = await indexPartitionKeys(this.clients, this.tableName, { index: 'gsi1', partition: indexPk, newestFirst: true, limit });
    return batchGetItems(this.clients, this.tableName, keys);
  }
}

const toNotice = (item: Record<string, unknown>) => pick<NoticeRecord>(item, NOTICE_KEYS);
