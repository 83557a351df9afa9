import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The one DynamoDB table, defined once: the Storage stack and the local stage both create it from this.
 * Single-table design: `pk`/`sk`; GSI `gsi1` (`gsi1pk`/`gsi1sk`) for cross-partition listings and sparse GSI `gsi2`
 * (`gsi2pk`/`gsi2sk`) for work that falls due (unfinished runbook executions by due time); TTL on `expiresAt`.
 * Powertools idempotency records live in the same table under `pk` = `idempotency#<key>` (no sort key use).
 */
export const tableDefinition = {
  /** Logical name; the deployed name is `<app>-<stage>-state`. */
  logicalName: 'state',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
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
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

/**
 * Creates the table unless it exists, and waits until it is ACTIVE (CreateTable answers while it is still CREATING).
 * Returns whether it created it. For the local stage, tests and benchmarks; deployed stages get it from the stack.
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
  return created;
}
