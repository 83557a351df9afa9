import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { InMemoryExecutionStore } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { execution, executionStoreContract, next } from './execution-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

executionStoreContract('in memory', () => Promise.resolve(new InMemoryExecutionStore()));
executionStoreContract('DynamoDB on localcloud', async () => new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud)));

const dynamoCalls = () => cloud.calls.snapshot().dynamodb ?? {};

describe('DynamoExecutionStore on localcloud', () => {
  let clients: AwsClients;
  let table: string;
  let store: DynamoExecutionStore;
  beforeEach(async () => {
    clients = new AwsClients('us-east-1', clientConfig(cloud));
    table = await createTestTable(cloud);
    store = new DynamoExecutionStore(clients, table);
  });
  /** Every item of an execution's partition, by sort key. */
  const partition = async (executionId: string) => {
    const out = await clients.dynamo().send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `runbook#${executionId}` }, ConsistentRead: true }));
    return Object.fromEntries((out.Items ?? []).map((item) => [item.sk as string, item]));
  };
  const read = async (id: string) => {
    const got = await store.get(id);
    if (!got) throw new Error(`execution ${id} not found`);
    return got;
  };

  describe('item layout', () => {
    it('keeps an unfinished top-level execution under runbook#<id> / execution, listed under runbooks and due at its later wake-up or lease', async () => {
      // Act
      await store.create(execution({ status: 'Waiting', wakeAt: '2026-11-22T06:10:00Z', leaseUntil: '2026-11-22T06:05:00.000Z' }));
      // Assess
      const { execution: item } = await partition('exec-0001');
      expect(item).toMatchObject({
        pk: 'runbook#exec-0001',
        sk: 'execution',
        type: 'runbook-execution',
        version: 1,
        runbook: { schemaVersion: '0.3', mainSteps: [{ name: 'wait' }, { name: 'stop' }] },
        gsi1pk: 'runbooks',
        gsi1sk: '2026-11-22T06:00:00.000Z#exec-0001',
        gsi2pk: 'runbook-due',
        gsi2sk: '2026-11-22T06:10:00.000Z#exec-0001',
      });
    });

    it('lists a child under runbook-children#<parent> and makes it due at creation when it has no wake-up or lease', async () => {
      // Act
      await store.create(execution({ executionId: 'exec-child', parentExecutionId: 'exec-parent', target: 'i-1', targetIndex: 0 }));
      // Assess
      expect((await partition('exec-child')).execution).toMatchObject({
        gsi1pk: 'runbook-children#exec-parent',
        gsi1sk: '2026-11-22T06:00:00.000Z#exec-child',
        gsi2sk: '2026-11-22T06:00:00.000Z#exec-child',
      });
    });

    it('drops the due-index attributes when the execution is saved terminal', async () => {
      // Prepare
      await store.create(execution());
      const { execution: current } = await read('exec-0001');
      // Act
      await store.save(next(current, { status: 'Failed', failureMessage: 'stop failed', endedAt: '2026-11-22T06:02:00.000Z' }));
      // Assess
      const { execution: item } = await partition('exec-0001');
      expect(item).toMatchObject({ status: 'Failed', version: 2, gsi1pk: 'runbooks' });
      expect(item).not.toHaveProperty('gsi2pk');
      expect(item).not.toHaveProperty('gsi2sk');
    });

    it('keeps each signal as its own item under signal#<at>#<random>, and counters under counters with the finished set', async () => {
      // Prepare
      await store.create(execution());
      // Act
      await store.signal('exec-0001', { kind: 'Cancel', at: '2026-11-22T06:04:00.000Z' });
      await store.reserveTarget('exec-0001', { concurrencyLimit: 2, errorLimit: 0, total: 2 });
      await store.reserveTarget('exec-0001', { concurrencyLimit: 2, errorLimit: 0, total: 2 });
      await store.finishTarget('exec-0001', 1, 'succeeded');
      // Assess
      const items = await partition('exec-0001');
      const signalSk = Object.keys(items).find((sk) => sk.startsWith('signal#'));
      expect(signalSk).toMatch(/^signal#2026-11-22T06:04:00\.000Z#[0-9a-f-]{36}$/);
      expect(items[signalSk ?? '']).toMatchObject({ type: 'runbook-signal', signal: { kind: 'Cancel', at: '2026-11-22T06:04:00.000Z' } });
      expect(items.counters).toMatchObject({ type: 'runbook-counters', launched: 2, running: 1, succeeded: 1, failed: 0, finished: new Set([1]) });
      expect(items.execution).not.toHaveProperty('launched');
    });
  });

  describe('calls per operation', () => {
    it('creates with 1 PutItem and reads with 1 Query', async () => {
      // Prepare
      cloud.calls.reset();
      // Act
      await store.create(execution());
      await store.get('exec-0001');
      // Assess
      expect(dynamoCalls()).toEqual({ PutItem: 1, Query: 1 });
    });

    it('saves with 1 PutItem, and 1 BatchWriteItem more only when signals were consumed', async () => {
      // Prepare
      await store.create(execution());
      const first = await read('exec-0001');
      cloud.calls.reset();
      // Act
      await store.save(next(first.execution, { status: 'InProgress' }));
      // Assess
      expect(dynamoCalls()).toEqual({ PutItem: 1 });

      // Prepare
      await store.signal('exec-0001', { kind: 'Resume', at: '2026-11-22T06:05:00.000Z' });
      const second = await read('exec-0001');
      cloud.calls.reset();
      // Act
      await store.save(next(second.execution, { status: 'InProgress' }), second.signals);
      // Assess
      expect(dynamoCalls()).toEqual({ PutItem: 1, BatchWriteItem: 1 });
    });

    it('reserves and finishes a target with 1 UpdateItem each', async () => {
      // Prepare
      cloud.calls.reset();
      // Act
      await store.reserveTarget('exec-parent', { concurrencyLimit: 1, errorLimit: 0, total: 1 });
      await store.finishTarget('exec-parent', 0, 'succeeded');
      // Assess
      expect(dynamoCalls()).toEqual({ UpdateItem: 2 });
    });

    it('makes no call when the limits let no target start at all', async () => {
      // Prepare
      cloud.calls.reset();
      // Act
      const index = await store.reserveTarget('exec-parent', { concurrencyLimit: 0, errorLimit: 0, total: 3 });
      // Assess
      expect(index).toBeUndefined();
      expect(dynamoCalls()).toEqual({});
    });

    it('reads the due executions and a page of the list with 1 Query each', async () => {
      // Prepare
      for (let i = 0; i < 3; i++) await store.create(execution({ executionId: `exec-${i}`, createdAt: `2026-11-22T06:0${i}:00.000Z` }));
      cloud.calls.reset();
      // Act
      await store.listDue(new Date('2026-11-22T07:00:00.000Z'), 2);
      await store.list({ limit: 2 });
      // Assess
      expect(dynamoCalls()).toEqual({ Query: 2 });
    });
  });
});
