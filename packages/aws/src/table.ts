import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { EXECUTION_SUMMARY_FIELDS } from '@opsauto/core';
import { HEAD_KEYS } from './ami/dynamo-publication-store.js';

/** What an index holds besides the table's and its own keys: everything, or the named attributes only. */
export type IndexProjection = { type: 'KEYS_ONLY' } | { type: 'INCLUDE'; nonKeyAttributes: readonly string[] };

/**
 * The one DynamoDB table, defined once: the Storage stack and the local stage both create it from this.
 * Single-table design: `pk`/`sk`; GSI `gsi1` (`gsi1pk`/`gsi1sk`) for cross-partition listings and sparse GSI `gsi2`
 * (`gsi2pk`/`gsi2sk`) for work that falls due (unfinished runbook executions by due time); TTL on `expiresAt`
 * (epoch seconds). Powertools idempotency records live in the same table under `pk` = `idempotency#<key>`.
 *
 * Each index projects only what its queries read, so that a write does not copy a whole item into it:
 * - gsi1 is read by the runbook execution listings (summaries: ExecutionSummary's fields) and by the AMI
 *   publisher's `listHeads` (every family head attribute);
 * - gsi2 is read by `listDue`, which needs only the execution's ID, found in the table key `pk`.
 */
export const tableDefinition = {
  /** Logical name; the deployed name is `<app>-<stage>-state`. */
  logicalName: 'state',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: { type: 'INCLUDE', nonKeyAttributes: [...new Set<string>([...EXECUTION_SUMMARY_FIELDS, ...HEAD_KEYS])].sort() } },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: { type: 'KEYS_ONLY' } },
  ] satisfies { indexName: string; partitionKey: string; sortKey: string; projection: IndexProjection }[],
} as const;

/** The physical table name for an app and stage. */
export function tableName(app: string, stage: string): string {
  return `${app}-${stage}-state`;
}

/** CreateTable input (on-demand) for the local stage and tests. */
export function createTableInput(name: string) {
  const d = tableDefinition;
  const attributes = [d.partitionKey, d.sortKey, ...d.globalSecondaryIndexes.flatMap((g) => [g.partitionKey, g.sortKey])];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: d.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: d.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: d.globalSecondaryIndexes.map((g) => ({
      IndexName: g.indexName,
      KeySchema: [
        { AttributeName: g.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: g.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: projectionOf(g.projection),
    })),
  };
}

function projectionOf(p: IndexProjection): { ProjectionType: 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] } {
  return p.type === 'INCLUDE' ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...p.nonKeyAttributes] } : { ProjectionType: 'KEYS_ONLY' };
}

/**
 * Creates the table unless it exists, waits until it is ACTIVE (CreateTable answers while it is still CREATING), and
 * turns TTL on `expiresAt` on with one UpdateTimeToLive when it is off (a table made before TTL was used; calling it
 * when TTL is on is a ValidationException on AWS). Returns whether it created the table. For the local stage, tests
 * and benchmarks; deployed stages get the table, TTL included, from the stack.
 */
export async function ensureTable(client: DynamoDBClient, name: string): Promise<boolean> {
  let created = false;
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
    await client.send(new CreateTableCommand(createTableInput(name)));
    created = true;
  }
  await waitUntilTableExists({ client, minDelay: 1, maxDelay: 2, maxWaitTime: 60 }, { TableName: name });
  // A table just made has TTL off: no need to ask.
  const ttl = created ? undefined : (await client.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription;
  if (ttl?.TimeToLiveStatus !== 'ENABLED' && ttl?.TimeToLiveStatus !== 'ENABLING') {
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: tableDefinition.ttlAttribute, Enabled: true } }));
  }
  return created;
}
