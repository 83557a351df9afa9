import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { activationChecks, bootStorm, LOAD_FAULTS, liveActivations, opsItemsPerVolume } from '../../bench/load-faults.js';
import { AccountClients, AwsClients, staleVolumeAdapters } from '@opsauto/aws';
import { scanFleet, type StaleVolumeDeps } from '@opsauto/core';
import { recordFigure } from '../helpers/figures.js';
import { clientConfig } from '../helpers/localcloud.js';
import { createToken, faultPhases, reliabilityClients, reliabilityConfig, startReliabilityStage } from '../helpers/reliability.js';

// The "Load" part of issue 14 at test size (the benches run it at bench size: `npm run bench activation-api-faults
// stale-scan-faults`): the activation API and the stale-volume scanner under load while every service
// throttles 20% of calls, fails 5% with its 5xx and answers 50 ms late. A booting server sees nothing but 2xx or a
// 503 with Retry-After, each gets one live activation, and every stale volume is filed once. Retry-After and the
// boot script's back-off are honoured at 1/100 scale (10 ms a second) to keep the file short.

const SEED = Number(process.env.LOAD_SEED ?? 1414);
/**
 * register-node.sh's 8 attempts wait at least 91 s between them, past the 15 s an idempotency claim can block its
 * key (a request whose answer could not be saved leaves it in progress for the function's remaining time: real
 * time here). At 1/100 scale 8 attempts last under 2 s, so the scaled script gets the attempts that outlast the
 * claim as the real one does: 7 back-offs (at least 0.91 s here), then 60 s ones (0.3 s) up to 15 s.
 */
const MAX_ATTEMPTS = 60;
/**
 * 30 servers at once (the 1,000-server storm is `npm run bench activation-api-faults`): on the stage every request is
 * about 15 AWS calls in this one Node process, so the storm is CPU time, twice as long when a second suite runs.
 */
const SERVERS = 30;
/** A key's claim can hold its retries for up to 15 s of real time (above), on top of the storm's own time. */
const BOOT_TIMEOUT_MS = 60_000;
const VOLUMES = 100;
const ACCOUNT = '000000000000';

let stage: Stage;
let c: ReturnType<typeof reliabilityClients>;
let figures: ReturnType<typeof faultPhases>['figures'];
let withFaults: ReturnType<typeof faultPhases>['withFaults'];
let recordTotals: ReturnType<typeof faultPhases>['recordTotals'];
/** What each test saw, printed with the phases' figures (the README's reliability table). */
const counts: Record<string, unknown> = {};

beforeAll(async () => {
  stage = await startReliabilityStage();
  c = reliabilityClients(stage);
  ({ figures, withFaults, recordTotals } = faultPhases(stage));
});
afterAll(async () => {
  stage?.cloud.faults.set([]);
  console.info(`reliability load (seed ${SEED}): ${JSON.stringify({ figures, counts })}`);
  recordTotals(import.meta.url, { phases: false });
  await stage?.stop();
});

describe('load with faults on', () => {
  it(`boots ${SERVERS} servers at once: only 2xx or 503 with Retry-After, one live activation and one use each`, async () => {
    // Prepare
    const { token, id } = await createToken(stage, c.tokens, 'load', SERVERS);
    const hostnames = Array.from({ length: SERVERS }, (_, n) => `load-node-${String(n).padStart(2, '0')}`);

    // Act
    const storm = await withFaults(`activations: ${SERVERS} boots at once, every fault`, LOAD_FAULTS, () => bootStorm({ apiUrl: stage.apiUrl, token, hostnames, concurrency: SERVERS, secondMs: 10, maxAttempts: MAX_ATTEMPTS, seed: SEED }));

    // Assess
    const checks = activationChecks(storm, await liveActivations(c.ssm, 'load-node-'));
    const why = `seed ${SEED}: ${JSON.stringify({ byStatus: storm.byStatus, samples: storm.unexpectedSamples, checks })}`;
    expect(storm.unexpected, why).toBe(0);
    expect({ booted: storm.booted, gaveUp: storm.gaveUp }, why).toEqual({ booted: SERVERS, gaveUp: 0 });
    expect(checks, why).toEqual({ live: SERVERS, duplicates: 0, stale: 0 });
    expect((await c.tokens.get(id))?.uses, why).toBe(SERVERS);
    counts.boots = { servers: SERVERS, requests: storm.requests, byStatus: storm.byStatus, maxAttempts: storm.maxAttemptsUsed };
    recordFigure(import.meta.url, 'servers booting at once', SERVERS);
    recordFigure(import.meta.url, 'requests', storm.requests);
    recordFigure(import.meta.url, 'answers other than 2xx or 503 with Retry-After', storm.unexpected);
    recordFigure(import.meta.url, 'seed', String(SEED));
  }, BOOT_TIMEOUT_MS);

  it(`scans ${VOLUMES} stale volumes with every fault until nothing is left, filing each once`, async () => {
    // Prepare: the volumes, first seen by a clean scan, stale two days later (thresholdDays 1). The scanner's own
    // core and adapters (what the handler runs, as bench/stale-scan.ts does) on the stage's table, with the suite's
    // fast SDK retries: the handler's own back-off after a throttle is real seconds (faults.test.ts runs the handler).
    stage.cloud.seed({ regions: { 'us-east-1': { volumes: Array.from({ length: VOLUMES }, (_, n) => ({ size: 1 + (n % 50), type: 'gp3', tags: { Name: `load-${n}` } })) } } });
    const settings = clientConfig(stage.cloud);
    const clients = new AwsClients('us-east-1', settings);
    const clock = { now: () => stage.cloud.clock.now() };
    const accounts = new AccountClients(clients, { ownAccount: ACCOUNT, roles: [], settings, now: () => clock.now().getTime() });
    const deps: StaleVolumeDeps = { config: reliabilityConfig(), clock, ...staleVolumeAdapters(accounts, clients, stage.tableName, clock) };
    let runId = 0;
    const scan = () => scanFleet(deps, { ownAccount: ACCOUNT, runId: `load-${++runId}` }).then(
      ({ summary }) => ({ totals: summary.totals as Record<string, number>, errors: summary.regions.flatMap((r) => r.errors) }),
      (e: unknown) => ({ error: (e as Error).message }),
    );
    await scan();
    await stage.cloud.advance('P2D');

    // Act: scans under every fault until one leaves nothing for the next run (at most five), then a clean one.
    const runs: Awaited<ReturnType<typeof scan>>[] = [];
    await withFaults(`stale-volume-scan: ${VOLUMES} volumes, every fault`, LOAD_FAULTS, async () => {
      for (let run = 0; run < 5; run++) {
        const out = await scan();
        runs.push(out);
        if ('totals' in out && out.totals.leftForNextRun === 0 && out.errors.length === 0) break;
      }
    });
    const clean = await scan();

    // Assess: one OpsItem per volume, the clean run files nothing more.
    const perVolume = await opsItemsPerVolume(c.ssm);
    const why = `seed ${SEED}: ${JSON.stringify({ runs, clean })}`;
    const opsItems = [...perVolume.values()].reduce((a, b) => a + b, 0);
    counts.scan = { volumes: VOLUMES, runs: runs.length, opsItems };
    expect(perVolume.size, why).toBe(VOLUMES);
    expect([...perVolume.values()].filter((n) => n !== 1), why).toEqual([]);
    expect(clean, why).toMatchObject({ totals: { filed: 0, alreadyFiled: VOLUMES, leftForNextRun: 0 }, errors: [] });
    recordFigure(import.meta.url, 'stale volumes', VOLUMES);
    recordFigure(import.meta.url, 'scans under faults', runs.length);
    recordFigure(import.meta.url, 'OpsItems', opsItems);
  });
});
