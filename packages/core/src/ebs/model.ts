/** An EBS volume as the scanner sees it (EC2 DescribeVolumes). */
export interface VolumeInfo {
  volumeId: string;
  account: string;
  region: string;
  availabilityZone: string;
  sizeGiB: number;
  type: string;
  iops?: number;
  throughputMiBs?: number;
  /** ISO-8601. */
  createTime: string;
  /** available | in-use | creating | deleting | deleted | error */
  state: string;
  attachedTo: string[];
  tags: Record<string, string>;
}

/**
 * What opsauto knows of one unattached volume (DynamoDB). Created the first time a scan sees the volume
 * unattached; deleted when it is attached again, deleted, or excluded. Never created for attached volumes.
 */
export interface VolumeRecord {
  account: string;
  region: string;
  volumeId: string;
  /** Since when the volume has been unattached, as far as opsauto can tell (see `unattachedSinceFor`). */
  unattachedSince: string;
  /** observed: first seen unattached by a scan; created: created after the previous scan, never seen attached. */
  basis: 'observed' | 'created';
  firstSeenAt: string;
  /** tracking: not stale yet, or not filed yet; filed: an OpsItem exists (`opsItemId`). */
  status: 'tracking' | 'filed';
  opsItemId?: string;
  filedAt?: string;
  /**
   * The volume's size and type (and provisioned IOPS / throughput) when a scan last saw it, so that its monthly cost
   * is known once it is deleted. Absent in records written before they were kept.
   */
  sizeGiB?: number;
  volumeType?: string;
  iops?: number;
  throughputMiBs?: number;
  /** Optimistic lock. */
  version: number;
}

/** When a region was scanned: the first scan starts every clock at "now"; later scans may use creation times. */
export interface RegionScanState {
  account: string;
  region: string;
  firstScanAt: string;
  lastScanAt: string;
}

/** Why a scan resolved a stale volume's OpsItem. */
export type ResolvedReason = 'deleted' | 'attached' | 'excluded' | 'not-unattached';

/** A stale volume whose OpsItem a scan resolved, and what it cost a month (deleted or attached only, when known). */
export interface ResolvedVolume {
  account: string;
  region: string;
  volumeId: string;
  opsItemId: string;
  reason: ResolvedReason;
  monthlyCostUsd?: number;
}

/** One region's share of a scan run. */
export interface RegionScanSummary {
  account: string;
  region: string;
  scanned: number;
  newlyUnattached: number;
  stale: number;
  filed: number;
  alreadyFiled: number;
  resolved: number;
  /**
   * The monthly cost of the volumes whose item this run resolved because the volume was deleted or attached again
   * (what remediation saved); 0 in runs stored before it was counted, which lack it.
   */
  resolvedMonthlyCostUsd?: number;
  skippedByTag: number;
  /** Stale volumes not filed this run (OpsItem limit reached, or throttled after the SDK's retries). */
  leftForNextRun: number;
  errors: string[];
}

export interface ScanRunSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  regions: RegionScanSummary[];
  totals: Omit<RegionScanSummary, 'account' | 'region' | 'errors'> & { errors: number };
  /**
   * The volumes whose item the run resolved because they were deleted or attached again, most expensive first, at
   * most RESOLVED_LISTED of them (the totals count them all). Absent when none, and in runs stored before it existed.
   */
  remediated?: ResolvedVolume[];
}

/** The OpsItem filed for a stale volume, as CreateOpsItem takes it. */
export interface StaleVolumeOpsItem {
  title: string;
  description: string;
  source: 'opsauto';
  category: 'Cost';
  severity: '1' | '2' | '3' | '4';
  priority: 1 | 2 | 3 | 4 | 5;
  dedupString: string;
  operationalData: Record<string, { value: string; searchable: boolean }>;
}
