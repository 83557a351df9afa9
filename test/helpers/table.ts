import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig } from './localcloud.js';

let counter = 0;

/** Creates a fresh opsauto table in localcloud's DynamoDB and returns its name. */
export async function createTestTable(cloud: Localcloud): Promise<string> {
  const name = `opsauto-test-${process.pid}-${++counter}-state`;
  await new DynamoDBClient(clientConfig(cloud)).send(new CreateTableCommand(createTableInput(name)));
  return name;
}
