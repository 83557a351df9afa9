import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { AwsClients, DynamoSourceFailures } from '@opsauto/aws';
import { InMemorySourceFailures, type SourceFailureCounter } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

const MINUTE = Date.parse('2027-01-01T00:00:00Z');

function contract(name: string, make: () => Promise<SourceFailureCounter>) {
  describe(`SourceFailureCounter (${name})`, () => {
    it('counts failures per source and window, starting at zero', async () => {
      // Prepare
      const counter = await make();
      // Act
      const counts = [await counter.add('198.51.100.7', MINUTE), await counter.add('198.51.100.7', MINUTE), await counter.add('2001:db8::1', MINUTE), await counter.add('198.51.100.7', MINUTE + 60_000)];
      // Assess
      expect(counts).toEqual([1, 2, 1, 1]);
      expect(await counter.count('198.51.100.7', MINUTE)).toBe(2);
      expect(await counter.count('198.51.100.8', MINUTE)).toBe(0);
    });

    it('loses no failure when many arrive at once', async () => {
      const counter = await make();
      const results = await Promise.all(Array.from({ length: 25 }, () => counter.add('203.0.113.5', MINUTE)));
      expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await counter.count('203.0.113.5', MINUTE)).toBe(25);
    });
  });
}

contract('in memory', () => Promise.resolve(new InMemorySourceFailures()));
contract('DynamoDB on localcloud', async () => new DynamoSourceFailures(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud)));

describe('DynamoSourceFailures', () => {
  it('lets the table TTL remove a window one window after it ended', async () => {
    // Prepare
    const clients = new AwsClients('us-east-1', clientConfig(cloud));
    const table = await createTestTable(cloud);
    // Act
    await new DynamoSourceFailures(clients, table).add('198.51.100.7', MINUTE);
    // Assess
    const { Item } = await clients.dynamo().send(new GetCommand({ TableName: table, Key: { pk: 'activation-failures#198.51.100.7', sk: '2027-01-01T00:00:00.000Z' } }));
    expect(Item).toMatchObject({ failures: 1, expiresAt: MINUTE / 1000 + 120 });
  });
});
