import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoNoticeStore } from '@opsauto/aws';
import { InMemoryNoticeStore } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { notice, noticeStoreContract } from './notice-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

noticeStoreContract('in memory', () => Promise.resolve(new InMemoryNoticeStore()));
noticeStoreContract('DynamoDB on localcloud', async () => new DynamoNoticeStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud)));

describe('DynamoNoticeStore listing through gsi1', () => {
  it('lists more notices than one BatchGetItem reads, whole and in order, although gsi1 projects none of their attributes', async () => {
    // Prepare
    const store = new DynamoNoticeStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud));
    const dueAt = (i: number) => new Date(Date.parse('2027-01-01T00:00:00Z') + i * 60_000).toISOString();
    for (let i = 0; i < 130; i++) await store.claim(notice({ parameter: `/p/${i % 7}`, dueAt: dueAt(i) }));
    // Act
    const listed = await store.list({ limit: 120 });
    // Assess
    expect(listed).toHaveLength(120);
    expect(listed[0]).toEqual(notice({ parameter: '/p/3', dueAt: dueAt(129) }));
    expect(listed.map((n) => n.dueAt)).toEqual(Array.from({ length: 120 }, (_, i) => dueAt(129 - i)));
  });
});
