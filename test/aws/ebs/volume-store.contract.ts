import { beforeEach, describe, expect, it } from 'vitest';
import { type RegionScanSummary, type ScanRunSummary, type VolumeRecord, type VolumeStore } from '@opsauto/core';

export const volumeRecord = (over: Partial<VolumeRecord> = {}): VolumeRecord => ({
  account: '000000000000',
  region: 'us-east-1',
  volumeId: 'vol-0000000000000001',
  unattachedSince: '2026-10-01T00:00:00.000Z',
  basis: 'observed',
  firstSeenAt: '2026-10-01T00:00:00.000Z',
  status: 'tracking',
  version: 1,
  ...over,
});

const volumeIds = (n: number) => Array.from({ length: n }, (_, i) => `vol-${String(i).padStart(17, '0')}`);

const regionSummary = (over: Partial<RegionScanSummary> = {}): RegionScanSummary => ({
  account: '000000000000',
  region: 'us-east-1',
  scanned: 10,
  newlyUnattached: 2,
  stale: 1,
  filed: 1,
  alreadyFiled: 0,
  resolved: 0,
  resolvedMonthlyCostUsd: 0,
  skippedByTag: 0,
  leftForNextRun: 0,
  errors: [],
  ...over,
});

export const runSummary = (over: Partial<ScanRunSummary> = {}): ScanRunSummary => ({
  runId: 'run-1',
  startedAt: '2026-11-22T06:00:00.000Z',
  finishedAt: '2026-11-22T06:00:05.000Z',
  dryRun: false,
  regions: [regionSummary({ resolved: 1, resolvedMonthlyCostUsd: 8 }), regionSummary({ region: 'eu-west-1', errors: ['ThrottledError: Rate exceeded'] })],
  totals: { scanned: 20, newlyUnattached: 4, stale: 2, filed: 2, alreadyFiled: 0, resolved: 1, resolvedMonthlyCostUsd: 8, skippedByTag: 0, leftForNextRun: 0, errors: 1 },
  remediated: [{ account: '000000000000', region: 'us-east-1', volumeId: 'vol-0000000000000009', opsItemId: 'oi-0123456789ab', reason: 'deleted', monthlyCostUsd: 8 }],
  ...over,
});

/** The behaviour every VolumeStore must have; run against each implementation. */
export function volumeStoreContract(name: string, makeStore: () => Promise<VolumeStore>) {
  describe(`VolumeStore contract: ${name}`, () => {
    let store: VolumeStore;
    beforeEach(async () => {
      // Prepare
      store = await makeStore();
    });

    it('lists no records for a region never written', async () => {
      expect(await store.listRecords('000000000000', 'us-east-1')).toEqual([]);
    });

    it('lists the records of one account and region only, in volume ID order', async () => {
      // Prepare
      await store.put([
        volumeRecord({ volumeId: 'vol-0000000000000003' }),
        volumeRecord({ volumeId: 'vol-0000000000000001' }),
        volumeRecord({ volumeId: 'vol-0000000000000002', region: 'eu-west-1' }),
        volumeRecord({ volumeId: 'vol-0000000000000004', account: '111122223333' }),
      ]);
      // Act
      const listed = await store.listRecords('000000000000', 'us-east-1');
      // Assess
      expect(listed.map((r) => r.volumeId)).toEqual(['vol-0000000000000001', 'vol-0000000000000003']);
      expect(listed[0]).toStrictEqual(volumeRecord());
      expect((await store.listRecords('111122223333', 'us-east-1')).map((r) => r.volumeId)).toEqual(['vol-0000000000000004']);
    });

    it('writes and deletes 60 records, more than one batch holds', async () => {
      // Prepare
      const records = volumeIds(60).map((volumeId) => volumeRecord({ volumeId, basis: 'created' }));
      // Act
      await store.put(records);
      // Assess
      expect(await store.listRecords('000000000000', 'us-east-1')).toStrictEqual(records);
      // Act
      await store.delete(records.slice(0, 55));
      // Assess
      expect((await store.listRecords('000000000000', 'us-east-1')).map((r) => r.volumeId)).toEqual(volumeIds(60).slice(55));
    });

    it('keeps the last of two records given for the same volume in one put', async () => {
      await store.put([volumeRecord({ unattachedSince: '2026-01-01T00:00:00.000Z' }), volumeRecord({ unattachedSince: '2026-02-01T00:00:00.000Z' })]);
      expect(await store.listRecords('000000000000', 'us-east-1')).toStrictEqual([volumeRecord({ unattachedSince: '2026-02-01T00:00:00.000Z' })]);
    });

    it('does nothing when asked to write or delete no records, or to delete one that is gone', async () => {
      await store.put([]);
      await store.delete([]);
      await store.delete([volumeRecord(), volumeRecord()]);
      expect(await store.listRecords('000000000000', 'us-east-1')).toEqual([]);
    });

    it('stores no attribute for an optional field given as undefined', async () => {
      await store.put([volumeRecord({ opsItemId: undefined, filedAt: undefined })]);
      const [listed] = await store.listRecords('000000000000', 'us-east-1');
      expect(Object.keys(listed).sort()).toEqual(Object.keys(volumeRecord()).sort());
    });

    it('replaces a record whole when it is put again, dropping fields the new one leaves out', async () => {
      // Prepare
      await store.put([volumeRecord({ status: 'filed', opsItemId: 'oi-0123456789ab', filedAt: '2026-11-22T06:00:02.000Z', version: 2 })]);
      // Act
      await store.put([volumeRecord({ status: 'tracking', version: 3 })]);
      // Assess
      const [listed] = await store.listRecords('000000000000', 'us-east-1');
      expect(listed).toStrictEqual(volumeRecord({ status: 'tracking', version: 3 }));
      for (const field of ['opsItemId', 'filedAt']) expect(listed).not.toHaveProperty(field);
    });

    it('keeps every optional field of a record through a put and a read', async () => {
      const full = volumeRecord({ status: 'filed', basis: 'created', opsItemId: 'oi-0123456789ab', filedAt: '2026-11-22T06:00:02.000Z', sizeGiB: 500, volumeType: 'io2', iops: 4000, throughputMiBs: 250, version: 2 });
      await store.put([full]);
      expect(await store.listRecords('000000000000', 'us-east-1')).toStrictEqual([full]);
    });

    it('returns no region state for a region never scanned, and the state last put after that', async () => {
      // Assess
      expect(await store.getRegionState('000000000000', 'us-east-1')).toBeUndefined();
      // Act
      await store.putRegionState({ account: '000000000000', region: 'us-east-1', firstScanAt: '2026-10-01T06:00:00.000Z', lastScanAt: '2026-10-01T06:00:00.000Z' });
      await store.putRegionState({ account: '000000000000', region: 'us-east-1', firstScanAt: '2026-10-01T06:00:00.000Z', lastScanAt: '2026-11-22T06:00:00.000Z' });
      await store.putRegionState({ account: '000000000000', region: 'eu-west-1', firstScanAt: '2026-11-01T06:00:00.000Z', lastScanAt: '2026-11-01T06:00:00.000Z' });
      // Assess
      expect(await store.getRegionState('000000000000', 'us-east-1')).toStrictEqual({ account: '000000000000', region: 'us-east-1', firstScanAt: '2026-10-01T06:00:00.000Z', lastScanAt: '2026-11-22T06:00:00.000Z' });
      expect((await store.getRegionState('000000000000', 'eu-west-1'))?.firstScanAt).toBe('2026-11-01T06:00:00.000Z');
      expect(await store.getRegionState('111122223333', 'us-east-1')).toBeUndefined();
    });

    it('grants a region scan lease to one holder at a time, again to the same holder, and to another once it ran out or was given back', async () => {
      // Prepare
      const t = (m: number) => new Date(Date.parse('2026-11-22T06:00:00.000Z') + m * 60_000);
      // Act / Assess
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-a', t(16), t(0))).toStrictEqual({ claimed: true });
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-b', t(17), t(1))).toStrictEqual({ claimed: false, holder: 'run-a', until: t(16).toISOString() });
      expect(await store.claimRegion('000000000000', 'eu-west-1', 'run-b', t(17), t(1))).toStrictEqual({ claimed: true });
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-a', t(18), t(2))).toStrictEqual({ claimed: true });
      // A lease held by a scan that is gone runs out; the holder it was taken from cannot give it back any more.
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-c', t(40), t(19))).toStrictEqual({ claimed: true });
      await store.releaseRegion('000000000000', 'us-east-1', 'run-a');
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-d', t(41), t(20))).toMatchObject({ claimed: false, holder: 'run-c' });
      await store.releaseRegion('000000000000', 'us-east-1', 'run-c');
      expect(await store.claimRegion('000000000000', 'us-east-1', 'run-d', t(41), t(20))).toStrictEqual({ claimed: true });
      // A lease is not region state: a region never scanned to the end still has none.
      expect(await store.getRegionState('000000000000', 'us-east-1')).toBeUndefined();
    });

    it('lists runs newest first, up to the limit, each as it was put', async () => {
      // Prepare
      const days = ['2026-11-20', '2026-11-22', '2026-11-21', '2026-11-23'];
      for (const [i, day] of days.entries()) await store.putRun(runSummary({ runId: `run-${i}`, startedAt: `${day}T06:00:00.000Z`, finishedAt: `${day}T06:00:05.000Z` }));
      // Act
      const runs = await store.listRuns(3);
      // Assess
      expect(runs.map((r) => r.runId)).toEqual(['run-3', 'run-1', 'run-2']);
      expect(runs[1]).toStrictEqual(runSummary({ runId: 'run-1', startedAt: '2026-11-22T06:00:00.000Z', finishedAt: '2026-11-22T06:00:05.000Z' }));
      expect(await store.listRuns(10)).toHaveLength(4);
      expect(await store.listRuns(0)).toEqual([]);
    });

    it('orders runs that started at the same time by run ID, and keeps one copy of a run put twice', async () => {
      // Prepare
      await store.putRun(runSummary({ runId: 'run-a' }));
      await store.putRun(runSummary({ runId: 'run-b' }));
      // Act
      await store.putRun(runSummary({ runId: 'run-a', finishedAt: '2026-11-22T06:01:00.000Z' }));
      // Assess
      const runs = await store.listRuns(10);
      expect(runs.map((r) => r.runId)).toEqual(['run-b', 'run-a']);
      expect(runs[1].finishedAt).toBe('2026-11-22T06:01:00.000Z');
    });
  });
}
