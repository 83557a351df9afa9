import { afterAll, beforeAll } from 'vitest';
import { AwsClients, DynamoPublicationStore } from '@opsauto/aws';
import { InMemoryPublicationStore } from '@opsauto/core';
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
