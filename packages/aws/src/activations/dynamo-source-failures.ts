import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FAILURE_WINDOW_MS, type SourceFailureCounter } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

const key = (sourceIp: string, windowStart: number) => ({ pk: `activation-failures#${sourceIp}`, sk: new Date(windowStart).toISOString() });

/**
 * Failed authentications of the activation API per source IP and minute, in the single table: one item per source
 * and window (`activation-failures#<ip>` / the window's start), incremented atomically (UpdateItem ADD) and removed
 * by the table's TTL (`expiresAt`, epoch seconds) a window after it ends.
 */
export class DynamoSourceFailures implements SourceFailureCounter {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async count(sourceIp: string, windowStart: number): Promise<number> {
    const { Item } = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: key(sourceIp, windowStart), ProjectionExpression: 'failures' }));
    return typeof Item?.failures === 'number' ? Item.failures : 0;
  }

  async add(sourceIp: string, windowStart: number): Promise<number> {
    const { Attributes } = await this.clients.dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(sourceIp, windowStart),
        UpdateExpression: 'ADD failures :one SET expiresAt = :ttl, #type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':one': 1, ':ttl': Math.ceil((windowStart + 2 * FAILURE_WINDOW_MS) / 1000), ':type': 'activation-failures' },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Attributes?.failures as number;
  }
}
