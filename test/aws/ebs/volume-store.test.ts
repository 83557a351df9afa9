import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoVolumeStore } from '@opsauto/aws';
import { InMemoryVolumeStore, fixedClock } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { runSummary, volumeRecord, volumeStoreContract } from './volume-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

volumeStoreContract('in memory', () => Promise.resolve(new InMemoryVolumeStore()));
volumeStoreContract('DynamoDB on localcloud', async () => new DynamoVolumeStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud)));

const dynamoCalls = () => cloud.calls.snapshot().dynamodb ?? {};

describe('DynamoVolumeStore on localcloud', () => {
  let clients: AwsClients;
  let table: string;
  let store: DynamoVolumeStore;
  beforeEach(async () => {
    clients = new AwsClients('us-east-1', clientConfig(cloud));
    table = await createTestTable(cloud);
    store = new DynamoVolumeStore(clients, table, { clock: fixedClock('2026-11-22T06:00:00.000Z') });
    cloud.calls.reset();
  });
  const item = async (pk: string, sk: string) => (await clients.dynamo().send(new GetCommand({ TableName: table, Key: { pk, sk } }))).Item;

  it('writes 60 new records in 3 BatchWriteItem calls and deletes them in 3 more', async () => {
    // Prepare
    const records = Array.from({ length: 60 }, (_, i) => volumeRecord({ volumeId: `vol-${String(i).padStart(17, '0')}` }));
    // Act
    await store.put(records);
    await store.delete(records);
    // Assess
    expect(dynamoCalls()).toEqual({ BatchWriteItem: 6 });
  });

  it('makes no call at all for an empty put or delete, as a steady-state scan asks', async () => {
    await store.put([]);
    await store.delete([]);
    expect(dynamoCalls()).toEqual({});
  });

  it('keeps a record under pk vol#<account>#<region> and sk <volumeId>, with type, createdAt and updatedAt', async () => {
    // Act
    await store.put([volumeRecord({ firstSeenAt: '2026-10-01T06:00:00.000Z', status: 'filed', opsItemId: 'oi-0123456789ab', version: 2 })]);
    // Assess
    expect(await item('vol#000000000000#us-east-1', 'vol-0000000000000001')).toMatchObject({
      type: 'ebs-volume',
      createdAt: '2026-10-01T06:00:00.000Z',
      updatedAt: '2026-11-22T06:00:00.000Z',
      status: 'filed',
      opsItemId: 'oi-0123456789ab',
      version: 2,
    });
  });

  it('keeps region state under volscan#<account>#<region> and runs under volrun, sorted by <startedAt>#<runId>, with a TTL', async () => {
    // Act
    await store.putRegionState({ account: '000000000000', region: 'us-east-1', firstScanAt: '2026-10-01T06:00:00.000Z', lastScanAt: '2026-11-22T06:00:00.000Z' });
    await store.putRun(runSummary());
    // Assess
    expect(await item('volscan#000000000000#us-east-1', 'state')).toMatchObject({ type: 'ebs-region-scan', createdAt: '2026-10-01T06:00:00.000Z', updatedAt: '2026-11-22T06:00:00.000Z' });
    const run = await item('volrun', '2026-11-22T06:00:00.000Z#run-1');
    expect(run).toMatchObject({ type: 'ebs-scan-run', createdAt: '2026-11-22T06:00:00.000Z', updatedAt: '2026-11-22T06:00:05.000Z' });
    expect(run?.expiresAt).toBe(Date.parse('2026-11-22T06:00:00.000Z') / 1000 + 365 * 86_400);
  });

  it('reads the newest runs with one Query when the limit is small', async () => {
    for (let i = 0; i < 5; i++) await store.putRun(runSummary({ runId: `run-${i}`, startedAt: `2026-11-2${i}T06:00:00.000Z` }));
    cloud.calls.reset();
    expect((await store.listRuns(2)).map((r) => r.runId)).toEqual(['run-4', 'run-3']);
    expect(dynamoCalls()).toEqual({ Query: 1 });
  });
});
