import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoPublicationStore } from '@opsauto/aws';
import { InMemoryPublicationStore, type FamilyHead } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';
import { publicationStoreContract } from './publication-store.contract.js';

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

publicationStoreContract('in memory', () => Promise.resolve(new InMemoryPublicationStore()));
publicationStoreContract('DynamoDB on localcloud', async () => new DynamoPublicationStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud)));

describe('DynamoPublicationStore listing through gsi1', () => {
  it('lists each head whole, every optional field included, when gsi1 projects only the attributes it reads', async () => {
    // Prepare
    const store = new DynamoPublicationStore(new AwsClients('us-east-1', clientConfig(cloud)), await createTestTable(cloud));
    const head: FamilyHead = {
      region: 'us-east-1',
      family: 'web',
      parameterName: '/opsauto/ami/web/latest',
      imageId: 'ami-0000000000000000b',
      imageName: 'web-2',
      creationDate: '2026-11-02T00:00:00.000Z',
      highWaterImageId: 'ami-0000000000000000b',
      highWaterCreationDate: '2026-11-02T00:00:00.000Z',
      status: 'pending',
      kind: 'publish',
      parameterVersion: 3,
      updatedAt: '2026-11-22T06:00:00.000Z',
      previous: { imageId: 'ami-0000000000000000a', creationDate: '2026-11-01T00:00:00.000Z', highWaterImageId: 'ami-0000000000000000a', highWaterCreationDate: '2026-11-01T00:00:00.000Z', kind: 'publish', parameterVersion: 2 },
      putBy: 'worker-1',
      putAt: '2026-11-22T06:00:00.000Z',
      warning: 'image ami-0000000000000000a was deregistered',
      warningImageId: 'ami-0000000000000000a',
      version: 4,
    };
    await store.putHead(head, undefined);
    // Act
    const heads = await store.listHeads();
    // Assess
    expect(heads).toStrictEqual([await store.getHead('us-east-1', 'web')]);
    expect(heads[0]).toMatchObject({ ...head, version: expect.any(Number) });
  });
});
