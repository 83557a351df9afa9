import type { OpsautoConfig } from '../config.js';
import { ebsPrices, type TypePrice } from './ebs-prices.js';
import type { RegionScanState, StaleVolumeOpsItem, VolumeInfo, VolumeRecord } from './model.js';

const DAY_MS = 86_400_000;

/** The creation-time rule holds only when the previous scan is at most this old (two daily runs). */
export const MAX_SCAN_GAP_MS = 2 * DAY_MS;

/**
 * Since when a volume seen unattached for the first time has been unattached.
 *
 * EC2 keeps no attachment history, so opsauto only counts what it has observed: the clock starts at this scan
 * ("observed"). The one exception is a volume created after the region's previous scan, when that scan is recent
 * (at most two days old): no scan can have seen it attached, so its creation time is used ("created"). On a region's first scan every clock starts now, however
 * old the volume: a volume created a year ago and detached yesterday is not stale.
 *
 * @example
 * unattachedSinceFor(volume, previous, new Date()) // { unattachedSince: '2026-11-22T06:00:00.000Z', basis: 'observed' }
 */
export function unattachedSinceFor(volume: Pick<VolumeInfo, 'createTime'>, region: RegionScanState | undefined, now: Date): Pick<VolumeRecord, 'unattachedSince' | 'basis'> {
  const created = Date.parse(volume.createTime);
  const lastScan = region ? Date.parse(region.lastScanAt) : NaN;
  // Only right after a scan: after a long gap (a region failing for weeks) the volume may have been attached since.
  if (region && Number.isFinite(created) && created > lastScan && created <= now.getTime() && now.getTime() - lastScan <= MAX_SCAN_GAP_MS) {
    return { unattachedSince: new Date(created).toISOString(), basis: 'created' };
  }
  return { unattachedSince: now.toISOString(), basis: 'observed' };
}

/** Whole days unattached (floor), in UTC milliseconds: no calendar, so DST never shifts it. */
export function daysUnattached(record: Pick<VolumeRecord, 'unattachedSince'>, now: Date): number {
  return Math.floor((now.getTime() - Date.parse(record.unattachedSince)) / DAY_MS);
}

/** Stale once unattached for at least `thresholdDays` full days: day 44 of 45 is not, day 45 is. */
export function isStale(record: Pick<VolumeRecord, 'unattachedSince'>, now: Date, thresholdDays: number): boolean {
  return now.getTime() - Date.parse(record.unattachedSince) >= thresholdDays * DAY_MS;
}

/** True when the volume carries the exclusion tag (any value). */
export function isExcluded(volume: Pick<VolumeInfo, 'tags'>, config: OpsautoConfig): boolean {
  return Object.hasOwn(volume.tags, config.staleVolumes.excludeTag);
}

/** An amount of USD rounded to cents. */
export const cents = (usd: number): number => Math.round(usd * 100) / 100;

/** Estimated monthly cost in USD from the price table (ebs-prices.ts), rounded to cents. */
export function estimateMonthlyCost(volume: Pick<VolumeInfo, 'region' | 'type' | 'sizeGiB' | 'iops' | 'throughputMiBs'>): number {
  const price: TypePrice | undefined = ebsPrices.regions[volume.region]?.[volume.type] ?? ebsPrices.default[volume.type];
  if (!price) return 0;
  let cost = volume.sizeGiB * price.gb;
  if (price.iops && volume.iops) cost += Math.max(0, volume.iops - (price.iopsFree ?? 0)) * price.iops;
  if (price.throughputMiBs && volume.throughputMiBs) cost += Math.max(0, volume.throughputMiBs - (price.throughputFree ?? 0)) * price.throughputMiBs;
  return cents(cost);
}

/** OpsItem severity ('1' critical … '4' low) and priority (1 … 5) from what the volume costs a month. */
export function severityFor(monthlyCost: number): Pick<StaleVolumeOpsItem, 'severity' | 'priority'> {
  if (monthlyCost >= 500) return { severity: '1', priority: 1 };
  if (monthlyCost >= 100) return { severity: '2', priority: 2 };
  if (monthlyCost >= 20) return { severity: '3', priority: 3 };
  return { severity: '4', priority: 4 };
}

/** One dedup string per volume: OpsCenter refuses a second Open/InProgress item with it. */
export function dedupStringFor(volume: { account: string; region: string; volumeId: string }): string {
  return `opsauto:stale-ebs-volume:${volume.account}:${volume.region}:${volume.volumeId}`;
}

export function volumeArn(volume: Pick<VolumeInfo, 'account' | 'region' | 'volumeId'>): string {
  return `arn:aws:ec2:${volume.region}:${volume.account}:volume/${volume.volumeId}`;
}

/** The OpsItem for a stale volume: readable at a glance, with everything needed to act on it. */
export function staleVolumeOpsItem(volume: VolumeInfo, record: Pick<VolumeRecord, 'unattachedSince' | 'basis'>, now: Date, config: OpsautoConfig): StaleVolumeOpsItem {
  const cost = estimateMonthlyCost(volume);
  const days = daysUnattached(record, now);
  const name = volume.tags.Name ? ` "${volume.tags.Name}"` : '';
  const dollars = `$${cost.toFixed(2)}`;
  const { snapshotThenDelete, delete: deleteRunbook } = config.staleVolumes.runbooks;
  const since = record.basis === 'created' ? 'since it was created' : 'since opsauto first saw it unattached';
  const data = (value: unknown, searchable = false) => ({ value: typeof value === 'string' ? value : JSON.stringify(value), searchable });
  return {
    title: `Unattached EBS volume ${volume.volumeId}${name}: ${volume.sizeGiB} GiB ${volume.type}, ${days} days, ~${dollars}/month`,
    description: [
      `EBS volume ${volume.volumeId}${name} in ${volume.availabilityZone} (account ${volume.account}) has not been attached to any instance for ${days} days (${since}, ${record.unattachedSince}).`,
      `It costs about ${dollars} a month (${volume.sizeGiB} GiB ${volume.type}).`,
      `To keep it, tag it ${config.staleVolumes.excludeTag}. To remove it, run ${snapshotThenDelete} (snapshot, then delete) or ${deleteRunbook} from this OpsItem.`,
      'opsauto resolves this item by itself when the volume is attached again or deleted.',
    ].join('\n'),
    source: 'opsauto',
    category: 'Cost',
    ...severityFor(cost),
    dedupString: dedupStringFor(volume),
    operationalData: {
      '/aws/dedup': data({ dedupString: dedupStringFor(volume) }, true),
      '/aws/resources': data([{ arn: volumeArn(volume) }], true),
      '/aws/automations': data([
        { automationType: 'AWS::SSM::Automation', automationId: snapshotThenDelete },
        { automationType: 'AWS::SSM::Automation', automationId: deleteRunbook },
      ]),
      volumeId: data(volume.volumeId, true),
      sizeGiB: data(String(volume.sizeGiB)),
      volumeType: data(volume.type),
      availabilityZone: data(volume.availabilityZone, true),
      tags: data(volume.tags),
      unattachedSince: data(record.unattachedSince),
      estimatedMonthlyCostUSD: data(cost.toFixed(2)),
    },
  };
}
