import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { InMemoryExecutionStore, fixedClock } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { STORE_NOW, execution, executionStoreContract, next, refusal } from './execution-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

executionStoreContract('in memory', () => Promise.resolve(new InMemoryExecutionStore()));
executionStoreContract('DynamoDB on localcloud', async () => new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud), { clock: fixedClock(STORE_NOW) }));

const dynamoCalls = () => cloud.calls.snapshot().dynamodb ?? {};

describe('DynamoExecutionStore on localcloud', () => {
  let clients: AwsClients;
  let table: string;
  let store: DynamoExecutionStore;
  beforeEach(async () => {
    clients = new AwsClients('us-east-1', clientConfig(cloud));
    table = await createTestTable(cloud);
    store = new DynamoExecutionStore(clients, table, { clock: fixedClock(STORE_NOW) });
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
    it('keeps an unfinished top-level execution under runbook#<id> / execution, listed under its creation day, due at its later wake-up or lease in its shard, without TTL', async () => {
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
        gsi1pk: 'runbooks#2026-11-22',
        gsi1sk: '2026-11-22T06:00:00.000Z#exec-0001',
        gsi2pk: expect.stringMatching(/^runbook-due#[0-7]$/),
        gsi2sk: '2026-11-22T06:10:00.000Z#exec-0001',
      });
      expect(item).not.toHaveProperty('expiresAt');
    });

    it('spreads due executions over the 8 shards by ID, the same shard every time for one ID', async () => {
      // Act
      for (let i = 0; i < 64; i++) await store.create(execution({ executionId: `exec-${i}` }));
      const { execution: first } = await read('exec-7');
      await store.save(next(first, { status: 'Waiting', wakeAt: '2026-11-22T09:00:00.000Z' }));
      // Assess
      const shards = new Set<string>();
      for (let i = 0; i < 64; i++) shards.add((await partition(`exec-${i}`)).execution?.gsi2pk as string);
      expect([...shards].sort()).toEqual(Array.from({ length: 8 }, (_, n) => `runbook-due#${n}`));
      const before = (await partition('exec-7')).execution?.gsi2pk;
      expect(before).toMatch(/^runbook-due#[0-7]$/);
      expect(await store.listDue(new Date('2026-11-22T08:00:00.000Z'), 100)).toHaveLength(63);
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
      expect(item).toMatchObject({ status: 'Failed', version: 2, gsi1pk: 'runbooks#2026-11-22' });
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

  describe('TTL', () => {
    const epoch = (iso: string) => Date.parse(iso) / 1000;

    it('gives an ended execution expiresAt = endedAt + 90 days, and an ended child the same', async () => {
      // Prepare
      await store.create(execution());
      await store.create(execution({ executionId: 'exec-child', parentExecutionId: 'exec-0001', targetIndex: 0 }));
      const { execution: parent } = await read('exec-0001');
      const { execution: child } = await read('exec-child');
      // Act
      await store.save(next(parent, { status: 'Success', endedAt: '2026-11-22T06:02:00.000Z' }));
      await store.save(next(child, { status: 'Failed', endedAt: '2026-11-22T06:03:00.500Z' }));
      // Assess
      expect((await partition('exec-0001')).execution?.expiresAt).toBe(epoch('2026-11-22T06:02:00.000Z') + 90 * 86_400);
      expect((await partition('exec-child')).execution?.expiresAt).toBe(epoch('2026-11-22T06:03:00.000Z') + 90 * 86_400);
    });

    it('drops the TTL again when an ended execution is saved unfinished', async () => {
      // Prepare
      await store.create(execution({ status: 'Failed', endedAt: '2026-11-22T06:02:00.000Z' }));
      const { execution: ended } = await read('exec-0001');
      // Act
      await store.save(next(ended, { status: 'InProgress', endedAt: undefined }));
      // Assess
      expect((await partition('exec-0001')).execution).not.toHaveProperty('expiresAt');
    });

    it('gives a signal expiresAt = when it was written + ttlDays, with ttlDays from the options', async () => {
      // Prepare
      const weekly = new DynamoExecutionStore(clients, table, { ttlDays: 7, clock: fixedClock(STORE_NOW) });
      await weekly.create(execution());
      // Act
      await weekly.signal('exec-0001', { kind: 'Cancel', at: '2026-11-01T00:00:00.000Z' });
      // Assess
      const items = await partition('exec-0001');
      const signal = Object.entries(items).find(([sk]) => sk.startsWith('signal#'))?.[1];
      expect(signal?.expiresAt).toBe(STORE_NOW.getTime() / 1000 + 7 * 86_400);
    });

    it('gives the counters of a rate-controlled parent the parent TTL when it is saved ended, and writes none when there are no counters', async () => {
      // Prepare
      const rateControl = { targetParameterName: 'InstanceId', targets: ['i-1'], maxConcurrency: '1', maxErrors: '0', concurrencyLimit: 1, errorLimit: 0 };
      await store.create(execution({ rateControl }));
      await store.create(execution({ executionId: 'exec-idle', rateControl }));
      await store.reserveTarget('exec-0001', { concurrencyLimit: 1, errorLimit: 0, total: 1 });
      await store.finishTarget('exec-0001', 0, 'succeeded');
      expect((await partition('exec-0001')).counters).not.toHaveProperty('expiresAt');
      const { execution: parent } = await read('exec-0001');
      const { execution: idle } = await read('exec-idle');
      // Act
      await store.save(next(parent, { status: 'CompletedWithSuccess', endedAt: '2026-11-22T07:00:00.000Z' }));
      await store.save(next(idle, { status: 'Cancelled', endedAt: '2026-11-22T07:00:00.000Z' }));
      // Assess
      expect((await partition('exec-0001')).counters?.expiresAt).toBe(epoch('2026-11-22T07:00:00.000Z') + 90 * 86_400);
      expect(Object.keys(await partition('exec-idle'))).toEqual(['execution']);
    });

    it('keeps a refusal under runbook-refusals#<day> with expiresAt = at + ttlDays', async () => {
      // Act
      await store.recordRefusal(refusal({ at: '2026-11-22T06:00:00Z' }));
      // Assess
      const out = await clients.dynamo().send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'runbook-refusals#2026-11-22' } }));
      expect(out.Items).toEqual([expect.objectContaining({ sk: expect.stringMatching(/^2026-11-22T06:00:00\.000Z#[0-9a-f-]{36}$/), type: 'runbook-refusal', expiresAt: epoch('2026-11-22T06:00:00Z') + 90 * 86_400 })]);
    });

    it('throws ValidationError naming ttlDays when it is not 1 to 3650', () => {
      // Act
      const making = () => new DynamoExecutionStore(clients, table, { ttlDays: 0 });
      // Assess
      expect(making).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'ttlDays' }));
    });
  });

  describe('listing horizon', () => {
    it('lists executions created up to ttlDays ago and a day ahead of its clock, and none older', async () => {
      // Prepare
      const weekly = new DynamoExecutionStore(clients, table, { ttlDays: 7, clock: fixedClock(STORE_NOW) });
      await weekly.create(execution({ executionId: 'exec-ahead', createdAt: '2026-11-23T01:00:00.000Z' }));
      await weekly.create(execution({ executionId: 'exec-oldest-kept', createdAt: '2026-11-15T00:00:00.000Z' }));
      await weekly.create(execution({ executionId: 'exec-too-old', createdAt: '2026-11-14T23:59:59.999Z' }));
      // Act
      const page = await weekly.list();
      // Assess
      expect(page.executions.map((e) => e.executionId)).toEqual(['exec-ahead', 'exec-oldest-kept']);
      expect(await weekly.get('exec-too-old')).toBeDefined();
    });
  });

  describe('listing tokens', () => {
    it('walks no further ahead than tomorrow when a token names a day far in the future', async () => {
      // Prepare
      await store.create(execution());
      const token = Buffer.from(JSON.stringify({ c: '9999-01-01T00:00:00.000Z', i: 'exec-x' }), 'utf8').toString('base64url');
      cloud.calls.reset();
      // Act
      const page = await store.list({ nextToken: token });
      // Assess
      expect(page.executions.map((e) => e.executionId)).toEqual(['exec-0001']);
      expect(dynamoCalls().Query).toBe(92);
    });
  });

  describe('index projections', () => {
    it('keeps only summary fields in gsi1 and only keys in gsi2', async () => {
      // Prepare
      await store.create(execution({ status: 'Waiting', wakeAt: '2026-11-22T06:10:00.000Z' }));
      const { execution: gsi2item } = await partition('exec-0001');
      // Act
      const listed = await clients.dynamo().send(new QueryCommand({ TableName: table, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': 'runbooks#2026-11-22' } }));
      const due = await clients.dynamo().send(new QueryCommand({ TableName: table, IndexName: 'gsi2', KeyConditionExpression: 'gsi2pk = :pk', ExpressionAttributeValues: { ':pk': gsi2item?.gsi2pk } }));
      // Assess
      // region and version are there because the AMI publisher's family heads, listed through gsi1 too, have them.
      expect(Object.keys(listed.Items?.[0] ?? {}).sort()).toEqual(['createdAt', 'documentName', 'executionId', 'gsi1pk', 'gsi1sk', 'pk', 'region', 'sk', 'status', 'version', 'wakeAt']);
      expect(Object.keys(due.Items?.[0] ?? {}).sort()).toEqual(['gsi2pk', 'gsi2sk', 'pk', 'sk']);
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

    it('reads the due executions with 1 Query per shard, and a page of today with 2 (tomorrow and today)', async () => {
      // Prepare
      for (let i = 0; i < 3; i++) await store.create(execution({ executionId: `exec-${i}`, createdAt: `2026-11-22T06:0${i}:00.000Z` }));
      cloud.calls.reset();
      // Act
      await store.listDue(new Date('2026-11-22T07:00:00.000Z'), 2);
      const due = dynamoCalls();
      cloud.calls.reset();
      await store.list({ limit: 2 });
      // Assess
      expect(due).toEqual({ Query: 8 });
      expect(dynamoCalls()).toEqual({ Query: 2 });
    });

    it('reads at most the 91 days back to the horizon when the listing is short', async () => {
      // Prepare
      cloud.calls.reset();
      // Act
      const page = await store.list();
      // Assess: tomorrow, today and 90 days back.
      expect(page.executions).toEqual([]);
      expect(dynamoCalls()).toEqual({ Query: 92 });
    });
  });
});

describe('DynamoExecutionStore TTL on localcloud clock', () => {
  it('lets localcloud delete an ended execution and its signals once ttlDays have passed, and keeps an unfinished one', async () => {
    // Prepare: a cloud of its own, since its clock moves 8 days; the store reads the same virtual clock.
    const own = await startTestCloud();
    try {
      const clients = new AwsClients('us-east-1', clientConfig(own));
      const ownTable = await createTestTable(own);
      const store = new DynamoExecutionStore(clients, ownTable, { ttlDays: 7, clock: own.clock });
      const now = own.clock.now().toISOString();
      await store.create(execution({ executionId: 'exec-ended', createdAt: now }));
      await store.create(execution({ executionId: 'exec-running', createdAt: now, status: 'InProgress' }));
      await store.signal('exec-ended', { kind: 'Cancel', at: now });
      const ended = await store.get('exec-ended');
      await store.save(next(ended!.execution, { status: 'Cancelled', endedAt: now }), []);
      await own.advance('P6D');
      expect(await store.get('exec-ended')).toBeDefined();
      // Act
      await own.advance('P2D');
      // Assess
      expect(await store.get('exec-ended')).toBeUndefined();
      const left = await clients.dynamo().send(new QueryCommand({ TableName: ownTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'runbook#exec-ended' }, ConsistentRead: true }));
      expect(left.Items).toEqual([]);
      expect((await store.get('exec-running'))?.execution.status).toBe('InProgress');
    } finally {
      await own.stop();
    }
  });
});
