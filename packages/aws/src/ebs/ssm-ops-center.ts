import { CreateOpsItemCommand, OpsItemAlreadyExistsException, OpsItemLimitExceededException, paginateDescribeOpsItems, SSMClient, UpdateOpsItemCommand, type OpsItemDataValue } from '@aws-sdk/client-ssm';
import { OpsItemLimitError, ThrottledError, type OpsCenter, type StaleVolumeOpsItem } from '@opsauto/core';
import { isAwsError } from '../errors.js';
import type { AccountClients } from './account-clients.js';

/**
 * The OperationalData key that holds the note of a resolution. UpdateOpsItem has no comment or note field
 * (its request takes Description, OperationalData, OperationalDataToDelete, Notifications, Priority,
 * RelatedOpsItems, Status, Title, Category, Severity and the four times), so the note goes into
 * OperationalData, where GetOpsItem shows it beside the rest of the item. Keys may not start with aws, amazon,
 * amzn or ssm.
 */
export const RESOLUTION_KEY = 'opsauto:resolution';

/** Throttling codes that reach us only after the SDK's own retries gave up. */
const THROTTLING = ['ThrottlingException', 'Throttling', 'TooManyUpdates', 'RequestLimitExceeded'];

/**
 * OpsCenter over SSM CreateOpsItem / UpdateOpsItem, in the volume's account (through its role) and region.
 *
 * @example
 * ```ts
 * const opsCenter = new SsmOpsCenter(accounts);
 * const { opsItemId, created } = await opsCenter.create('000000000000', 'us-east-1', staleVolumeOpsItem(volume, record, now, config));
 * ```
 */
export class SsmOpsCenter implements OpsCenter {
  constructor(private readonly accounts: AccountClients) {}

  async create(account: string, region: string, item: StaleVolumeOpsItem): Promise<{ opsItemId: string; created: boolean }> {
    const data: Record<string, OpsItemDataValue> = {};
    for (const [key, { value, searchable }] of Object.entries(item.operationalData)) data[key] = { Value: value, Type: searchable ? 'SearchableString' : 'String' };
    // OpsCenter deduplicates on /aws/dedup only: never file without it.
    data['/aws/dedup'] ??= { Value: JSON.stringify({ dedupString: item.dedupString }), Type: 'SearchableString' };
    try {
      const out = await this.ssm(account, region).send(
        new CreateOpsItemCommand({
          Title: item.title,
          Description: item.description,
          Source: item.source,
          Category: item.category,
          Severity: item.severity,
          Priority: item.priority,
          OperationalData: data,
        }),
      );
      if (!out.OpsItemId) throw new Error(`CreateOpsItem for ${item.dedupString} returned no OpsItemId`);
      return { opsItemId: out.OpsItemId, created: true };
    } catch (e) {
      // An Open or InProgress item has this dedup string: that one is the volume's item.
      if (e instanceof OpsItemAlreadyExistsException && e.OpsItemId) return { opsItemId: e.OpsItemId, created: false };
      if (e instanceof OpsItemLimitExceededException) throw new OpsItemLimitError(`${account} ${region}: ${e.message}`);
      throw mapThrottling(e);
    }
  }

  async findOpen(account: string, region: string, dedupString: string): Promise<string | undefined> {
    // The dedup string is not searchable; opsauto's own `volumeId` data is, and the dedup string names the volume.
    const volumeId = dedupString.split(':').at(-1) ?? '';
    try {
      // Followed to the end: OpsCenter may answer a filtered call with an empty page and a NextToken.
      const pages = paginateDescribeOpsItems(
        { client: this.ssm(account, region) },
        {
          OpsItemFilters: [
            { Key: 'Source', Values: ['opsauto'], Operator: 'Equal' },
            { Key: 'Status', Values: ['Open', 'InProgress'], Operator: 'Equal' },
            { Key: 'OperationalData', Values: [JSON.stringify({ key: 'volumeId', value: volumeId })], Operator: 'Equal' },
          ],
        },
      );
      for await (const page of pages) {
        const id = page.OpsItemSummaries?.[0]?.OpsItemId;
        if (id) return id;
      }
      return undefined;
    } catch (e) {
      throw mapThrottling(e);
    }
  }

  async resolve(account: string, region: string, opsItemId: string, note: string): Promise<void> {
    try {
      await this.ssm(account, region).send(new UpdateOpsItemCommand({ OpsItemId: opsItemId, Status: 'Resolved', OperationalData: { [RESOLUTION_KEY]: { Value: note, Type: 'String' } } }));
    } catch (e) {
      // Deleted by an operator: nothing is left to resolve, and failing here would block the region every day.
      if (isAwsError(e, 'OpsItemNotFoundException')) return;
      throw mapThrottling(e);
    }
  }

  private ssm(account: string, region: string): SSMClient {
    return this.accounts.for(account).get(SSMClient, region);
  }
}

function mapThrottling(e: unknown): unknown {
  return isAwsError(e, ...THROTTLING) ? new ThrottledError((e as Error).message, { cause: e }) : e;
}
