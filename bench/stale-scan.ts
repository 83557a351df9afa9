/**
 * The stale-EBS scan at fleet size: 10,000 volumes in 4 regions, 10% of them unattached and stale, on localcloud
 * with 20 ms of latency injected into every AWS call. Runs the scanner's own core and AWS adapters (what the
 * handler runs, without Lambda around it) three times: a first sighting, then (46 days later) the scan that files
 * (measured), then a steady-state rerun (measured: it must not call CreateOpsItem).
 *
 * Reported against lower bounds: calls >= pages + new OpsItems + DynamoDB batch writes (target <= 1.05x); wall
 * time >= the slowest region's pages x latency (target <= 1.3x). The wall bound leaves out filing, which one
 * region cannot do faster than (new OpsItems / FILING_CONCURRENCY) x latency; that bound is printed beside it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AccountClients, AwsClients, ensureTable, staleVolumeAdapters } from '@opsauto/aws';
import { defineConfig, FILING_CONCURRENCY, scanFleet, type StaleVolumeDeps } from '@opsauto/core';
import { startLocalcloud } from '@opsauto/localcloud';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { generateVolumes } from '../packages/localcloud/src/services/ec2.js';
import { countInjected, LOAD_FAULTS, opsItemsPerVolume } from './load-faults.js';
import { writeResult } from './report.js';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const VOLUMES_PER_REGION = 2_500;
const STALE_SHARE = 0.1;
const LATENCY_MS = 20;
const PAGE = 500;
const BATCH = 25;
const ACCOUNT = '000000000000';

type Calls = Record<string, Record<string, number>>;
const total = (calls: Calls) => Object.values(calls).reduce((n, ops) => n + Object.values(ops).reduce((a, b) => a + b, 0), 0);

export async function run(): Promise<boolean> {
  const cloud = await startLocalcloud({ port: 0, tickMs: 0 });
  try {
    const settings = { endpoint: cloud.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, retryStrategy: new ConfiguredRetryStrategy(5, () => 20) };
    const table = 'opsauto-bench-state';
    await ensureTable(new DynamoDBClient({ ...settings, region: REGIONS[0] }), table);
    const started = Date.now();
    for (const region of REGIONS) generateVolumes(cloud.store, ACCOUNT, region, VOLUMES_PER_REGION, { inUseShare: 1 - STALE_SHARE, seed: REGIONS.indexOf(region) + 1 });
    cloud.store.changed();
    const generatedMs = Date.now() - started;

    const clock = { now: () => cloud.clock.now() };
    const config = defineConfig({ regions: REGIONS });
    const clients = new AwsClients(REGIONS[0], settings);
    const accounts = new AccountClients(clients, { ownAccount: ACCOUNT, roles: [], settings, now: () => clock.now().getTime() });
    const deps: StaleVolumeDeps = { config, clock, ...staleVolumeAdapters(accounts, clients, table, clock) };
    const scan = async (runId: string) => {
      cloud.calls.reset();
      const t0 = performance.now();
      const { summary } = await scanFleet(deps, { ownAccount: ACCOUNT, runId });
      return { summary, ms: performance.now() - t0, calls: cloud.calls.snapshot() };
    };

    await scan('first-sighting');
    await cloud.advance('P46D');
    cloud.faults.set([{ latencyMs: LATENCY_MS }]);
    const filing = await scan('filing');
    const steady = await scan('steady-state');
    cloud.faults.set([]);

    const unattached = filing.summary.regions.map((r) => r.scanned);
    const pages = unattached.reduce((n, u) => n + Math.max(1, Math.ceil(u / PAGE)), 0);
    const newItems = filing.summary.totals.filed;
    const batchWrites = filing.summary.regions.reduce((n, r) => n + Math.ceil(r.filed / BATCH), 0);
    const callsBound = pages + newItems + batchWrites;
    const slowestPages = Math.max(...unattached.map((u) => Math.max(1, Math.ceil(u / PAGE))));
    const wallBound = slowestPages * LATENCY_MS;
    const filingBound = Math.max(...filing.summary.regions.map((r) => (Math.max(1, Math.ceil(r.scanned / PAGE)) + Math.ceil(r.filed / FILING_CONCURRENCY)) * LATENCY_MS));
    const result = {
      fleet: { regions: REGIONS.length, volumes: REGIONS.length * VOLUMES_PER_REGION, unattached: unattached.reduce((a, b) => a + b, 0), generatedMs },
      latencyMs: LATENCY_MS,
      filing: {
        filed: newItems,
        calls: filing.calls,
        totalCalls: total(filing.calls),
        callsLowerBound: { pages, newOpsItems: newItems, dynamoBatchWrites: batchWrites, total: callsBound },
        callsRatio: Math.round((total(filing.calls) / callsBound) * 1000) / 1000,
        wallMs: Math.round(filing.ms),
        wallLowerBoundMs: wallBound,
        wallRatio: Math.round((filing.ms / wallBound) * 100) / 100,
        wallLowerBoundWithFilingMs: filingBound,
        wallRatioWithFiling: Math.round((filing.ms / filingBound) * 100) / 100,
      },
      steadyState: { calls: steady.calls, totalCalls: total(steady.calls), createOpsItem: steady.calls.ssm?.CreateOpsItem ?? 0, wallMs: Math.round(steady.ms) },
    };
    console.log(`fleet: ${result.fleet.volumes} volumes in ${result.fleet.regions} regions, ${result.fleet.unattached} unattached (generated in ${generatedMs} ms); ${LATENCY_MS} ms per call`);
    console.table({
      filing: { calls: result.filing.totalCalls, lowerBound: callsBound, ratio: result.filing.callsRatio, target: '<= 1.05' },
      wall: { calls: `${result.filing.wallMs} ms`, lowerBound: `${wallBound} ms`, ratio: result.filing.wallRatio, target: '<= 1.3' },
      wallWithFiling: { calls: `${result.filing.wallMs} ms`, lowerBound: `${filingBound} ms`, ratio: result.filing.wallRatioWithFiling, target: '(for reference)' },
      steadyState: { calls: result.steadyState.totalCalls, lowerBound: '-', ratio: '-', target: `CreateOpsItem = 0 (got ${result.steadyState.createOpsItem})` },
    });
    console.log('calls by operation (filing scan):', JSON.stringify(filing.calls));
    const met = { calls: result.filing.callsRatio <= 1.05, wall: result.filing.wallRatio <= 1.3, steadyState: result.steadyState.createOpsItem === 0 };
    console.log(`targets: calls ${met.calls ? 'met' : 'MISSED'}, wall ${met.wall ? 'met' : 'MISSED'}, steady state ${met.steadyState ? 'met' : 'MISSED'}`);
    writeResult('stale-scan', { ...result, met });
    return met.calls && met.wall && met.steadyState;
  } finally {
    await cloud.stop();
  }
}

/**
 * The same fleet scanned with faults on (issue 14, "Load"; `npm run bench stale-scan-faults`): every service
 * throttling 20% of calls, failing 5% with its 5xx and answering 50 ms late, from the filing scan on; scans are
 * repeated (at most 5) until one leaves nothing for the next run, then a clean one runs. Records calls, faults
 * injected, each run's totals and wall time, and the OpsItems per volume: every stale volume filed once (target:
 * one OpsItem per stale volume, none twice).
 */
export async function runFaults(): Promise<boolean> {
  const cloud = await startLocalcloud({ port: 0, tickMs: 0 });
  try {
    const settings = { endpoint: cloud.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, retryStrategy: new ConfiguredRetryStrategy(5, () => 20) };
    const table = 'opsauto-bench-state';
    await ensureTable(new DynamoDBClient({ ...settings, region: REGIONS[0] }), table);
    for (const region of REGIONS) generateVolumes(cloud.store, ACCOUNT, region, VOLUMES_PER_REGION, { inUseShare: 1 - STALE_SHARE, seed: REGIONS.indexOf(region) + 1 });
    cloud.store.changed();
    const clock = { now: () => cloud.clock.now() };
    const clients = new AwsClients(REGIONS[0], settings);
    const accounts = new AccountClients(clients, { ownAccount: ACCOUNT, roles: [], settings, now: () => clock.now().getTime() });
    const deps: StaleVolumeDeps = { config: defineConfig({ regions: REGIONS }), clock, ...staleVolumeAdapters(accounts, clients, table, clock) };
    let runId = 0;
    const scan = async () => {
      const t0 = performance.now();
      try {
        const { summary } = await scanFleet(deps, { ownAccount: ACCOUNT, runId: `faults-${++runId}` });
        return { totals: summary.totals, errors: summary.regions.flatMap((r) => r.errors).length, ms: Math.round(performance.now() - t0) };
      } catch (e) {
        return { totals: undefined, errors: 1, error: (e as Error).name, ms: Math.round(performance.now() - t0) };
      }
    };
    await scan();
    await cloud.advance('P46D');
    const injected = countInjected({ cloud });
    cloud.calls.reset();
    cloud.faults.set(LOAD_FAULTS);
    const runs: Awaited<ReturnType<typeof scan>>[] = [];
    try {
      for (let run = 0; run < 5; run++) {
        const out = await scan();
        runs.push(out);
        if (out.totals?.leftForNextRun === 0 && out.errors === 0) break;
      }
    } finally {
      cloud.faults.set([]);
    }
    const calls = cloud.calls.snapshot();
    const clean = await scan();
    const perVolume = await opsItemsPerVolume(new SSMClient({ ...settings, region: REGIONS[0] }));
    // OpsItems are regional: count every region's.
    for (const region of REGIONS.slice(1)) for (const [v, n] of await opsItemsPerVolume(new SSMClient({ ...settings, region }))) perVolume.set(v, (perVolume.get(v) ?? 0) + n);
    const stale = runs.reduce((n, r) => n + (r.totals?.filed ?? 0), 0);
    const result = {
      fleet: { regions: REGIONS.length, volumes: REGIONS.length * VOLUMES_PER_REGION, staleShare: STALE_SHARE },
      faults: LOAD_FAULTS,
      runs,
      clean,
      calls: total(calls),
      faultsInjected: injected(),
      filed: stale,
      opsItems: [...perVolume.values()].reduce((a, b) => a + b, 0),
      volumesWithOpsItem: perVolume.size,
      filedTwice: [...perVolume.values()].filter((n) => n > 1).length,
    };
    const met = { filedOnce: result.filedTwice === 0 && result.opsItems === result.volumesWithOpsItem, allFiled: clean.totals?.filed === 0 && clean.totals.leftForNextRun === 0 && result.volumesWithOpsItem === stale };
    console.log(
      `faults on: ${runs.length} scan(s) until nothing was left (${runs.map((r) => (r.totals ? `filed ${r.totals.filed}, left ${r.totals.leftForNextRun}, ${r.errors} errors, ${r.ms} ms` : `failed ${r.error}`)).join(' | ')}); ` +
        `${result.calls} calls, ${result.faultsInjected} faults injected; ${result.opsItems} OpsItems for ${result.volumesWithOpsItem} volumes, filed twice ${result.filedTwice}; clean rerun ${JSON.stringify(clean.totals ? { filed: clean.totals.filed, alreadyFiled: clean.totals.alreadyFiled } : clean)}`,
    );
    writeResult('stale-scan-faults', { ...result, met });
    return met.filedOnce && met.allFiled;
  } finally {
    await cloud.stop();
  }
}
