import { dedupStringFor, defineConfig, InMemoryVolumeStore, scanFleet, type Clock, type StaleVolumeDeps } from '@opsauto/core';
import { describe, expect, it } from 'vitest';
import { seeded } from '../core/ami/fakes.js';
import { FakeInventory, FakeOpsCenter } from '../core/ebs/fakes.js';
import { crashSeeds, describeKills, Killed, Killer, killAt, killPlan } from '../helpers/crash.js';
import { recordFigure } from '../helpers/figures.js';

// Crashes of the stale-volume scanner (issue 14). A seeded kill is the death of one scan invocation at its k-th call
// to any dependency (volume store read or write, region lease claim or release, DescribeVolumes page, describe,
// CreateOpsItem, DescribeOpsItems, UpdateOpsItem, the run record), before the call takes effect or right after it
// took effect and before the scan saw the answer; after it nothing of that invocation lands. Each seed kills one to
// three invocations at points drawn over eight daily scans of two accounts × two regions (DescribeVolumes pages of
// three, so that kills fall between pages), in which volumes are first seen, go stale and are filed (several
// CreateOpsItem calls in flight at once), one filed volume is attached again (its item resolved) and one new volume
// appears. Recovery is what happens deployed: Lambda retries the failed scheduled invocation twice (after 1 and 2
// minutes, same run ID and request ID, so the retry re-enters the lease its attempt left), and the next daily scan
// runs (a lease left by a dead scan runs out after 16 minutes).
//
// What is asserted for every seed: the scans end with the state a run without a kill ends with: every stale volume
// filed exactly once (one OpsItem ever created for its dedup string: no duplicate CreateOpsItem effect) and recorded
// as filed with that item; the volume attached again has its item resolved (UpdateOpsItem to Resolved, which is
// idempotent: resolving twice leaves the same item); nothing else open; the last scan clean. CreateOpsItem itself may
// be CALLED again for a volume after a death between the call and its record; OpsCenter's dedup string answers the
// existing item (OpsItemAlreadyExistsException with its ID, created: false), so the effect happens once.
//
// Replay and widen: CRASH_SEED=17 npx vitest run test/reliability/crash-scan.test.ts (one seed);
// CRASH_SEEDS=500 for seeds 1..500 (default 60).

const OWN = '000000000000';
const OTHER = '111111111111';
const REGIONS = ['us-east-1', 'eu-west-1'];
const DAY = 86_400_000;
const FIRST = Date.parse('2026-11-01T06:00:00Z');
const DAYS = 8;

const config = defineConfig({
  regions: REGIONS,
  staleVolumes: { thresholdDays: 3, accounts: [{ accountId: OTHER, roleArn: `arn:aws:iam::${OTHER}:role/opsauto-scan` }] },
});

class TestClock implements Clock {
  at = FIRST;
  now() {
    return new Date(this.at);
  }
}

/** The fleet: in each account and region seven unattached volumes (one kept on purpose) and one attached. */
function fleet(inventory: FakeInventory) {
  for (const account of [OWN, OTHER]) {
    for (const region of REGIONS) {
      const prefix = `vol-${account.slice(0, 1)}${region.slice(0, 2)}`;
      for (let i = 0; i < 6; i++) inventory.add({ volumeId: `${prefix}${i}`, account, region, availabilityZone: `${region}a`, sizeGiB: 10 * (i + 1) });
      inventory.add({ volumeId: `${prefix}kept`, account, region, availabilityZone: `${region}a`, tags: { 'opsauto:keep': 'yes' } });
      inventory.add({ volumeId: `${prefix}used`, account, region, availabilityZone: `${region}a`, state: 'in-use', attachedTo: ['i-0123456789abcdef0'] });
    }
  }
}

/** Eight daily scans under `killer` (each retried twice by Lambda when it dies), then two more without kills. */
async function runScans(killer: Killer, seed: number) {
  const random = seeded(seed);
  const clock = new TestClock();
  const inventory = new FakeInventory(random);
  inventory.pageSize = 3;
  const opsCenter = new FakeOpsCenter(random);
  const store = new InMemoryVolumeStore();
  fleet(inventory);
  let invocations = 0;
  let failedDays = 0;

  const scan = async (day: number, armed: boolean) => {
    const at = new Date(FIRST + day * DAY);
    const runId = `daily-${day}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      clock.at = at.getTime() + attempt * 60_000 + 250;
      invocations++;
      const inv = (armed ? killer : new Killer()).invocation();
      const deps: StaleVolumeDeps = {
        config,
        clock,
        inventory: inv.wrap(inventory, 'ec2', ['listUnattached']),
        opsCenter: inv.wrap(opsCenter, 'ssm'),
        store: inv.wrap(store, 'store'),
      };
      try {
        const { summary } = await scanFleet(deps, { ownAccount: OWN, runId, leaseHolder: `${runId}/request-${day}`, at });
        return summary;
      } catch (e) {
        if (!(e instanceof Killed) && !inv.dead) throw e;
      }
    }
    failedDays++;
    return undefined;
  };

  for (let day = 0; day < DAYS; day++) {
    // Day 2: one more volume appears in the own account's us-east-1; day 5: a filed volume is attached again.
    if (day === 2) inventory.add({ volumeId: 'vol-0usnew', account: OWN, region: 'us-east-1', availabilityZone: 'us-east-1a', createTime: new Date(FIRST + DAY + 3_600_000).toISOString() });
    if (day === 5) inventory.attach('vol-1eu3');
    await scan(day, true);
  }
  const last = [await scan(DAYS, false), await scan(DAYS + 1, false)].at(-1)!;
  return { inventory, opsCenter, store, last, invocations, failedDays };
}

/** What the scans left: every item ever filed (by dedup string, with its status) and every record's state. */
async function outcome(run: Awaited<ReturnType<typeof runScans>>) {
  const items = [...run.opsCenter.items.entries()].map(([id, i]) => ({ id, dedup: i.item.dedupString, status: i.status }));
  const records = (await Promise.all([OWN, OTHER].flatMap((account) => REGIONS.map((region) => run.store.listRecords(account, region))))).flat();
  return { items, records };
}

/** The assertions every killed run must pass against the run without a kill. */
async function assertRecovered(killer: Killer, seed: number, clean: Awaited<ReturnType<typeof outcome>>, why: string) {
  const run = await runScans(killer, seed);
  const { items, records } = await outcome(run);
  const context = `${why}, kills: ${describeKills(killer.kills)}`;
  // One OpsItem ever created per stale volume (OpsCenter's dedup answered every repeated CreateOpsItem).
  const perDedup = new Map<string, number>();
  for (const i of items) perDedup.set(i.dedup, (perDedup.get(i.dedup) ?? 0) + 1);
  expect([...perDedup].filter(([, n]) => n > 1), `${context}: volumes filed more than once`).toEqual([]);
  // The same items, in the same states, as without a kill: nothing lost, nothing extra, the attached one resolved.
  const view = (list: typeof items) => list.map((i) => `${i.dedup} ${i.status}`).sort();
  expect(view(items), context).toEqual(view(clean.items));
  // Every stale volume's record says filed, with its item.
  const byDedup = new Map(items.map((i) => [i.dedup, i.id]));
  const open = items.filter((i) => i.status === 'Open').map((i) => i.dedup);
  for (const dedup of open) {
    const record = records.find((r) => dedupStringFor(r) === dedup);
    expect(record, `${context}: no record for ${dedup}`).toMatchObject({ status: 'filed', opsItemId: byDedup.get(dedup) });
  }
  expect(records.filter((r) => r.status === 'filed').length, context).toBe(open.length);
  // The last scan ran clean: every region scanned, nothing left over.
  expect(run.last.totals.errors, `${context}: ${JSON.stringify(run.last.regions.flatMap((r) => r.errors))}`).toBe(0);
  expect(run.last.totals.filed, context).toBe(0);
  return { run, repeatedCreates: run.opsCenter.createCalls - items.length };
}

describe('crash: the stale-volume scanner killed at random points', () => {
  it('the run without a kill: every stale volume filed once, the one attached again resolved, and the number of calls the kill points are drawn from', async () => {
    const killer = new Killer();
    const run = await runScans(killer, 1);
    const { items, records } = await outcome(run);
    // 2 accounts × 2 regions × 6 candidates, and the volume that appeared on day 2.
    expect(items).toHaveLength(25);
    expect(items.filter((i) => i.status === 'Resolved').map((i) => i.dedup)).toEqual([expect.stringContaining('vol-1eu3')]);
    expect(records.filter((r) => r.status === 'filed')).toHaveLength(24);
    expect(run.opsCenter.createCalls).toBe(25);
    expect(run.failedDays).toBe(0);
    expect(killer.calls).toBeGreaterThan(200);
  });

  it(`every scan ends with each stale volume filed exactly once (${crashSeeds(60).length} seeds)`, async () => {
    const cleanKiller = new Killer();
    const clean = await outcome(await runScans(cleanKiller, 1));
    let kills = 0;
    let repeatedCreates = 0;
    for (const seed of crashSeeds(60)) {
      const killer = new Killer(killPlan(seed, cleanKiller.calls));
      const result = await assertRecovered(killer, seed, clean, `seed ${seed} (CRASH_SEED=${seed})`);
      kills += killer.kills.length;
      repeatedCreates += result.repeatedCreates;
    }
    expect(kills).toBeGreaterThanOrEqual(crashSeeds(60).length);
    console.info(`crash-scan: ${crashSeeds(60).length} seeds, ${kills} kills over ${cleanKiller.calls} calls a run, ${repeatedCreates} CreateOpsItem calls answered by OpsCenter's dedup`);
    recordFigure(import.meta.url, 'seeds', crashSeeds(60).length);
    recordFigure(import.meta.url, 'kills', kills);
    recordFigure(import.meta.url, 'calls a run', cleanKiller.calls);
    recordFigure(import.meta.url, "CreateOpsItem calls repeated, answered by OpsCenter's dedup", repeatedCreates);
  });

  it('a scan killed right after CreateOpsItem took effect files nothing twice: the retry gets the existing item back', async () => {
    const cleanKiller = new Killer();
    const clean = await outcome(await runScans(cleanKiller, 1));
    const killer = new Killer(killAt('ssm.create', 1, 'after'));
    const { run } = await assertRecovered(killer, 1, clean, 'killAt(ssm.create, 1, after)');
    expect(killer.kills).toHaveLength(1);
    expect(run.opsCenter.createCalls).toBeGreaterThan(25);
  });
});
