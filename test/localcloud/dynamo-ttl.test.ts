import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { ensureTable, tableDefinition } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';

let counter = 0;
const newName = () => `ttl-test-${process.pid}-${++counter}`;

/** A table keyed by `id` alone, made through the SDK. */
async function createTable(ddb: DynamoDBClient, name: string): Promise<void> {
  await ddb.send(
    new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
  );
  await waitUntilTableExists({ client: ddb, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { TableName: name });
}

const enable = (name: string, attribute = 'expiresAt') => new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } });
const disable = (name: string, attribute = 'expiresAt') => new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: false } });

describe('localcloud DynamoDB TTL', () => {
  let cloud: Localcloud;
  let ddb: DynamoDBClient;
  beforeAll(async () => {
    cloud = await startTestCloud();
    ddb = new DynamoDBClient(clientConfig(cloud));
  });
  afterAll(async () => {
    await cloud.stop();
  });

  const ids = async (name: string) => ((await ddb.send(new ScanCommand({ TableName: name, ConsistentRead: true }))).Items ?? []).map((i) => i.id?.S).sort();
  const nowS = () => Math.floor(cloud.clock.nowMs() / 1000);

  describe('UpdateTimeToLive and DescribeTimeToLive', () => {
    it('describes TTL as DISABLED on a new table, and ENABLED on the attribute once enabled', async () => {
      // Prepare
      const name = newName();
      await createTable(ddb, name);
      const before = await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }));
      // Act
      const updated = await ddb.send(enable(name));
      const after = await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }));
      // Assess
      expect(before.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
      expect(updated.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
      expect(after.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    });

    it('accepts the table ARN as TableName', async () => {
      // Prepare
      const name = newName();
      await createTable(ddb, name);
      // Act
      await ddb.send(enable(`arn:aws:dynamodb:us-east-1:000000000000:table/${name}`));
      // Assess
      expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
    });

    it('refuses to enable TTL that is enabled and to disable TTL that is disabled, with ValidationException', async () => {
      // Prepare
      const name = newName();
      await createTable(ddb, name);
      const disabling = ddb.send(disable(name));
      await expect(disabling).rejects.toMatchObject({ name: 'ValidationException', message: 'TimeToLive is already disabled' });
      await ddb.send(enable(name));
      // Act
      const enablingAgain = ddb.send(enable(name));
      // Assess
      await expect(enablingAgain).rejects.toMatchObject({ name: 'ValidationException', message: 'TimeToLive is already enabled' });
    });

    it('refuses a second change within an hour of the last, and takes it once the hour has passed', async () => {
      // Prepare
      const name = newName();
      await createTable(ddb, name);
      await ddb.send(enable(name));
      // Act
      const tooSoon = ddb.send(disable(name));
      await expect(tooSoon).rejects.toMatchObject({ name: 'ValidationException', message: 'Time to live has been modified multiple times within a fixed interval' });
      await cloud.advance('PT1H');
      await ddb.send(disable(name));
      // Assess
      expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
    });

    it('answers ResourceNotFoundException for a table that does not exist, and a ValidationException naming a missing member', async () => {
      // Act and assess, one call at a time (a rejection left waiting while another is awaited counts as unhandled).
      await expect(ddb.send(new DescribeTimeToLiveCommand({ TableName: 'no-such-table' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        message: 'Requested resource not found: Table: no-such-table not found',
      });
      await expect(ddb.send(enable('no-such-table'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(ddb.send(new UpdateTimeToLiveCommand({ TableName: 'no-such-table', TimeToLiveSpecification: { AttributeName: 'expiresAt' } as never }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining("'timeToLiveSpecification.enabled'"),
      });
    });

    it('starts with TTL off on a table deleted and made again under the same name', async () => {
      // Prepare
      const name = newName();
      await createTable(ddb, name);
      await ddb.send(enable(name));
      await ddb.send(new DeleteTableCommand({ TableName: name }));
      await waitUntilTableNotExists({ client: ddb, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { TableName: name });
      // Act
      await createTable(ddb, name);
      // Assess
      expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
    });
  });

  describe('expiry on the virtual clock', () => {
    let name: string;
    beforeEach(async () => {
      // Prepare
      name = newName();
      await createTable(ddb, name);
      await ddb.send(enable(name));
    });

    it('deletes an item whose expiresAt is past after advance, and keeps one in the future, one without and one of another type', async () => {
      // Prepare
      const put = (id: string, extra: Record<string, { N: string } | { S: string }> = {}) => ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: id }, ...extra } }));
      await put('past', { expiresAt: { N: String(nowS() - 60) } });
      await put('future', { expiresAt: { N: String(nowS() + 86_400) } });
      await put('no-ttl');
      await put('string-ttl', { expiresAt: { S: String(nowS() - 60) } });
      await put('six-years-ago', { expiresAt: { N: String(nowS() - 6 * 365 * 86_400) } });
      expect(await ids(name)).toHaveLength(5);
      // Act
      await cloud.advance('1m');
      // Assess
      expect(await ids(name)).toEqual(['future', 'no-ttl', 'six-years-ago', 'string-ttl']);
    });

    it('deletes an item once the clock passes its expiresAt, and not before', async () => {
      // Prepare
      await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: 'tomorrow' }, expiresAt: { N: String(nowS() + 86_400) } } }));
      // Act
      await cloud.advance('PT23H');
      const before = await ids(name);
      await cloud.advance('PT2H');
      // Assess
      expect(before).toEqual(['tomorrow']);
      expect(await ids(name)).toEqual([]);
    });

    it('deletes nothing from a table whose TTL is off', async () => {
      // Prepare
      const off = newName();
      await createTable(ddb, off);
      await ddb.send(new PutItemCommand({ TableName: off, Item: { id: { S: 'past' }, expiresAt: { N: String(nowS() - 60) } } }));
      // Act
      await cloud.advance('P3D');
      // Assess
      expect(await ids(off)).toEqual(['past']);
    });
  });

  describe('ensureTable', () => {
    it('turns TTL on expiresAt on with one UpdateTimeToLive, and leaves it when called again', async () => {
      // Prepare
      const name = newName();
      cloud.calls.reset();
      // Act
      await ensureTable(ddb, name);
      await ensureTable(ddb, name);
      // Assess
      const calls = cloud.calls.snapshot().dynamodb;
      expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: tableDefinition.ttlAttribute });
      expect(calls).toMatchObject({ UpdateTimeToLive: 1, DescribeTimeToLive: 1 });
    });
  });
});

describe('localcloud DynamoDB TTL across restarts', () => {
  let dir: string;
  afterEach(async () => {
    await removeDir(dir);
  });

  it('keeps a table TTL setting when localcloud restarts on its data folder', async () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'localcloud-ttl-'));
    const first = await startTestCloud({ dataDir: dir });
    const name = newName();
    await createTable(new DynamoDBClient(clientConfig(first)), name);
    await new DynamoDBClient(clientConfig(first)).send(enable(name));
    await first.stop();
    // Act
    const second = await startTestCloud({ dataDir: dir });
    const described = await new DynamoDBClient(clientConfig(second)).send(new DescribeTimeToLiveCommand({ TableName: name })).finally(() => second.stop());
    // Assess
    expect(described.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });
});
