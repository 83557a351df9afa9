import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AutomationCheck, AutomationCheckStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/**
 * The last check of each period-checking automation, one item each (`pk = automation#<name>`, `sk = check`): one put
 * that returns the item it replaced, so the check before is read and the new one written in a single call.
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
        Item: { pk: `automation#${automation}`, sk: 'check', type: 'automation-check', at: check.at, retryIds: check.retryIds, updatedAt: check.at },
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (!Attributes) return undefined;
    return { at: String(Attributes.at), retryIds: Array.isArray(Attributes.retryIds) ? (Attributes.retryIds as string[]) : [] };
  }
}
