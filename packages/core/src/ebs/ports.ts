import type { RegionScanState, ScanRunSummary, StaleVolumeOpsItem, VolumeInfo, VolumeRecord } from './model.js';

/** Reads volumes (EC2 DescribeVolumes), in an account reached through its role. */
export interface VolumeInventory {
  /** Every unattached (`available`) volume of the region, page by page at the largest page size. */
  listUnattached(account: string, region: string): AsyncIterable<VolumeInfo[]>;
  /** Those of `volumeIds` that still exist, in any state (no error for the ones that are gone). */
  describe(account: string, region: string, volumeIds: string[]): Promise<VolumeInfo[]>;
}

/** OpsCenter rejected a new item because the account's open-item limit is reached. */
export class OpsItemLimitError extends Error {
  override name = 'OpsItemLimitError';
}

/** The service kept throttling after the SDK's retries: stop for now, the next run carries on. */
export class ThrottledError extends Error {
  override name = 'ThrottledError';
}

/** Files and resolves OpsItems (SSM OpsCenter) in the volume's account and region. */
export interface OpsCenter {
  /**
   * Files the item. When an Open or InProgress item with the same dedup string exists, answers that item's ID
   * with `created: false` instead of filing a second one.
   * @throws OpsItemLimitError, ThrottledError
   */
  create(account: string, region: string, item: StaleVolumeOpsItem): Promise<{ opsItemId: string; created: boolean }>;
  /** The Open or InProgress item filed with this dedup string, if any. */
  findOpen(account: string, region: string, dedupString: string): Promise<string | undefined>;
  /** Sets the item to Resolved with a note saying why. */
  resolve(account: string, region: string, opsItemId: string, note: string): Promise<void>;
}

/** The answer to a claim of a region's scan lease: granted, or held by another scan until a time. */
export type RegionClaim = { claimed: true } | { claimed: false; holder: string; until: string };

/** Keeps volume records, region scan state and run summaries (DynamoDB). */
export interface VolumeStore {
  listRecords(account: string, region: string): Promise<VolumeRecord[]>;
  /**
   * Writes records in batches, whole. BatchWriteItem takes no condition; the region's scan lease (claimRegion) is
   * what keeps a second scan from writing the same records at the same time.
   */
  put(records: VolumeRecord[]): Promise<void>;
  /** Deletes records in batches. */
  delete(records: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>[]): Promise<void>;
  getRegionState(account: string, region: string): Promise<RegionScanState | undefined>;
  putRegionState(state: RegionScanState): Promise<void>;
  /**
   * Takes the region's scan lease for `holder` until `until`, with one conditional write: granted when no lease is
   * held, when the one held ran out before `now`, or when `holder` holds it already. Two scans of a region never
   * overlap, so that records (written in batches, which take no condition) are only ever written by the lease holder.
   */
  claimRegion(account: string, region: string, holder: string, until: Date, now: Date): Promise<RegionClaim>;
  /** Gives the lease back, if `holder` still holds it (conditional: a lease taken over after it ran out is left alone). */
  releaseRegion(account: string, region: string, holder: string): Promise<void>;
  putRun(summary: ScanRunSummary): Promise<void>;
  /** Newest first. */
  listRuns(limit: number): Promise<ScanRunSummary[]>;
}
