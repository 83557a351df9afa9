import { ConcurrentUpdateError } from '../errors.js';
import type { RegionScanState, ScanRunSummary, VolumeRecord } from './model.js';
import type { VolumeStore } from './ports.js';

const key = (r: Pick<VolumeRecord, 'account' | 'region' | 'volumeId'>) => `${r.account}#${r.region}#${r.volumeId}`;

/** VolumeStore in memory, with the same conditional-write semantics as the DynamoDB store. */
export class InMemoryVolumeStore implements VolumeStore {
  readonly records = new Map<string, VolumeRecord>();
  private readonly regions = new Map<string, RegionScanState>();
  private readonly runs: ScanRunSummary[] = [];

  listRecords(account: string, region: string): Promise<VolumeRecord[]> {
    return Promise.resolve([...this.records.values()].filter((r) => r.account === account && r.region === region).map((r) => structuredClone(r)));
  }

  putNew(records: VolumeRecord[]): Promise<void> {
    for (const r of records) this.records.set(key(r), structuredClone(r));
    return Promise.resolve();
  }

  update(record: VolumeRecord, expectedVersion: number): Promise<void> {
    const stored = this.records.get(key(record));
    if (stored?.version !== expectedVersion) {
      return Promise.reject(new ConcurrentUpdateError(`volume ${record.volumeId} changed (expected version ${expectedVersion}, found ${String(stored?.version)})`));
    }
    const next = structuredClone(record);
    for (const k of Object.keys(next) as (keyof VolumeRecord)[]) if (next[k] === undefined) delete next[k];
    this.records.set(key(record), next);
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

  putRun(summary: ScanRunSummary): Promise<void> {
    this.runs.push(structuredClone(summary));
    return Promise.resolve();
  }

  listRuns(limit: number): Promise<ScanRunSummary[]> {
    return Promise.resolve([...this.runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit));
  }
}
