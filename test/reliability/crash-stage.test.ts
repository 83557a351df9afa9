import { AccountClients, AwsClients, staleVolumeAdapters } from '@opsauto/aws';
import { scanFleet, type StaleVolumeDeps } from '@opsauto/core';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { describeKills, Killed, Killer, killPlan } from '../helpers/crash.js';
import { recordFigure } from '../helpers/figures.js';
import { clientConfig } from '../helpers/localcloud.js';
import { opsautoItems, reliabilityClients, reliabilityConfig, startReliabilityStage } from '../helpers/reliability.js';

// The crash suite's end-to-end variant (issue 14): the stale-volume scan killed on the local stage, through the
// adapters the scanner's handler builds (EC2 DescribeVolumes, SSM CreateOpsItem / DescribeOpsItems / UpdateOpsItem,
// the DynamoDB volume store and its region lease), each call through the crash suite's kill wrapper
// (test/helpers/crash.ts). It proves the wiring the in-memory suite (crash-scan.test.ts) assumes: localcloud's
// OpsCenter answers a second CreateOpsItem with the same dedup string with OpsItemAlreadyExistsException and the
// existing item's ID, and the DynamoDB lease left by a dead scan blocks the next scan until it runs out.
//
// Each round seeds four new unattached volumes, lets the deployed handler see them (first sighting), moves the clock
// past the threshold, runs a scan that is killed at a seeded call (round 0 is not killed: it measures the calls a
// scan makes), then recovers as deployed: the next scan comes after the dead scan's 16-minute lease ran out, through
// the stage's own stale-volume-scan function. Every stale volume has exactly one OpsItem at the end of every round.
// Seeds 1..4 (fixed: a stage round takes about a second).

const SEEDS = [1, 2, 3, 4];
let stage: Stage;

beforeAll(async () => {
  stage = await startReliabilityStage();
});
afterAll(async () => {
  await stage?.stop();
});

/** The scanner's dependencies as its handler builds them, against the stage's localcloud. */
function scannerDeps(): Omit<StaleVolumeDeps, 'config' | 'clock'> {
  const clients = new AwsClients('us-east-1', clientConfig(stage.cloud));
  const accounts = new AccountClients(clients, { ownAccount: DEFAULT_ACCOUNT, roles: [], settings: clientConfig(stage.cloud), now: () => stage.cloud.clock.nowMs() });
  return staleVolumeAdapters(accounts, clients, stage.tableName, stage.cloud.clock);
}

interface ScanOutcome {
  summary?: { totals: { stale: number; filed: number; alreadyFiled: number; errors: number } };
}

describe('crash on the local stage: the stale-volume scan killed through its real adapters', () => {
  it(`files every stale volume exactly once after a kill at a seeded call (${SEEDS.length} seeds and a round without a kill)`, async () => {
    const { ssm } = reliabilityClients(stage);
    const real = scannerDeps();
    let calls = 0;
    let seeded = 0;
    let cleanRounds = 0;
    const kills: string[] = [];
    for (const [round, seed] of [0, ...SEEDS].entries()) {
      // Prepare: four new volumes, seen once by the deployed scan, stale a day later (thresholdDays 1).
      stage.cloud.seed({ regions: { 'us-east-1': { volumes: [10, 20, 30, 40].map((size) => ({ size, type: 'gp3', tags: { Name: `crash-${round}-${size}` } })) } } });
      seeded += 4;
      await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test');
      await stage.cloud.advance('P2D');
      // Act: a scan through the real adapters, killed at a seeded call (round 0: not killed, counted).
      const killer = new Killer(round === 0 ? new Map() : killPlan(seed, calls));
      const inv = killer.invocation();
      const deps: StaleVolumeDeps = {
        config: reliabilityConfig(),
        clock: stage.cloud.clock,
        inventory: inv.wrap(real.inventory, 'ec2', ['listUnattached']),
        opsCenter: inv.wrap(real.opsCenter, 'ssm'),
        store: inv.wrap(real.store, 'store'),
      };
      const why = `round ${round} seed ${seed}, kills: ${describeKills(killer.kills)}`;
      try {
        await scanFleet(deps, { ownAccount: DEFAULT_ACCOUNT, runId: `crash-${round}`, leaseHolder: `crash-${round}/request` });
      } catch (e) {
        if (!(e instanceof Killed) && !inv.dead) throw e;
      }
      if (round === 0) {
        calls = killer.calls;
        cleanRounds++;
      } else {
        expect(killer.kills, why).toHaveLength(1);
        kills.push(describeKills(killer.kills));
      }
      // Recover: the dead scan's lease runs out; the next scan is the deployed function's.
      await stage.cloud.advance('17m');
      const next = (await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test')) as ScanOutcome;
      // Assess: every stale volume filed, each exactly once, and the next scan found nothing left to do twice.
      const items = await opsautoItems(ssm);
      const volumes = items.map((i) => /vol-[0-9a-f]+/.exec(i.Title ?? '')?.[0]);
      expect(items.filter((i) => i.Status === 'Open'), why).toHaveLength(seeded);
      expect(new Set(volumes).size, `${why}: a volume filed twice`).toBe(items.length);
      expect(next.summary?.totals, why).toMatchObject({ stale: seeded, errors: 0 });
      expect(next.summary!.totals.filed + next.summary!.totals.alreadyFiled, why).toBe(seeded);
    }
    expect(calls).toBeGreaterThan(5);
    console.info(`crash-stage: ${SEEDS.length} seeds killed on the local stage over ${calls} calls a scan (${kills.join(', ')}), ${seeded} volumes filed once each`);
    recordFigure(import.meta.url, 'seeds', SEEDS.length);
    recordFigure(import.meta.url, 'round without a kill', cleanRounds);
    recordFigure(import.meta.url, 'calls a scan', calls);
    recordFigure(import.meta.url, 'volumes, each filed once', seeded);
  });
});
