import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig } from './localcloud.js';

let counter = 0;

/** Creates a fresh opsauto table in localcloud's DynamoDB and returns its name. */
export async function createTestTable(cloud: Localcloud): Promise<string> {
  const name = `opsauto-test-${process.pid}-${++counter}-state`;
  await ensureTable(new DynamoDBClient(clientConfig(cloud)), name);
  return name;
}

/**
 * Points functions imported by a test at localcloud, as the local stage does: the SDK's endpoint, a region, test
 * credentials, a fresh state table and the config, stage `test`. Returns the table name. Metrics (EMF lines on
 * stdout) are off unless `metrics` is true; they are read when the function's modules are first imported.
 */
export async function functionEnvironment(cloud: Localcloud, logLevel = 'SILENT', { metrics = false } = {}): Promise<string> {
  const table = await createTestTable(cloud);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: cloud.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TABLE_NAME: table,
    OPSAUTO_CONFIG: JSON.stringify({ regions: ['us-east-1'] }),
    POWERTOOLS_LOG_LEVEL: logLevel,
    POWERTOOLS_METRICS_DISABLED: String(!metrics),
    OPSAUTO_STAGE: 'test',
  });
  return table;
}
