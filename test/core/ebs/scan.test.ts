import { describe, expect, it } from 'vitest';
import { defineConfig, InMemoryVolumeStore, REGION_LEASE_MS, scanFleet, scanRegion, type Clock, type StaleVolumeDeps } from '@opsauto/core';
import { seeded } from '../ami/fakes.js';
import { FakeInventory, FakeOpsCenter } from './fakes.js';

const ACCOUNT = '000000000000';
const DAY = 86_400_000;

/** A clock the test moves by hand. */
class TestClock implements Clock {
  constructor(public at = new Date('2026-11-01T06:00:00Z')) {}
  now() {
    return new Date(this.at);
  }
  advanceDays(days: number) {
    this.at = new Date(this.at.getTime() + days * DAY);
  }
}

function setup(random: () => number = () => 0) {
  const clock = new TestClock();
  const deps = {
    config: defineConfig({ regions: ['us-east-1'] }),
    clock,
    inventory: new FakeInventory(random),
    opsCenter: new FakeOpsCenter(random),
    store: new InMemoryVolumeStore(),
  } satisfies StaleVolumeDeps;
  return { deps, clock };
}

const scan = (deps: StaleVolumeDeps, dryRun = false) => scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', dryRun });

describe('scanRegion', () => {
  it('records unattached volumes on the first scan and files them only once 45 days have passed', async () => {
    // Prepare: a volume created a year ago, first seen unattached today.
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1', createTime: '2025-11-01T00:00:00Z' });
    deps.inventory.add({ volumeId: 'vol-attached', state: 'in-use', attachedTo: ['i-1'] });
    // Act / Assess
    expect((await scan(deps)).summary).toMatchObject({ scanned: 1, newlyUnattached: 1, stale: 0, filed: 0 });
    clock.advanceDays(44);
    expect((await scan(deps)).summary).toMatchObject({ stale: 0, filed: 0 });
    clock.advanceDays(1);
    const day45 = await scan(deps);
    expect(day45.summary).toMatchObject({ stale: 1, filed: 1 });
    expect(deps.opsCenter.open()).toHaveLength(1);
  });

  it('observes at the scheduled time, so that the 45th daily scan after the first sighting files whatever its run took', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    const at = (day: number) => new Date(Date.parse('2026-11-02T06:00:00Z') + day * DAY);
    clock.at = new Date(at(0).getTime() + 250); // the first scheduled run started a little late
    await scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', at: at(0) });
    clock.at = at(45); // the 45th runs on the dot
    expect((await scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', at: at(45) })).summary.filed).toBe(1);
  });

  it('files nothing new on a rerun and issues no CreateOpsItem for volumes already filed', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    await scan(deps);
    const calls = deps.opsCenter.createCalls;
    expect((await scan(deps)).summary).toMatchObject({ stale: 1, filed: 0, alreadyFiled: 1 });
    expect(deps.opsCenter.createCalls).toBe(calls);
  });

  it('restarts the clock when a volume is attached and detached again before it is stale', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(30);
    deps.inventory.attach('vol-1');
    await scan(deps);
    deps.inventory.detach('vol-1');
    clock.advanceDays(1);
    await scan(deps);
    clock.advanceDays(20);
    expect((await scan(deps)).summary.stale).toBe(0); // 51 days since first seen, but only 20 unattached
    clock.advanceDays(25);
    expect((await scan(deps)).summary.filed).toBe(1);
  });

  it('resolves the item with a note when the volume is attached again, deleted, or tagged to keep', async () => {
    const { deps, clock } = setup();
    for (const id of ['vol-a', 'vol-b', 'vol-c']) deps.inventory.add({ volumeId: id });
    await scan(deps);
    clock.advanceDays(45);
    await scan(deps);
    deps.inventory.attach('vol-a', 'i-0aaa');
    deps.inventory.volumes.delete('vol-b');
    deps.inventory.volumes.get('vol-c')!.tags['opsauto:keep'] = 'yes';
    const result = await scan(deps);
    expect(result.summary).toMatchObject({ resolved: 3, skippedByTag: 1 });
    const notes = [...deps.opsCenter.items.values()].map((i) => [i.status, i.note]);
    expect(notes).toEqual([
      ['Resolved', 'Resolved by opsauto: attached again to i-0aaa.'],
      ['Resolved', 'Resolved by opsauto: the volume was deleted.'],
      ['Resolved', 'Resolved by opsauto: tagged opsauto:keep: kept on purpose.'],
    ]);
    expect(await deps.store.listRecords(ACCOUNT, 'us-east-1')).toEqual([]);
  });

  it('never files a volume carrying the exclusion tag', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1', tags: { 'opsauto:keep': '' } });
    await scan(deps);
    clock.advanceDays(100);
    expect((await scan(deps)).summary).toMatchObject({ skippedByTag: 1, filed: 0 });
  });

  it('files each volume once when two scans overlap, under any interleaving', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { deps, clock } = setup(seeded(seed));
      for (let i = 0; i < 5; i++) deps.inventory.add({ volumeId: `vol-${i}` });
      await scan(deps);
      clock.advanceDays(46);
      const both = await Promise.all([scan(deps), scan(deps)]);
      // The region's lease lets one of them scan; the other changes nothing and says why.
      expect(both.filter((r) => r.summary.errors.some((e) => e.startsWith('region busy: scan scan-'))), `seed ${seed}`).toHaveLength(1);
      await scan(deps); // a later run picks up anything the overlap left
      expect(deps.opsCenter.items.size, `seed ${seed}`).toBe(5);
      const records = await deps.store.listRecords(ACCOUNT, 'us-east-1');
      expect(records.every((r) => r.status === 'filed'), `seed ${seed}`).toBe(true);
    }
  });

  it('leaves a region alone while another scan holds it, so that a filed record is never overwritten by a scan that read it before', async () => {
    // Prepare: a volume stale on day 46; the daily scan pauses in the middle of its listing.
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    const list = deps.inventory.listUnattached.bind(deps.inventory);
    let listing!: () => void;
    const listed = new Promise<void>((r) => (listing = r));
    deps.inventory.listUnattached = async function* (account, region) {
      for await (const page of list(account, region)) {
        listing();
        await paused;
        yield page;
      }
    };
    // Act: a manual scan runs while the daily one is paused, then the daily one finishes.
    const daily = scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', runId: 'daily-2026-12-17' });
    await listed;
    deps.inventory.listUnattached = list;
    const manual = await scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', runId: 'manual-1' });
    resume();
    const finished = await daily;
    // Assess
    expect(manual.summary.errors).toEqual([expect.stringMatching(/^region busy: scan daily-2026-12-17 is scanning it \(lease until .+\); this run left it alone$/)]);
    expect(manual.summary).toMatchObject({ scanned: 0, filed: 0 });
    expect(finished.summary).toMatchObject({ filed: 1, errors: [] });
    expect(await deps.store.listRecords(ACCOUNT, 'us-east-1')).toEqual([expect.objectContaining({ volumeId: 'vol-1', status: 'filed' })]);
    // The lease went back at the end: the next scan runs.
    expect((await scan(deps)).summary).toMatchObject({ alreadyFiled: 1, errors: [] });
  });

  it('takes over the lease of a scan that died without giving it back once the lease ran out', async () => {
    // Prepare: a scan took the lease and its process was killed (no release).
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await deps.store.claimRegion(ACCOUNT, 'us-east-1', 'killed-run', new Date(clock.now().getTime() + REGION_LEASE_MS), clock.now());
    // Act / Assess
    expect((await scan(deps)).summary.errors).toEqual([expect.stringContaining('region busy: scan killed-run')]);
    clock.at = new Date(clock.at.getTime() + REGION_LEASE_MS + 1);
    expect((await scan(deps)).summary).toMatchObject({ newlyUnattached: 1, errors: [] });
  });

  it('records the one item OpsCenter holds when a filing failed between creating the item and recording it', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    deps.opsCenter.crashAfterNextCreate = true;
    const failed = await scan(deps);
    expect(failed.summary).toMatchObject({ filed: 0, leftForNextRun: 1, errors: ['vol-1: Error: simulated crash after CreateOpsItem'] });
    expect((await deps.store.listRecords(ACCOUNT, 'us-east-1'))[0]).toMatchObject({ status: 'tracking' });
    // The next run files again; OpsCenter's dedup answers the item the failed attempt created.
    expect((await scan(deps)).summary).toMatchObject({ filed: 0, alreadyFiled: 1 });
    expect(deps.opsCenter.items.size).toBe(1);
    expect((await deps.store.listRecords(ACCOUNT, 'us-east-1'))[0]).toMatchObject({ status: 'filed', opsItemId: 'oi-000000000001' });
  });

  it('resolves the item of an unrecorded filing when its volume is attached before the next run', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    deps.opsCenter.crashAfterNextCreate = true;
    await scan(deps);
    deps.inventory.attach('vol-1', 'i-0aaa');
    expect((await scan(deps)).summary.resolved).toBe(1);
    expect(deps.opsCenter.open()).toEqual([]);
  });

  it('keeps filing the other volumes when one item is refused', async () => {
    const { deps, clock } = setup();
    for (const id of ['vol-1', 'vol-2', 'vol-3']) deps.inventory.add({ volumeId: id });
    await scan(deps);
    clock.advanceDays(46);
    const create = deps.opsCenter.create.bind(deps.opsCenter);
    deps.opsCenter.create = (a, r, item) => (item.dedupString.endsWith('vol-2') ? Promise.reject(new Error('ValidationException: OperationalData too large')) : create(a, r, item));
    const out = await scan(deps);
    expect(out.summary).toMatchObject({ filed: 2, leftForNextRun: 1 });
    expect(out.summary.errors).toEqual(['vol-2: Error: ValidationException: OperationalData too large']);
  });

  it('keeps the record of a volume the listing missed but that is still unattached', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    await scan(deps);
    const list = deps.inventory.listUnattached.bind(deps.inventory);
    deps.inventory.listUnattached = async function* (a, r) {
      for await (const page of list(a, r)) yield page.filter((v) => v.volumeId !== 'vol-1');
    };
    expect((await scan(deps)).summary.resolved).toBe(0);
    expect((await deps.store.listRecords(ACCOUNT, 'us-east-1'))[0]).toMatchObject({ status: 'filed' });
  });

  it('ignores a scheduled time far from the clock and never moves the last scan time back', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1', createTime: '2026-11-01T00:00:00Z' });
    await scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', at: new Date('2015-10-08T16:53:06Z') });
    const [record] = await deps.store.listRecords(ACCOUNT, 'us-east-1');
    expect(record.unattachedSince).toBe(clock.now().toISOString());
    expect((await deps.store.getRegionState(ACCOUNT, 'us-east-1'))!.lastScanAt).toBe(clock.now().toISOString());
  });

  it('stops filing when asked to (the Lambda is out of time) and leaves the rest for the next run', async () => {
    const { deps, clock } = setup();
    for (const id of ['vol-1', 'vol-2']) deps.inventory.add({ volumeId: id });
    await scan(deps);
    clock.advanceDays(46);
    const out = await scanRegion(deps, { account: ACCOUNT, region: 'us-east-1', shouldStop: () => true });
    expect(out.summary).toMatchObject({ filed: 0, leftForNextRun: 2, errors: ['filing stopped: out of time for this run'] });
  });

  it('stops filing cleanly at the OpsItem limit, reports what is left, and the next run carries on', async () => {
    const { deps, clock } = setup();
    for (let i = 0; i < 4; i++) deps.inventory.add({ volumeId: `vol-${i}`, sizeGiB: 100 * (i + 1) });
    await scan(deps);
    clock.advanceDays(46);
    deps.opsCenter.limit = 2;
    const first = await scan(deps);
    expect(first.summary).toMatchObject({ filed: 2, leftForNextRun: 2 });
    expect(first.summary.errors[0]).toMatch(/filing stopped: OpsItemLimitError/);
    expect(first.filed.map((f) => f.volumeId)).toEqual(['vol-3', 'vol-2']); // the most expensive first
    deps.opsCenter.limit = Infinity;
    expect((await scan(deps)).summary).toMatchObject({ filed: 2, alreadyFiled: 2, leftForNextRun: 0 });
    expect(deps.opsCenter.items.size).toBe(4);
  });

  it('skips without error a stale volume deleted between listing and filing', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    const describe = deps.inventory.describe.bind(deps.inventory);
    deps.inventory.describe = async (a, r, ids) => {
      deps.inventory.volumes.delete('vol-1'); // deleted right after it was listed
      return describe(a, r, ids);
    };
    expect((await scan(deps)).summary).toMatchObject({ stale: 1, filed: 0, errors: [] });
    expect(deps.opsCenter.items.size).toBe(0);
  });

  it('plans in a dry run without writing anything or calling OpsCenter', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1' });
    await scan(deps);
    clock.advanceDays(46);
    const before = JSON.stringify([...deps.store.records.values()]);
    const plan = await scan(deps, true);
    expect(plan.filed.map((f) => f.item.title)).toEqual([expect.stringContaining('vol-1')]);
    expect(deps.opsCenter.createCalls).toBe(0);
    expect(JSON.stringify([...deps.store.records.values()])).toBe(before);
  });
});

describe('scanFleet', () => {
  it('scans every configured region and account, reports a failing region without stopping the others', async () => {
    const { deps } = setup();
    deps.config = defineConfig({ regions: ['us-east-1', 'eu-west-1'], staleVolumes: { accounts: [{ accountId: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/opsauto-scan' }] } });
    deps.inventory.add({ volumeId: 'vol-1' });
    deps.inventory.add({ volumeId: 'vol-2', region: 'eu-west-1', account: '111122223333' });
    const list = deps.inventory.listUnattached.bind(deps.inventory);
    deps.inventory.listUnattached = (account, region) => {
      if (region === 'eu-west-1' && account === ACCOUNT) throw new Error('AccessDenied');
      return list(account, region);
    };
    const { summary } = await scanFleet(deps, { ownAccount: ACCOUNT, runId: 'run-x' });
    expect(summary.regions.map((r) => `${r.account}/${r.region}:${r.scanned}:${r.errors.length}`)).toEqual([
      '000000000000/us-east-1:1:0',
      '000000000000/eu-west-1:0:1',
      '111122223333/us-east-1:0:0',
      '111122223333/eu-west-1:1:0',
    ]);
    expect(summary.totals).toMatchObject({ scanned: 2, newlyUnattached: 2, errors: 1 });
    expect(await deps.store.listRuns(5)).toHaveLength(1);
  });

  it('counts in the run summary what the stale volumes deleted or attached again cost a month, and not those kept by tag', async () => {
    // Prepare: three volumes filed after 45 days, and one not stale yet.
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-big', type: 'gp2', sizeGiB: 500 }); // $50.00
    deps.inventory.add({ volumeId: 'vol-att', type: 'io1', sizeGiB: 100, iops: 1000 }); // $12.50 + $65.00
    deps.inventory.add({ volumeId: 'vol-keep', type: 'gp2', sizeGiB: 10 });
    await scanFleet(deps, { ownAccount: ACCOUNT, runId: 'run-1' });
    clock.advanceDays(45);
    deps.inventory.add({ volumeId: 'vol-new', type: 'gp2', sizeGiB: 1000 });
    expect((await scanFleet(deps, { ownAccount: ACCOUNT, runId: 'run-2' })).summary.totals).toMatchObject({ filed: 3, resolvedMonthlyCostUsd: 0 });
    // Act: one deleted, one attached, one tagged to keep, and the new (unfiled) one deleted.
    deps.inventory.volumes.delete('vol-big');
    deps.inventory.attach('vol-att', 'i-0aaa');
    deps.inventory.volumes.get('vol-keep')!.tags['opsauto:keep'] = '';
    deps.inventory.volumes.delete('vol-new');
    clock.advanceDays(1);
    const { summary, results } = await scanFleet(deps, { ownAccount: ACCOUNT, runId: 'run-3' });
    // Assess
    expect(summary.totals).toMatchObject({ resolved: 3, resolvedMonthlyCostUsd: 127.5 });
    expect(summary.regions[0]).toMatchObject({ resolved: 3, resolvedMonthlyCostUsd: 127.5 });
    expect(summary.remediated).toEqual([
      { account: ACCOUNT, region: 'us-east-1', volumeId: 'vol-att', opsItemId: expect.stringMatching(/^oi-/), reason: 'attached', monthlyCostUsd: 77.5 },
      { account: ACCOUNT, region: 'us-east-1', volumeId: 'vol-big', opsItemId: expect.stringMatching(/^oi-/), reason: 'deleted', monthlyCostUsd: 50 },
    ]);
    expect(results[0].resolved.find((r) => r.volumeId === 'vol-keep')).toMatchObject({ reason: 'excluded' });
    expect(results[0].resolved.find((r) => r.volumeId === 'vol-keep')).not.toHaveProperty('monthlyCostUsd');
    expect((await deps.store.listRuns(1))[0]).toEqual(summary);
  });

  it('keeps size and type on the record, fills them in on old records, follows a resize, and counts no cost it cannot know', async () => {
    const { deps, clock } = setup();
    deps.inventory.add({ volumeId: 'vol-1', type: 'gp3', sizeGiB: 100, iops: 4000 });
    deps.inventory.add({ volumeId: 'vol-old', type: 'gp2', sizeGiB: 100 });
    await scan(deps);
    const records = () => deps.store.listRecords(ACCOUNT, 'us-east-1');
    expect((await records())[0]).toMatchObject({ volumeId: 'vol-1', sizeGiB: 100, volumeType: 'gp3', iops: 4000 });
    // Records written before sizes were kept, and a volume grown since (ModifyVolume).
    for (const r of deps.store.records.values()) for (const k of ['sizeGiB', 'volumeType', 'iops', 'throughputMiBs'] as const) delete r[k];
    deps.inventory.volumes.get('vol-1')!.sizeGiB = 200;
    clock.advanceDays(45);
    await scan(deps);
    expect((await records()).map((r) => [r.volumeId, r.status, r.sizeGiB, r.volumeType])).toEqual([
      ['vol-1', 'filed', 200, 'gp3'],
      ['vol-old', 'filed', 100, 'gp2'],
    ]);
    // vol-old's record loses its size again (as if never seen since), then both volumes are deleted.
    for (const k of ['sizeGiB', 'volumeType'] as const) delete deps.store.records.get(`${ACCOUNT}#us-east-1#vol-old`)![k];
    deps.inventory.volumes.clear();
    clock.advanceDays(1);
    const result = await scan(deps);
    expect(result.resolved.map((r) => [r.volumeId, r.reason, r.monthlyCostUsd])).toEqual([
      ['vol-1', 'deleted', 21], // 200 GiB × $0.08 + 1000 IOPS above 3000 × $0.005
      ['vol-old', 'deleted', undefined],
    ]);
    expect(result.summary.resolvedMonthlyCostUsd).toBe(21);
  });
});
