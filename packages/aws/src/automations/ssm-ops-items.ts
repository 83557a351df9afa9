import { CreateOpsItemCommand, GetOpsItemCommand, OpsItemAlreadyExistsException, SSMClient, UpdateOpsItemCommand } from '@aws-sdk/client-ssm';
import type { FollowUp, FollowUpStore, OpsItemPort, OpsItemView } from '@opsauto/core';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** The OperationalData key of an automation's note on the item it remediates (keys may not start with aws or ssm). */
export const REMEDIATION_NOTE_KEY = 'opsauto:remediation';

/** OpsItemPort over SSM GetOpsItem / UpdateOpsItem / CreateOpsItem, in the backend's own account. */
export function ssmOpsItems(clients: AwsClients): OpsItemPort {
  return {
    async get(opsItemId, region): Promise<OpsItemView | undefined> {
      try {
        const { OpsItem } = await clients.get(SSMClient, region).send(new GetOpsItemCommand({ OpsItemId: opsItemId }));
        const raw = OpsItem?.OperationalData?.['/aws/resources']?.Value;
        let resources: { arn?: unknown }[] = [];
        try {
          resources = raw ? (JSON.parse(raw) as { arn?: unknown }[]) : [];
        } catch {
          resources = [];
        }
        return { id: opsItemId, status: OpsItem?.Status ?? 'Open', resourceArns: resources.flatMap((r) => (typeof r.arn === 'string' ? [r.arn] : [])) };
      } catch (e) {
        if (isAwsError(e, 'OpsItemNotFoundException')) return undefined;
        throw e;
      }
    },
    async update(opsItemId, region, change) {
      await clients.get(SSMClient, region).send(
        new UpdateOpsItemCommand({ OpsItemId: opsItemId, ...(change.status ? { Status: change.status } : {}), OperationalData: { [REMEDIATION_NOTE_KEY]: { Value: change.note, Type: 'String' } } }),
      );
    },
    async file(region, item) {
      const data = Object.fromEntries(Object.entries(item.data).map(([k, v]) => [k, { Value: v, Type: 'SearchableString' as const }]));
      try {
        const out = await clients.get(SSMClient, region).send(
          new CreateOpsItemCommand({
            Title: item.title.slice(0, 1024),
            Description: item.description.slice(0, 2048),
            Source: 'opsauto',
            Category: item.category,
            Severity: item.severity,
            OperationalData: {
              ...data,
              '/aws/dedup': { Value: JSON.stringify({ dedupString: item.dedupString }), Type: 'SearchableString' },
              '/aws/resources': { Value: JSON.stringify([{ arn: item.resourceArn }]), Type: 'SearchableString' },
            },
          }),
        );
        if (!out.OpsItemId) throw new Error(`CreateOpsItem for ${item.dedupString} returned no OpsItemId`);
        return out.OpsItemId;
      } catch (e) {
        // An Open or InProgress item has this dedup string: the resource is reported already.
        if (e instanceof OpsItemAlreadyExistsException && e.OpsItemId) return e.OpsItemId;
        throw e;
      }
    },
  };
}

/**
 * FollowUpStore in the single table: `pk = followup#<executionId>` finds an execution's item; `pk = followup-item#<id>`
 * holds the item's current remediation (`active`), claimed with a conditional put.
 */
export class DynamoFollowUpStore implements FollowUpStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async claim(followUp: FollowUp): Promise<{ claimed: true } | { claimed: false; executionId: string }> {
    const itemKey = { pk: `followup-item#${followUp.opsItemId}`, sk: 'followup' };
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...itemKey, type: 'automation-follow-up-item', executionId: followUp.executionId, active: true },
          ConditionExpression: 'attribute_not_exists(pk) OR active = :no OR executionId = :id',
          ExpressionAttributeValues: { ':no': false, ':id': followUp.executionId },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const { Item } = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }));
      return { claimed: false, executionId: String(Item?.executionId) };
    }
    await this.clients.dynamo().send(new PutCommand({ TableName: this.tableName, Item: { pk: `followup#${followUp.executionId}`, sk: 'followup', type: 'automation-follow-up', ...followUp } }));
    return { claimed: true };
  }

  async get(executionId: string): Promise<FollowUp | undefined> {
    const { Item } = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk: `followup#${executionId}`, sk: 'followup' } }));
    if (!Item) return undefined;
    return { executionId: String(Item.executionId), automation: String(Item.automation), opsItemId: String(Item.opsItemId), region: String(Item.region) };
  }

  async release(followUp: FollowUp): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `followup-item#${followUp.opsItemId}`, sk: 'followup' },
          UpdateExpression: 'SET active = :no',
          ConditionExpression: 'executionId = :id',
          ExpressionAttributeValues: { ':no': false, ':id': followUp.executionId },
        }),
      );
    } catch (e) {
      // A later remediation holds the item now: it is not this one's to release.
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }
}
