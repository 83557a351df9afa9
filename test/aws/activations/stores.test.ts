import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AwsClients, DynamoIssuanceStore, DynamoTokenStore } from '@opsauto/aws';
import { InMemoryIssuanceStore, InMemoryTokenStore, newToken } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { issuance, issuanceStoreContract } from './issuance-store.contract.js';
import { token, tokenStoreContract } from './token-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

const clients = () => new AwsClients('us-east-1', clientConfig(cloud));

tokenStoreContract('in memory', () => Promise.resolve(new InMemoryTokenStore()));
tokenStoreContract('DynamoDB on localcloud', async () => new DynamoTokenStore(clients(), await createTestTable(cloud)));
issuanceStoreContract('in memory', () => Promise.resolve(new InMemoryIssuanceStore()));
issuanceStoreContract('DynamoDB on localcloud', async () => new DynamoIssuanceStore(clients(), await createTestTable(cloud)));

describe('DynamoTokenStore in the table', () => {
  it('stores the hash of the secret and never the token string', async () => {
    // Prepare
    const c = clients();
    const table = await createTestTable(cloud);
    const store = new DynamoTokenStore(c, table);
    const made = newToken();
    // Act
    await store.create(token({ id: made.id, secretHash: made.secretHash }));
    // Assess
    const items = (await c.dynamo().send(new ScanCommand({ TableName: table }))).Items ?? [];
    const raw = JSON.stringify(items);
    expect(items).toHaveLength(1);
    expect(raw).toContain(made.secretHash);
    expect(raw).not.toContain(made.token.split('.')[1]);
  });
});

describe('DynamoIssuanceStore in the table', () => {
  it('writes the pointers a failure after the issuance left out when the issuance is recorded again', async () => {
    // Prepare: the issuance item alone, as a record() that failed after its first write leaves it
    const c = clients();
    const table = await createTestTable(cloud);
    const store = new DynamoIssuanceStore(c, table);
    await store.record(issuance());
    const pointers = ((await c.dynamo().send(new ScanCommand({ TableName: table }))).Items ?? []).filter((i) => String(i.pk).startsWith('token#'));
    expect(pointers).toHaveLength(2);
    for (const p of pointers) await c.dynamo().send(new DeleteCommand({ TableName: table, Key: { pk: p.pk, sk: p.sk } }));
    expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toBeUndefined();
    // Act
    await store.record(issuance({ sourceIp: '198.51.100.1' }));
    // Assess
    expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toEqual(issuance());
    expect(await store.list({ tokenId: 'tok_aaaaaaaaaaaaaaaa' })).toEqual([issuance()]);
  });

  it('keeps no activation code and takes the issuance out of the open index once deleted', async () => {
    const c = clients();
    const table = await createTestTable(cloud);
    const store = new DynamoIssuanceStore(c, table);
    await store.record(issuance());
    await store.update(issuance().activationId, { deletedAt: '2027-01-02T01:00:00.000Z' });
    const out = await c.dynamo().send(new GetCommand({ TableName: table, Key: { pk: `activation#${issuance().activationId}`, sk: 'issuance' } }));
    expect(out.Item).toMatchObject({ deletedAt: '2027-01-02T01:00:00.000Z' });
    expect(out.Item).not.toHaveProperty('gsi2pk');
    expect(Object.keys(out.Item ?? {}).some((k) => /code/i.test(k))).toBe(false);
  });
});
