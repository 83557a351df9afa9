import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { ConcurrentUpdateError, type FamilyHead, type PublicationRecord, type PublicationStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { pick } from '../items.js';
import { isAwsError } from '../errors.js';

const HEAD_TYPE = 'ami-family-head';
const RECORD_TYPE = 'ami-publication';
/** gsi1 partition that lists every family head. */
const HEADS_INDEX_PK = 'ami-heads';

const familyPk = (region: string, family: string) => `ami#${region}#${family}`;
const recordSk = (r: Pick<PublicationRecord, 'sequence' | 'kind'>) => `pub#${String(r.sequence).padStart(10, '0')}#${r.kind}`;

/** Head attributes that may be absent; written with REMOVE when undefined so a stale value never lingers. */
const OPTIONAL: (keyof FamilyHead)[] = ['parameterVersion', 'warning', 'warningImageId', 'imageName', 'previous', 'putBy', 'putAt'];

/**
 * PublicationStore in the single table. A family is one partition: `sk = head` holds the head (listed
 * across families through gsi1), `sk = pub#<sequence>#<kind>` the history, newest last.
 */
export class DynamoPublicationStore implements PublicationStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async getHead(region: string, family: string): Promise<FamilyHead | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk: familyPk(region, family), sk: 'head' }, ConsistentRead: true }));
    return out.Item ? toHead(out.Item) : undefined;
  }

  async putHead(head: FamilyHead, expectedVersion: number | undefined): Promise<void> {
    const names: Record<string, string> = { '#createdAt': 'createdAt' };
    const values: Record<string, unknown> = {};
    const sets: string[] = ['#createdAt = if_not_exists(#createdAt, :updatedAt)'];
    const removes: string[] = [];
    const attributes: Record<string, unknown> = { ...head, type: HEAD_TYPE, gsi1pk: HEADS_INDEX_PK, gsi1sk: `${head.region}#${head.family}` };
    for (const key of OPTIONAL) {
      if (attributes[key] !== undefined) continue;
      removes.push(`#${key}`);
      names[`#${key}`] = key;
    }
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    let condition = 'attribute_not_exists(pk)';
    if (expectedVersion !== undefined) {
      condition = '#version = :expected';
      values[':expected'] = expectedVersion;
    }
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: familyPk(head.region, head.family), sk: 'head' },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) {
        throw new ConcurrentUpdateError(`family ${head.family} in ${head.region} changed since version ${String(expectedVersion)}`);
      }
      throw e;
    }
  }

  async deleteHead(region: string, family: string, expectedVersion: number): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: familyPk(region, family), sk: 'head' },
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) throw new ConcurrentUpdateError(`family ${family} in ${region} changed since version ${expectedVersion}`);
      throw e;
    }
  }

  async appendHistory(record: PublicationRecord): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: familyPk(record.region, record.family), sk: recordSk(record), type: RECORD_TYPE, createdAt: record.at, updatedAt: record.at, ...record },
          // Written once: a retry or a racing writer of the same record keeps the first one.
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }

  async history(region: string, family: string, limit = 100): Promise<PublicationRecord[]> {
    const out = await this.clients.dynamo().send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :pub)',
        ExpressionAttributeValues: { ':pk': familyPk(region, family), ':pub': 'pub#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toRecord);
  }

  async listHeads(): Promise<FamilyHead[]> {
    const heads: FamilyHead[] = [];
    const pages = paginateQuery(
      { client: this.clients.dynamo() },
      { TableName: this.tableName, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': HEADS_INDEX_PK } },
    );
    for await (const page of pages) heads.push(...(page.Items ?? []).map(toHead));
    return heads;
  }
}

/** Every attribute `listHeads` reads from gsi1 (its projection includes them). */
export const HEAD_KEYS = ['region', 'family', 'parameterName', 'imageId', 'imageName', 'creationDate', 'highWaterImageId', 'highWaterCreationDate', 'status', 'kind', 'parameterVersion', 'updatedAt', 'previous', 'putBy', 'putAt', 'warning', 'warningImageId', 'version'] as const;
const RECORD_KEYS = ['region', 'family', 'sequence', 'kind', 'imageId', 'imageName', 'creationDate', 'parameterName', 'parameterVersion', 'at', 'source', 'note'] as const;

const toHead = (item: Record<string, unknown>) => pick<FamilyHead>(item, HEAD_KEYS);
const toRecord = (item: Record<string, unknown>) => pick<PublicationRecord>(item, RECORD_KEYS);
