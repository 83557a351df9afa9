import { tableDefinition, tableName } from '@opsauto/aws';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { StackContext } from 'sst/constructs';
import config from '../opsauto.config.js';

/**
 * The one DynamoDB table, from `tableDefinition` (the local stage creates the same table from it).
 * Other stacks use the returned `tableName` and render the ARN themselves, so that no CloudFormation export ties
 * the stacks together; they declare `dependsOn(Storage)` instead.
 */
export function Storage({ stack, app }: StackContext) {
  const d = tableDefinition;
  const name = tableName(config.app, app.stage);
  const table = new dynamodb.Table(stack, 'State', {
    tableName: name,
    partitionKey: { name: d.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: d.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: d.ttlAttribute,
    // Execution state and tokens must survive `sst remove` and a replaced stack.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const gsi of d.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.indexName,
      partitionKey: { name: gsi.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: gsi.sortKey, type: dynamodb.AttributeType.STRING },
      // Only what the index's queries read (see tableDefinition).
      ...(gsi.projection.type === 'INCLUDE'
        ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...gsi.projection.nonKeyAttributes] }
        : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
    });
  }
  stack.addOutputs({ TableName: table.tableName, TableArn: table.tableArn });
  return { table, tableName: name };
}
