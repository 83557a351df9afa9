import type { RegionScanState, ScanRunSummary, VolumeRecord } from './model.js';
import type { RegionClaim, VolumeStore } from './ports.js';
import { storedCopy } from '../stored-copy.js';

const key = (r: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>) => `${r.account}#${r.region}#${r.volumeId}`;
/** Runs sort (and are unique) by start time, then run ID, as the DynamoDB store's sort key `<startedAt>#<runId>`. */
const runKey = (r: Pick<ScanRunSummary, 'startedAt' | 'runId'>) => `${r.startedAt}#${r.runId}`;

/** VolumeStore in memory, behaving as the DynamoDB store does (the contract suite runs against both). */
export class InMemoryVolumeStore implements VolumeStore {
  readonly records = new Map<string, VolumeRecord>();
  private readonly regions = new Map<string, RegionScanState>();
  private readonly runs = new Map<string, ScanRunSummary>();
  private readonly leases = new Map<string, { holder: string; until: string }>();

  /** In volume ID order, as DynamoDB answers a partition. */
  listRecords(account: string, region: string): Promise<VolumeRecord[]> {
    const records = [...this.records.values()].filter((r) => r.account === account && r.region === region);
    return Promise.resolve(records.sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0)).map((r) => structuredClone(r)));
  }

  put(records: VolumeRecord[]): Promise<void> {
    for (const r of records) this.records.set(key(r), storedCopy(r));
    return Promise.resolve();
  }

  delete(records: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>[]): Promise<void> {
    for (const r of records) this.records.delete(key(r));
    return Promise.resolve();
  }

  getRegionState(account: string, region: string): Promise<RegionScanState | undefined> {
    const s = this.regions.get(`${account}#${region}`);
    return Promise.resolve(s && structuredClone(s));
  }

  putRegionState(state: RegionScanState): Promise<void> {
    this.regions.set(`${state.account}#${state.region}`, structuredClone(state));
    return Promise.resolve();
  }

  claimRegion(account: string, region: string, holder: string, until: Date, now: Date): Promise<RegionClaim> {
    const held = this.leases.get(`${account}#${region}`);
    if (held && held.holder !== holder && Date.parse(held.until) >= now.getTime()) return Promise.resolve({ claimed: false, ...held });
    this.leases.set(`${account}#${region}`, { holder, until: until.toISOString() });
    return Promise.resolve({ claimed: true });
  }

  releaseRegion(account: string, region: string, holder: string): Promise<void> {
    if (this.leases.get(`${account}#${region}`)?.holder === holder) this.leases.delete(`${account}#${region}`);
    return Promise.resolve();
  }

  /** A run put again (same start and ID) replaces the earlier copy. */
  putRun(summary: ScanRunSummary): Promise<void> {
    this.runs.set(runKey(summary), structuredClone(summary));
    return Promise.resolve();
  }

  listRuns(limit: number): Promise<ScanRunSummary[]> {
    const newestFirst = [...this.runs.entries()].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0)).map(([, run]) => structuredClone(run));
    return Promise.resolve(newestFirst.slice(0, Math.max(0, limit)));
  }
}
