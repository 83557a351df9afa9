import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AutomationCheck, AutomationCheckStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/**
 * The last check of each period-checking automation, one item each (`pk = automation#<name>`, `sk = check`): one put
 * that returns the item it replaced, so the check before is read and the new one written in a single call. The item
 * holds the check's start executions and reports: 2,000 instances' IDs are some 40 KB, well under DynamoDB's 400 KB.
 */
export class DynamoAutomationCheckStore implements AutomationCheckStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async swap(automation: string, check: AutomationCheck): Promise<AutomationCheck | undefined> {
    const { Attributes } = await this.clients.dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `automation#${automation}`, sk: 'check', type: 'automation-check', ...check, updatedAt: check.at },
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (!Attributes) return undefined;
    const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
    return {
      at: String(Attributes.at),
      retryIds: list(Attributes.retryIds),
      starts: Array.isArray(Attributes.starts) ? (Attributes.starts as { executionId: string; ids: string[] }[]) : [],
      failed: typeof Attributes.failed === 'object' && Attributes.failed !== null ? (Attributes.failed as Record<string, string>) : {},
      reported: list(Attributes.reported),
    };
  }
}
