import { EC2Client, paginateDescribeVolumes, type Filter, type Volume } from '@aws-sdk/client-ec2';
import { mapBounded, type VolumeInfo, type VolumeInventory } from '@opsauto/core';
import type { AccountClients } from './account-clients.js';

/** DescribeVolumes' largest page ("This value can be between 5 and 500", API reference, MaxResults). */
export const DESCRIBE_VOLUMES_PAGE_SIZE = 500;
/** Filter values in one EC2 request: above 200, EC2 answers FilterLimitExceeded. */
export const FILTER_VALUES_MAX = 200;
/** Chunks of `describe` asked at the same time. */
const DESCRIBE_CONCURRENCY = 4;

/**
 * VolumeInventory over EC2 DescribeVolumes, in the account's own credentials or its role's.
 *
 * @example
 * ```ts
 * const inventory = new Ec2VolumeInventory(accounts);
 * for await (const page of inventory.listUnattached('111122223333', 'eu-west-1')) console.log(page.length);
 * ```
 */
export class Ec2VolumeInventory implements VolumeInventory {
  constructor(private readonly accounts: AccountClients) {}

  /** One DescribeVolumes call per page of 500 `available` volumes, each page yielded as it arrives. */
  async *listUnattached(account: string, region: string): AsyncIterable<VolumeInfo[]> {
    yield* this.pages(account, region, [{ Name: 'status', Values: ['available'] }]);
  }

  /**
   * The volumes of `volumeIds` that still exist. Asked by a `volume-id` filter, 200 values a request: with
   * `VolumeIds` one deleted volume fails the whole call with InvalidVolume.NotFound; a filter just leaves it out.
   */
  async describe(account: string, region: string, volumeIds: string[]): Promise<VolumeInfo[]> {
    const ids = [...new Set(volumeIds)];
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += FILTER_VALUES_MAX) chunks.push(ids.slice(i, i + FILTER_VALUES_MAX));
    const found = await mapBounded(chunks, DESCRIBE_CONCURRENCY, async (chunk) => {
      const volumes: VolumeInfo[] = [];
      for await (const page of this.pages(account, region, [{ Name: 'volume-id', Values: chunk }])) volumes.push(...page);
      return volumes;
    });
    return found.flat();
  }

  private async *pages(account: string, region: string, filters: Filter[]): AsyncIterable<VolumeInfo[]> {
    const client = this.accounts.for(account).get(EC2Client, region);
    const pages = paginateDescribeVolumes({ client, pageSize: DESCRIBE_VOLUMES_PAGE_SIZE }, { Filters: filters, MaxResults: DESCRIBE_VOLUMES_PAGE_SIZE });
    for await (const page of pages) yield (page.Volumes ?? []).flatMap((v) => (v.VolumeId ? [toVolumeInfo(v, account, region)] : []));
  }
}

/** A DescribeVolumes volume as the scanner sees it. */
export function toVolumeInfo(v: Volume, account: string, region: string): VolumeInfo {
  return {
    volumeId: v.VolumeId ?? '',
    account,
    region,
    availabilityZone: v.AvailabilityZone ?? '',
    sizeGiB: v.Size ?? 0,
    type: v.VolumeType ?? 'unknown',
    ...(v.Iops !== undefined ? { iops: v.Iops } : {}),
    ...(v.Throughput !== undefined ? { throughputMiBs: v.Throughput } : {}),
    createTime: v.CreateTime ? v.CreateTime.toISOString() : '',
    state: v.State ?? 'unknown',
    // A `detached` attachment is one on its way out: the volume is no longer attached to that instance.
    attachedTo: (v.Attachments ?? []).filter((a) => a.InstanceId && a.State !== 'detached').map((a) => a.InstanceId!),
    tags: Object.fromEntries((v.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}
