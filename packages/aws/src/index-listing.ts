import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from './clients.js';

export type TableKey = { pk: string; sk: string };

/** BatchGetItem takes at most 100 keys. */
const BATCH = 100;
/** How often keys BatchGetItem left unprocessed are asked for again (the SDK backs off between attempts on throttling). */
const UNPROCESSED_RETRIES = 10;

/**
 * The table keys of the items of one index partition, in the index's order (descending with `newestFirst`), at most
 * `limit` of them (every one without a limit). For indexes that project few attributes: read the items with
 * {@link batchGetItems}.
 *
 * @example
 * const keys = await indexPartitionKeys(clients, table, { index: 'gsi1', partition: 'activation-tokens', newestFirst: true });
 */
export async function indexPartitionKeys(
  clients: AwsClients,
  tableName: string,
  options: { index: 'gsi1' | 'gsi2'; partition: string; newestFirst?: boolean; limit?: number },
): Promise<TableKey[]> {
  const keys: TableKey[] = [];
  const want = options.limit ?? Number.POSITIVE_INFINITY;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await clients.dynamo().send(
      new QueryCommand({
        TableName: tableName,
        IndexName: options.index,
        KeyConditionExpression: `${options.index}pk = :pk`,
        ExpressionAttributeValues: { ':pk': options.partition },
        ScanIndexForward: !options.newestFirst,
        ...(Number.isFinite(want) ? { Limit: want - keys.length } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    keys.push(...(out.Items ?? []).map((i) => ({ pk: String(i.pk), sk: String(i.sk) })));
    start = out.LastEvaluatedKey;
  } while (start && keys.length < want);
  return keys;
}

/**
 * The items with these keys, read whole with BatchGetItem (100 keys a call, unprocessed keys asked for again a bounded
 * number of times), in the order of `keys`; keys with no item are left out.
 */
export async function batchGetItems(clients: AwsClients, tableName: string, keys: readonly TableKey[]): Promise<Record<string, unknown>[]> {
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < keys.length; i += BATCH) {
    let pending = keys.slice(i, i + BATCH);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === UNPROCESSED_RETRIES) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${attempt} attempts`);
      const out = await clients.dynamo().send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of out.Responses?.[tableName] ?? []) found.set(`${String(item.pk)}\n${String(item.sk)}`, item);
      pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as TableKey[];
    }
  }
  return keys.flatMap((k): Record<string, unknown>[] => {
    const item = found.get(`${k.pk}\n${k.sk}`);
    return item ? [item] : [];
  });
}
