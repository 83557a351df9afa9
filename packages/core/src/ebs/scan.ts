import { mapBounded } from '../bounded-concurrency.js';
import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import type { RegionScanSummary, ResolvedReason, ResolvedVolume, ScanRunSummary, StaleVolumeOpsItem, VolumeInfo, VolumeRecord } from './model.js';
import { OpsItemLimitError, ThrottledError, type OpsCenter, type VolumeInventory, type VolumeStore } from './ports.js';
import { cents, daysUnattached, dedupStringFor, estimateMonthlyCost, isExcluded, isStale, staleVolumeOpsItem, unattachedSinceFor } from './rules.js';

export interface StaleVolumeDeps {
  config: OpsautoConfig;
  clock: Clock;
  inventory: VolumeInventory;
  opsCenter: OpsCenter;
  store: VolumeStore;
}

/** A scheduled time further than this from the clock is not trusted (see scanRegion). */
export const SCHEDULED_TIME_TOLERANCE_MS = 15 * 60_000;

/**
 * How long a region's scan lease lasts: longer than a scan can run (the scanner's Lambda stops at 15 minutes), so
 * that a lease runs out only after its scan is gone.
 */
export const REGION_LEASE_MS = 16 * 60_000;

export interface ScanInput {
  dryRun?: boolean;
  /** Names the scan run (its record); the lease holder too, unless `leaseHolder` is given (default: a random one). */
  runId?: string;
  /**
   * Names the attempt that holds a region's lease; a claim by the same holder re-enters it (a retry of the attempt
   * that left it). A scheduled run delivered twice at once is one run ID but two attempts: give each its own holder
   * (e.g. the run ID and the Lambda request ID, which Lambda's retries of one invocation keep), so that the second
   * finds the region busy instead of scanning it alongside the first.
   */
  leaseHolder?: string;
  /** The scheduled time of the run, when it has one. */
  at?: Date;
  /** Asked before each filing: true stops filing for now (e.g. the Lambda is about to time out). */
  shouldStop?: () => boolean;
}

/** What a region scan did (or, in a dry run, would do). */
export interface RegionScanResult {
  summary: RegionScanSummary;
  filed: { volumeId: string; opsItemId?: string; item: StaleVolumeOpsItem }[];
  /** `monthlyCostUsd`: what the volume cost a month, for one deleted or attached again (when known). */
  resolved: { volumeId: string; opsItemId: string; note: string; reason: ResolvedReason; monthlyCostUsd?: number }[];
}

/** What a record keeps of the volume for its cost: size, type, and provisioned IOPS and throughput when it has them. */
const volumeFacts = (v: VolumeInfo): Pick<VolumeRecord, 'sizeGiB' | 'volumeType' | 'iops' | 'throughputMiBs'> => ({
  sizeGiB: v.sizeGiB,
  volumeType: v.type,
  ...(v.iops !== undefined ? { iops: v.iops } : {}),
  ...(v.throughputMiBs !== undefined ? { throughputMiBs: v.throughputMiBs } : {}),
});

const sameFacts = (r: VolumeRecord, v: VolumeInfo) => r.sizeGiB === v.sizeGiB && r.volumeType === v.type && r.iops === v.iops && r.throughputMiBs === v.throughputMiBs;

/**
 * The monthly cost of a record's volume from what the record kept (a volume that is gone), with the scan's price
 * function; undefined for a record written before sizes were kept.
 */
export function recordMonthlyCost(r: VolumeRecord): number | undefined {
  if (r.sizeGiB === undefined || r.volumeType === undefined) return undefined;
  return estimateMonthlyCost({ region: r.region, type: r.volumeType, sizeGiB: r.sizeGiB, iops: r.iops, throughputMiBs: r.throughputMiBs });
}

const emptySummary = (account: string, region: string): RegionScanSummary => ({
  account,
  region,
  scanned: 0,
  newlyUnattached: 0,
  stale: 0,
  filed: 0,
  alreadyFiled: 0,
  resolved: 0,
  resolvedMonthlyCostUsd: 0,
  skippedByTag: 0,
  leftForNextRun: 0,
  errors: [],
});

/**
 * Scans one region of one account: records volumes seen unattached for the first time, files an OpsItem for each
 * stale one (once: OpsCenter's dedup string makes a second filing answer the first item), and resolves the items of volumes
 * that were attached again, deleted or excluded. Lists every page before changing anything. A dry run reads and
 * plans only; a real scan holds the region's lease (VolumeStore.claimRegion) and reports a region another scan holds
 * as busy, changing nothing there.
 */
export async function scanRegion(deps: StaleVolumeDeps, input: ScanInput & { account: string; region: string }): Promise<RegionScanResult> {
  const { account, region } = input;
  const started = deps.clock.now();
  // A dry run writes nothing and needs no lease; a real one scans the region alone or not at all.
  if (input.dryRun) return scanRegionHeld(deps, input, started);
  const holder = input.leaseHolder ?? input.runId ?? `scan-${crypto.randomUUID()}`;
  const claim = await deps.store.claimRegion(account, region, holder, new Date(started.getTime() + REGION_LEASE_MS), started);
  if (!claim.claimed) {
    const result: RegionScanResult = { summary: emptySummary(account, region), filed: [], resolved: [] };
    result.summary.errors.push(`${REGION_BUSY} scan ${claim.holder} is scanning it (lease until ${claim.until}); this run left it alone`);
    return result;
  }
  try {
    return await scanRegionHeld(deps, input, started);
  } finally {
    await deps.store.releaseRegion(account, region, holder);
  }
}

async function scanRegionHeld(deps: StaleVolumeDeps, input: ScanInput & { account: string; region: string }, started: Date): Promise<RegionScanResult> {
  const { account, region } = input;
  // The time the scan observes: its scheduled time, so that daily scans are exactly a day apart, but only when that
  // time is close to the clock (a retry minutes later); an old or made-up time never moves the scan in time.
  const now = input.at && Math.abs(started.getTime() - input.at.getTime()) <= SCHEDULED_TIME_TOLERANCE_MS ? input.at : started;
  const config = deps.config.staleVolumes;
  const result: RegionScanResult = { summary: emptySummary(account, region), filed: [], resolved: [] };
  const s = result.summary;

  const [regionState, records] = await Promise.all([deps.store.getRegionState(account, region), deps.store.listRecords(account, region)]);
  const byId = new Map(records.map((r) => [r.volumeId, r]));
  const unattached: VolumeInfo[] = [];
  for await (const page of deps.inventory.listUnattached(account, region)) unattached.push(...page);
  s.scanned = unattached.length;

  const fresh: VolumeRecord[] = [];
  /** Records whose volume's size or type changed, or was not kept yet (older records): written with the new ones. */
  const updated: VolumeRecord[] = [];
  const excludedRecords: VolumeRecord[] = [];
  const candidates: { volume: VolumeInfo; record: VolumeRecord }[] = [];
  const seen = new Set<string>();
  for (const volume of unattached) {
    seen.add(volume.volumeId);
    let record = byId.get(volume.volumeId);
    if (isExcluded(volume, deps.config)) {
      s.skippedByTag++;
      if (record) excludedRecords.push(record);
      continue;
    }
    if (record && !sameFacts(record, volume)) {
      record = { ...withoutFacts(record), ...volumeFacts(volume), version: record.version + 1 };
      updated.push(record);
    }
    if (!record) {
      fresh.push({ account, region, volumeId: volume.volumeId, ...unattachedSinceFor(volume, regionState, now), firstSeenAt: now.toISOString(), status: 'tracking', ...volumeFacts(volume), version: 1 });
      s.newlyUnattached++;
      continue;
    }
    if (!isStale(record, now, config.thresholdDays)) continue;
    s.stale++;
    if (record.status === 'filed') s.alreadyFiled++;
    else candidates.push({ volume, record });
  }
  // Records whose volume is no longer unattached: attached again, deleted, or (with a record) excluded.
  const gone = records.filter((r) => !seen.has(r.volumeId));

  if (!input.dryRun) {
    await deps.store.put([...fresh, ...updated]);
    // When the listing really ran (never moving back), for the "created after the previous scan" rule.
    const lastScanAt = new Date(Math.max(started.getTime(), regionState ? Date.parse(regionState.lastScanAt) : 0)).toISOString();
    await deps.store.putRegionState({ account, region, firstScanAt: regionState?.firstScanAt ?? started.toISOString(), lastScanAt });
  }
  await resolveGone(deps, input, gone, excludedRecords, result, now);
  await fileStale(deps, input, candidates, result, now);
  return result;
}

/**
 * Records whose volume was not listed unattached. Each is checked once more (one call per 200): a volume still
 * unattached (missed by the listing) keeps its record; otherwise the record goes, and its item is resolved. A
 * stale record that is not marked filed may still have an item (a scan that died between filing and recording),
 * so OpsCenter is asked for an open one.
 */
async function resolveGone(
  deps: StaleVolumeDeps,
  input: { account: string; region: string; dryRun?: boolean },
  gone: VolumeRecord[],
  excluded: VolumeRecord[],
  result: RegionScanResult,
  now: Date,
): Promise<void> {
  const { account, region } = input;
  if (gone.length === 0 && excluded.length === 0) return;
  const current = gone.length ? new Map((await deps.inventory.describe(account, region, gone.map((r) => r.volumeId))).map((v) => [v.volumeId, v])) : new Map<string, VolumeInfo>();
  const stillUnattached = (r: VolumeRecord) => {
    const v = current.get(r.volumeId);
    return v?.state === 'available' && v.attachedTo.length === 0;
  };
  const leaving = gone.filter((r) => !stillUnattached(r));
  const why = (r: VolumeRecord): { note: string; reason: ResolvedReason; monthlyCostUsd?: number } => {
    if (excluded.includes(r)) return { note: `tagged ${deps.config.staleVolumes.excludeTag}: kept on purpose`, reason: 'excluded' };
    const volume = current.get(r.volumeId);
    if (volume?.attachedTo.length) return { note: `attached again to ${volume.attachedTo.join(', ')}`, reason: 'attached', monthlyCostUsd: estimateMonthlyCost(volume) };
    if (!volume) return { note: 'the volume was deleted', reason: 'deleted', ...costOf(recordMonthlyCost(r)) };
    if (volume.state === 'deleting' || volume.state === 'deleted') return { note: `the volume was deleted (state ${volume.state})`, reason: 'deleted', monthlyCostUsd: estimateMonthlyCost(volume) };
    return { note: `no longer unattached (state ${volume.state})`, reason: 'not-unattached' };
  };
  for (const r of [...leaving, ...excluded]) {
    let opsItemId = r.status === 'filed' ? r.opsItemId : undefined;
    if (!opsItemId && isStale(r, now, deps.config.staleVolumes.thresholdDays)) opsItemId = await deps.opsCenter.findOpen(account, region, dedupStringFor(r));
    if (!opsItemId) continue;
    const { note, reason, monthlyCostUsd } = why(r);
    if (!input.dryRun) await deps.opsCenter.resolve(account, region, opsItemId, `Resolved by opsauto: ${note}.`);
    result.resolved.push({ volumeId: r.volumeId, opsItemId, note, reason, ...costOf(monthlyCostUsd) });
    result.summary.resolved++;
    if (monthlyCostUsd !== undefined) result.summary.resolvedMonthlyCostUsd = cents((result.summary.resolvedMonthlyCostUsd ?? 0) + monthlyCostUsd);
  }
  if (!input.dryRun) await deps.store.delete([...leaving, ...excluded]);
}

const costOf = (monthlyCostUsd: number | undefined) => (monthlyCostUsd !== undefined ? { monthlyCostUsd } : {});
const withoutFacts = ({ sizeGiB: _s, volumeType: _t, iops: _i, throughputMiBs: _p, ...rest }: VolumeRecord): VolumeRecord => rest;

/** CreateOpsItem calls in flight per region: quick enough, and gentle on OpsCenter's request rate. */
export const FILING_CONCURRENCY = 8;

/**
 * Files the stale volumes, most expensive first. OpsCenter's dedup is what makes filing happen once: a scan that
 * overlaps another, or runs again after one died between filing and recording, gets the existing item back
 * (`created: false`) and records that. Records of filed volumes are written in batches at the end.
 */
async function fileStale(
  deps: StaleVolumeDeps,
  input: ScanInput & { account: string; region: string },
  candidates: { volume: VolumeInfo; record: VolumeRecord }[],
  result: RegionScanResult,
  now: Date,
): Promise<void> {
  const { account, region } = input;
  const s = result.summary;
  if (candidates.length === 0) return;
  // Highest cost first, so that a limit reached part-way leaves the cheapest volumes for the next run.
  candidates.sort((a, b) => estimateMonthlyCost(b.volume) - estimateMonthlyCost(a.volume));
  // A volume deleted (or attached) between listing and filing is skipped without error.
  const stillUnattached = new Set((await deps.inventory.describe(account, region, candidates.map((c) => c.volume.volumeId))).filter((v) => v.state === 'available' && v.attachedTo.length === 0).map((v) => v.volumeId));
  const toFile = candidates.filter((c) => stillUnattached.has(c.volume.volumeId)).map((c) => ({ ...c, item: staleVolumeOpsItem(c.volume, c.record, now, deps.config) }));
  if (input.dryRun) {
    for (const { volume, item } of toFile) result.filed.push({ volumeId: volume.volumeId, item });
    s.filed += toFile.length;
    return;
  }
  const recorded: VolumeRecord[] = [];
  const flush = async () => {
    const batch = recorded.splice(0, recorded.length);
    if (batch.length) await deps.store.put(batch);
  };
  let stopped = false;
  await mapBounded(toFile, FILING_CONCURRENCY, async ({ volume, record, item }) => {
    if (!stopped && input.shouldStop?.()) {
      stopped = true;
      s.errors.push('filing stopped: out of time for this run');
    }
    if (stopped) {
      s.leftForNextRun++;
      return;
    }
    try {
      const { opsItemId, created } = await deps.opsCenter.create(account, region, item);
      recorded.push({ ...record, status: 'filed', opsItemId, filedAt: deps.clock.now().toISOString(), version: record.version + 1 });
      if (created) {
        result.filed.push({ volumeId: volume.volumeId, opsItemId, item });
        s.filed++;
      } else {
        s.alreadyFiled++;
      }
      // Recorded as it goes (a batch at a time), so a run cut short keeps what it filed.
      if (recorded.length >= RECORD_BATCH) await flush();
    } catch (e) {
      if (e instanceof OpsItemLimitError || e instanceof ThrottledError) {
        if (!stopped) s.errors.push(`filing stopped: ${e.name}: ${e.message}`);
        stopped = true;
      } else {
        // One item that cannot be filed does not keep the others from it.
        s.errors.push(`${volume.volumeId}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      s.leftForNextRun++;
    }
  });
  await flush();
}

/** Remediated volumes a run summary lists at most (one DynamoDB item holds the summary: 400 KB). */
export const RESOLVED_LISTED = 100;

/** Filings recorded per batch write (DynamoDB's BatchWriteItem limit). */
const RECORD_BATCH = 25;

/** How a region's error starts when another scan held the region's lease, and this run left it alone. */
const REGION_BUSY = 'region busy:';

/** Whether a region's error says another scan was scanning it (which does the work: nothing is missing). */
export const isRegionBusy = (error: string): boolean => error.startsWith(REGION_BUSY);

/**
 * Whether a region's error means the scan failed there. Two kinds do not: filing stopped at a limit, by throttling or
 * for time (the next run carries on), and a region busy with another scan (which does the work).
 */
export const isRegionFailure = (error: string): boolean => !error.startsWith('filing stopped:') && !isRegionBusy(error);

/** The (account, region) pairs a scan covers: the backend's own account plus configured ones, in every region. */
export function scanTargets(config: OpsautoConfig, ownAccount: string): { account: string; region: string }[] {
  const regions = config.staleVolumes.regions ?? config.regions;
  const accounts = [ownAccount, ...config.staleVolumes.accounts.map((a) => a.accountId).filter((a) => a !== ownAccount)];
  return accounts.flatMap((account) => regions.map((region) => ({ account, region })));
}

/**
 * One scan run over every target, regions scanned concurrently up to `maxConcurrentRegions`. A region that
 * fails is reported in the summary and does not stop the others. The summary is stored unless it is a dry run.
 */
export async function scanFleet(deps: StaleVolumeDeps, input: ScanInput & { ownAccount: string; runId: string }): Promise<{ summary: ScanRunSummary; results: RegionScanResult[] }> {
  const startedAt = deps.clock.now().toISOString();
  const targets = scanTargets(deps.config, input.ownAccount);
  const results = await mapBounded(targets, deps.config.staleVolumes.maxConcurrentRegions, async ({ account, region }) => {
    try {
      return await scanRegion(deps, { account, region, runId: input.runId, leaseHolder: input.leaseHolder, dryRun: input.dryRun, at: input.at, shouldStop: input.shouldStop });
    } catch (e) {
      const summary = emptySummary(account, region);
      summary.errors.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      return { summary, filed: [], resolved: [] };
    }
  });
  const regions = results.map((r) => r.summary);
  const sum = (key: 'scanned' | 'newlyUnattached' | 'stale' | 'filed' | 'alreadyFiled' | 'resolved' | 'skippedByTag' | 'leftForNextRun') => regions.reduce((n, r) => n + r[key], 0);
  const summary: ScanRunSummary = {
    runId: input.runId,
    startedAt,
    finishedAt: deps.clock.now().toISOString(),
    dryRun: Boolean(input.dryRun),
    regions,
    totals: {
      scanned: sum('scanned'),
      newlyUnattached: sum('newlyUnattached'),
      stale: sum('stale'),
      filed: sum('filed'),
      alreadyFiled: sum('alreadyFiled'),
      resolved: sum('resolved'),
      resolvedMonthlyCostUsd: cents(regions.reduce((n, r) => n + (r.resolvedMonthlyCostUsd ?? 0), 0)),
      skippedByTag: sum('skippedByTag'),
      leftForNextRun: sum('leftForNextRun'),
      errors: regions.reduce((n, r) => n + r.errors.length, 0),
    },
  };
  const remediated: ResolvedVolume[] = results
    .flatMap((r) => r.resolved.filter((v) => v.reason === 'deleted' || v.reason === 'attached').map((v) => ({ account: r.summary.account, region: r.summary.region, volumeId: v.volumeId, opsItemId: v.opsItemId, reason: v.reason, ...costOf(v.monthlyCostUsd) })))
    .sort((a, b) => (b.monthlyCostUsd ?? 0) - (a.monthlyCostUsd ?? 0))
    .slice(0, RESOLVED_LISTED);
  if (remediated.length) summary.remediated = remediated;
  if (!input.dryRun) await deps.store.putRun(summary);
  return { summary, results };
}

/** A volume the scan tracks, with what EC2 says of it now (`volume` undefined: it is gone). */
export interface StaleVolumeFinding {
  record: VolumeRecord;
  volume?: VolumeInfo;
  daysUnattached: number;
  /** Estimated from the volume's size and type (0 when it is gone). */
  monthlyCostUsd: number;
}

/**
 * The scan's findings, as `opsauto volumes stale` and the console list them: the tracked volumes of every scanned
 * account and region that are stale (with `all`, also those unattached for less than the threshold), described by
 * EC2, most expensive first. Reads only.
 *
 * @example
 * await staleVolumeFindings(deps, '123456789012', new Date()) // [{ record, volume, daysUnattached: 46, monthlyCostUsd: 8 }]
 */
export async function staleVolumeFindings(deps: Pick<StaleVolumeDeps, 'config' | 'inventory' | 'store'>, ownAccount: string, now: Date, all = false): Promise<StaleVolumeFinding[]> {
  const findings: StaleVolumeFinding[] = [];
  for (const { account, region } of scanTargets(deps.config, ownAccount)) {
    const records = (await deps.store.listRecords(account, region)).filter((r) => all || isStale(r, now, deps.config.staleVolumes.thresholdDays));
    if (records.length === 0) continue;
    const volumes = new Map((await deps.inventory.describe(account, region, records.map((r) => r.volumeId))).map((v) => [v.volumeId, v]));
    for (const record of records) {
      const volume = volumes.get(record.volumeId);
      findings.push({ record, ...(volume ? { volume } : {}), daysUnattached: daysUnattached(record, now), monthlyCostUsd: volume ? estimateMonthlyCost(volume) : 0 });
    }
  }
  return findings.sort((a, b) => b.monthlyCostUsd - a.monthlyCostUsd);
}
