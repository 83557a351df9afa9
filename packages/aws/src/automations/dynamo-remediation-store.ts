import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RemediationClaim, RemediationRecord, RemediationStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { pick } from '../items.js';

const TYPE = 'remediation';
const FIELDS: (keyof RemediationRecord)[] = [
'automation', 'rule', 'resourceType', 'resourceId', 'evaluatedAt', 'executionId', 'recordedAt'];

/** `pk = remediation#<resourceId>`, `sk = <rule>#<resourceType>`: a resource's remediations are one Query. */
const key = (r: Pick<RemediationRecord, 'resourceId' | 'rule' | 'resourceType'>) => ({ pk: `remediation#${r.resourceId}`, sk: `${r.rule}#${r.resourceType}` });

/**
 * RemediationStore in the single table. `record` is one conditional put: it writes only when no evaluation of the
 * same rule and resource that is as recent or more recent was recorded, so that duplicates and late events never
 * start a second remediation; a refused write is told apart (same evaluation, or a later one) with one read.
 */
export class DynamoRemediationStore implements RemediationStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async record(record: RemediationRecord): Promise<RemediationClaim> {
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key(record), type: TYPE, ...record, createdAt: record.recordedAt, updatedAt: record.recordedAt },
          ConditionExpression: 'attribute_not_exists(pk) OR evaluatedAt < :t',
          ExpressionAttributeValues: { ':t': record.evaluatedAt },
        }),
      );
      return 'recorded';
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const { Item } = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: key(record), ConsistentRead: true }));
      return Item?.evaluatedAt === record.evaluatedAt && Item?.executionId === record.executionId ? 'duplicate' : 'superseded';
    }
  }

  async listByResource(resourceId: string): Promise<RemediationRecord[]> {
    const { Items = [] } = await this.clients.dynamo().send(
      new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `remediation#${resourceId}` } }),
    );
    return Items.map((item) => pick<RemediationRecord>(item, FIELDS));
  }
}
