import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoVolumeStore } from '@opsauto/aws';
import { volumeRecord } from './volume-store.contract.js';

// The exact call sequence matters here, and dynalite never leaves items unprocessed: the SDK client is mocked.
describe('DynamoVolumeStore batch retries', () => {
  const mock = mockClient(DynamoDBDocumentClient);
  const store = (maxAttempts: number) => new DynamoVolumeStore(new AwsClients('us-east-1', { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), 'state', { batchRetry: { maxAttempts, baseDelayMs: 1 } });
  afterEach(() => mock.reset());
  afterAll(() => mock.restore());

  it('resends only the unprocessed items when BatchWriteItem leaves some', async () => {
    // Prepare
    const left = { PutRequest: { Item: { pk: 'vol#000000000000#us-east-1', sk: 'vol-0000000000000002' } } };
    mock.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { state: [left] } }).resolves({ UnprocessedItems: {} });
    // Act
    await store(3).put([volumeRecord(), volumeRecord({ volumeId: 'vol-0000000000000002' })]);
    // Assess
    const calls = mock.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input.RequestItems?.state).toHaveLength(2);
    expect(calls[1].args[0].input.RequestItems).toEqual({ state: [left] });
  });

  it('gives up with an error after the last attempt when items stay unprocessed', async () => {
    // Prepare
    mock.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({ UnprocessedItems: input.RequestItems }));
    // Act
    const write = store(3).delete([volumeRecord()]);
    // Assess
    await expect(write).rejects.toThrow(/left 1 of 1 writes unprocessed after 3 attempts/);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });
});
