/**
 * The daily parameter-expiry sweep at size: 20,000 parameters in a region, 5% of them advanced with an Expiration
 * policy and expiry reminders (and 1% standard with the expiry tag), on localcloud with 20 ms of latency injected
 * into every AWS call. Runs the sweep's own core and AWS adapters (what the handler runs, without Lambda around it):
 * the catalog over SSM, digests and notices over SNS. The notice store is in memory (the sender's dedup), so
 * DynamoDB's calls are not part of it.
 *
 * Reported: DescribeParameters calls against the page lower bound (ceil(matching / 50) per query, target <= 1.05x);
 * ListTagsForResource calls against the parameters with deadlines (one each); wall time (against the sweep's own
 * sequence: pages one after the other, tags and notices 8 at a time, then digests, at 20 ms a call); peak live heap growth (after
 * a full GC as each page arrives, and at the end) during the sweep, for 20,000 parameters against 5,000 in the same process (memory flat in the number of parameters: the sweep
 * holds one page, never the list), and both against a 200-parameter baseline run in the same process.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { AwsClients, snsNoticePublisher, SsmParameterCatalog } from '@opsauto/aws';
import { defineConfig, sweepParameters, type Deadline, type SendNotice, type SweepSummary } from '@opsauto/core';
import { startLocalcloud, type Localcloud } from '@opsauto/localcloud';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { seedParameters, type SeedParameter } from '../packages/localcloud/src/services/ssm.js';
import { writeResult } from './report.js';

const LATENCY_MS = 20;
const PAGE = 50;
const POLICY_SHARE = 0.05;
const TAGGED_SHARE = 0.01;
const TEAMS = 10;
const ACCOUNT = '000000000000';
const DAY = 86_400_000;
/** One region per run, so that each sweep sees only its own parameters. */
const RUNS = [
  { label: 'baseline', region: 'us-east-1', parameters: 200 },
  { label: '5k', region: 'us-west-2', parameters: 5_000 },
  { label: '20k', region: 'eu-west-1', parameters: 20_000 },
] as const;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Calls = Record<string, Record<string, number>>;

/** Parameters of one run: every 20th advanced with policies expiring over the next 60 days, every 100th tagged. */
function seed(cloud: Localcloud, region: string, count: number, now: number): { policies: number; tagged: number } {
  const policyEvery = Math.round(1 / POLICY_SHARE);
  const tagEvery = Math.round(1 / TAGGED_SHARE);
  let policies = 0;
  let tagged = 0;
  const params = Array.from({ length: count }, (_, i): SeedParameter => {
    const team = `team-${Math.floor(i / 20) % TEAMS}`;
    const expires = new Date(now + (1 + (i % 60)) * DAY).toISOString();
    if (i % policyEvery === 0) {
      policies++;
      return {
        name: `/bench/app${i % 40}/secret-${i}`,
        value: 'v',
        type: 'SecureString',
        tier: 'Advanced',
        tags: { team },
        policies: [
          { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } },
          { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
          { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '1', Unit: 'Days' } },
        ],
      };
    }
    if (i % tagEvery === 1) {
      tagged++;
      return { name: `/bench/app${i % 40}/key-${i}`, value: 'v', tags: { team, 'opsauto:expires-at': expires.slice(0, 10) } };
    }
    return { name: `/bench/app${i % 40}/setting-${i}`, value: 'v', tags: { team } };
  });
  seedParameters(cloud.store, ACCOUNT, region, params);
  return { policies, tagged };
}

async function sweep(cloud: Localcloud, clients: AwsClients, region: string) {
  const topic = (await clients.get(SNSClient, region).send(new CreateTopicCommand({ Name: 'opsauto-bench-notifications' }))).TopicArn!;
  const publisher = snsNoticePublisher(clients);
  const keys = new Set<string>();
  // The notice sender's contract: claim once per parameter, kind and due time, then publish.
  const send: SendNotice = async (d: Deadline) => {
    const key = `${d.parameter}#${d.kind}#${d.dueAt}`;
    if (keys.has(key)) return 'duplicate';
    keys.add(key);
    await publisher.publish(topic, { subject: `${d.kind}: ${d.parameter}`, body: d.policy });
    return 'sent';
  };
  const config = defineConfig({ regions: [region] }).parameterExpiry;
  // Live heap (after a full GC) before the sweep and as each page arrives: what the sweep holds, not the garbage a
  // longer run leaves behind (heapUsed without a GC grows with the run's length, whatever is held).
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  let gcMs = 0;
  const catalog = new SsmParameterCatalog(clients, region);
  const pages = catalog.pages.bind(catalog);
  catalog.pages = async function* (filters) {
    for await (const page of pages(filters)) {
      const g = performance.now();
      gc();
      gcMs += performance.now() - g;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      yield page;
    }
  };
  cloud.calls.reset();
  cloud.faults.set([{ latencyMs: LATENCY_MS }]);
  const t0 = performance.now();
  let summary: SweepSummary;
  try {
    summary = await sweepParameters({
      catalog,
      send,
      publisher,
      store: { rememberParameter: () => Promise.resolve(), claimDigest: () => Promise.resolve(true), releaseDigest: () => Promise.resolve() },
      config,
      topics: { default: topic },
      clock: { now: () => cloud.clock.now() },
      route: () => topic,
    });
  } finally {
    cloud.faults.set([]);
  }
  // The GCs are part of the measured time; they are taken out of it below (wallMs is the sweep's own).
  const ms = performance.now() - t0 - gcMs;
  gc();
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { summary, ms, calls: cloud.calls.snapshot() as Calls, peakHeapGrowthMB: Math.round(((peak - heapBefore) / 1024 / 1024) * 10) / 10 };
}

export async function run(): Promise<boolean> {
  const cloud = await startLocalcloud({ port: 0, tickMs: 0 });
  try {
    const settings = { endpoint: cloud.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, retryStrategy: new ConfiguredRetryStrategy(5, () => 20) };
    const clients = new AwsClients(RUNS[0].region, settings);
    const now = cloud.clock.nowMs();
    const results: Record<string, unknown>[] = [];
    for (const r of RUNS) {
      const t = Date.now();
      const seeded = seed(cloud, r.region, r.parameters, now);
      const seededMs = Date.now() - t;
      const out = await sweep(cloud, clients, r.region);
      const describe = out.calls.ssm?.DescribeParameters ?? 0;
      const describeBound = Math.max(1, Math.ceil(seeded.policies / PAGE)) + Math.max(1, Math.ceil(seeded.tagged / PAGE));
      const listTags = out.calls.ssm?.ListTagsForResource ?? 0;
      results.push({
        run: r.label,
        parameters: r.parameters,
        withPolicies: seeded.policies,
        tagged: seeded.tagged,
        seededMs,
        summary: { ...out.summary, failures: undefined },
        describeParameters: describe,
        describeLowerBound: describeBound,
        describeRatio: Math.round((describe / describeBound) * 1000) / 1000,
        listTagsForResource: listTags,
        listTagsBound: out.summary.withDeadlines,
        snsPublish: out.calls.sns?.Publish ?? 0,
        wallMs: Math.round(out.ms),
        // Each page in turn, its tags and notices 8 at a time, then the digests: the sweep's own sequence at 20 ms a call.
        wallBoundMs: (describe + Math.ceil(listTags / 8) + Math.ceil(out.summary.sent / 8) + out.summary.digests) * LATENCY_MS,
        peakHeapGrowthMB: out.peakHeapGrowthMB,
      });
    }
    const [base, mid, big] = results as { wallMs: number; peakHeapGrowthMB: number; describeRatio: number; listTagsForResource: number; listTagsBound: number }[];
    const ratio = (a: number, b: number) => Math.round((a / Math.max(b, 0.1)) * 100) / 100;
    const memory = { '20k/5k': ratio(big.peakHeapGrowthMB, mid.peakHeapGrowthMB), '20k/baseline': ratio(big.peakHeapGrowthMB, base.peakHeapGrowthMB), '5k/baseline': ratio(mid.peakHeapGrowthMB, base.peakHeapGrowthMB) };
    const wall = { '20k/baseline': ratio(big.wallMs, base.wallMs), '20k/5k': ratio(big.wallMs, mid.wallMs) };
    console.log(`${LATENCY_MS} ms per call; ${POLICY_SHARE * 100}% advanced with policies, ${TAGGED_SHARE * 100}% tagged`);
    console.table(Object.fromEntries(results.map(({ run: label, summary: _summary, ...r }) => [label as string, r])));
    console.log('memory ratios (peak live heap growth):', JSON.stringify(memory), ' wall ratios:', JSON.stringify(wall));
    // Flat: 4 times the parameters may not grow the sweep's peak heap by more than a fifth (and a megabyte of noise).
    const met = {
      calls: results.every((r) => (r.describeRatio as number) <= 1.05),
      tagsOncePerParameter: results.every((r) => r.listTagsForResource === r.listTagsBound),
      memoryFlat: big.peakHeapGrowthMB <= mid.peakHeapGrowthMB * 1.2 + 1,
    };
    console.log(`targets: calls ${met.calls ? 'met' : 'MISSED'}, tags once per parameter ${met.tagsOncePerParameter ? 'met' : 'MISSED'}, memory flat ${met.memoryFlat ? 'met' : 'MISSED'}`);
    writeResult('param-sweep', { latencyMs: LATENCY_MS, runs: results, memoryRatios: memory, wallRatios: wall, met });
    return met.calls && met.tagsOncePerParameter && met.memoryFlat;
  } finally {
    await cloud.stop();
  }
}
