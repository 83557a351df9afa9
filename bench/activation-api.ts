/**
 * The activation API under a boot storm: 1,000 servers asking for an activation at once, on the local stage (the
 * activations-api function behind localcloud's HTTP API gateway, DynamoDB and SSM in localcloud), over loopback. Each
 * server sends `POST /activations` with the same enrollment token (made as `opsauto tokens create` makes it, stored
 * by DynamoTokenStore, 1,000 uses) and its own hostname and idempotency key.
 *
 * Baseline, in the same run and process: the same number of `GET /bench/ping` requests, with the same connections,
 * to a trivial function on the same gateway. Both are measured with autocannon, with a warm-up of each first.
 *
 * Each storm runs twice: with 100 connections (a fleet's boot scripts behind a few NATs, or API Gateway's burst) and
 * with 1,000 (every server's own connection, all at once).
 *
 * Reported per storm: requests/s, p50/p99 latency (both routes), the throughput ratio (target >= 0.5 x the ping's),
 * the activation p99 (target <= 50 ms), non-2xx by status, activations created (DescribeActivations, paginated),
 * duplicates (two activations for one hostname: must be 0), the token's uses (must equal the 2xx count); and where
 * the time goes: the handler's own duration (Lambda invocation records) against the latency the client saw, and the
 * AWS calls per request.
 */
import { paginateDescribeActivations, SSMClient } from '@aws-sdk/client-ssm';
import { AwsClients, DynamoTokenStore } from '@opsauto/aws';
import { defineConfig, enrollmentToken } from '@opsauto/core';
import { hybridNodeRoleName } from '@opsauto/functions';
import autocannon from 'autocannon';
import { startStage, type Stage } from '../packages/cli/src/stage.js';
import { activationChecks, bootStorm, countInjected, LOAD_FAULTS, liveActivations } from './load-faults.js';
import { writeResult } from './report.js';

const SERVERS = 1000;
const CONNECTIONS = [100, 1000];
const WARM_UP = 50;
/** Requests one after the other (1 connection): the latency of a request that waits for no other. */
const UNLOADED = 200;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 50;
const REGION = 'us-east-1';

type Calls = Record<string, Record<string, number>>;

interface Load {
  requests: number;
  ok: number;
  byStatus: Record<string, number>;
  errors: number;
  timeouts: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** The handler's own time (Lambda invocation records), without the gateway and HTTP around it. */
  handlerP50: number;
  handlerP99: number;
  calls: Calls;
}

const percentile = (values: number[], p: number) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Makes a token as `opsauto tokens create --name <name> --max-uses <uses>` does, stored by the real store. */
async function createToken(stage: Stage, store: DynamoTokenStore, name: string, uses: number): Promise<{ id: string; token: string }> {
  const { token, record } = enrollmentToken(
    { name, maxUses: uses, expiresIn: '1d' },
    { defaultRole: hybridNodeRoleName(stage.tableName), allowedRoles: [], maxUses: 10, expiresIn: '7d' },
    stage.cloud.clock.now(),
    'bench',
  );
  await store.create(record);
  return { id: record.id, token };
}

/**
 * `amount` requests over `connections` connections, measured by autocannon; the hostnames and keys of a POST storm
 * come from `hostname(i)`, one per request.
 */
async function load(stage: Stage, fn: string, request: { method: 'GET' | 'POST'; path: string; token?: string; hostname?: (i: number) => string }, amount: number, connections: number): Promise<Load> {
  stage.cloud.calls.reset();
  const invocationsBefore = stage.cloud.lambda.invocations.length;
  let n = 0;
  const byStatus: Record<string, number> = {};
  // autocannon ends a run with `amount` on its one-second ticker (start to finish is a whole second for a run that
  // took less): the run's time is taken from the first request to the last response instead.
  const t0 = performance.now();
  let lastResponse = t0;
  const result = await autocannon({
    url: stage.apiUrl,
    connections,
    amount,
    pipelining: 1,
    timeout: 30,
    headers: { 'content-type': 'application/json', 'user-agent': 'register-node.sh/bench', ...(request.token ? { authorization: `Bearer ${request.token}` } : {}) },
    requests: [
      {
        method: request.method,
        path: request.path,
        ...(request.hostname
          ? {
              setupRequest: (req) => {
                const hostname = request.hostname!(n++);
                return { ...req, body: JSON.stringify({ hostname, idempotencyKey: `machine-${hostname}` }) };
              },
            }
          : {}),
        onResponse: (status) => {
          byStatus[status] = (byStatus[status] ?? 0) + 1;
          lastResponse = performance.now();
        },
      },
    ],
  });
  const invocations = stage.cloud.lambda.invocations.slice(invocationsBefore).filter((i) => i.function === fn);
  const durations = invocations.map((i) => i.durationMs);
  const requests = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const seconds = (lastResponse - t0) / 1000;
  return {
    requests,
    ok: Object.entries(byStatus).reduce((a, [s, c]) => (s.startsWith('2') ? a + c : a), 0),
    byStatus,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: round(requests / seconds, 0),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    handlerP50: round(percentile(durations, 50)),
    handlerP99: round(percentile(durations, 99)),
    calls: stage.cloud.calls.snapshot() as Calls,
  };
}

function row(route: string, l: Load): Record<string, unknown> {
  const non2xx = Object.fromEntries(Object.entries(l.byStatus).filter(([status]) => !status.startsWith('2')));
  return { route, requests: l.requests, '2xx': l.ok, non2xx: JSON.stringify(non2xx), 'req/s': l.rps, p50: l.p50, p99: l.p99, max: l.max, 'handler p50': l.handlerP50, 'handler p99': l.handlerP99 };
}

/** The activations localcloud holds whose instance name starts with `prefix`, counted, and the hostnames held by more than one. */
async function activationsFor(ssm: SSMClient, prefix: string): Promise<{ created: number; duplicates: number }> {
  const perHost = new Map<string, number>();
  for await (const page of paginateDescribeActivations({ client: ssm, pageSize: 50 }, {})) {
    for (const a of page.ActivationList ?? []) {
      if (!a.DefaultInstanceName?.startsWith(prefix)) continue;
      perHost.set(a.DefaultInstanceName, (perHost.get(a.DefaultInstanceName) ?? 0) + 1);
    }
  }
  const counts = [...perHost.values()];
  return { created: counts.reduce((a, b) => a + b, 0), duplicates: counts.filter((c) => c > 1).length };
}

/** A local stage of the bench's region, with the token store and an SSM client of the bench's own. */
async function activationStage(): Promise<{ stage: Stage; store: DynamoTokenStore; ssm: SSMClient }> {
  const stage = await startStage({ config: defineConfig({ regions: [REGION] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  const settings = { endpoint: stage.cloud.url, region: REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  return { stage, store: new DynamoTokenStore(new AwsClients(REGION, settings), stage.tableName), ssm: new SSMClient(settings) };
}

export async function run(): Promise<boolean> {
  const { stage, store, ssm } = await activationStage();
  try {
    // The baseline: a function that does nothing, on the same gateway.
    stage.cloud.lambda.register({ name: 'bench-ping', handler: () => Promise.resolve({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' }) });
    stage.cloud.httpApi.addRoute({ method: 'GET', path: '/bench/ping', function: 'bench-ping' });
    const ping = { method: 'GET' as const, path: '/bench/ping' };

    // Warm-up (not measured): the first requests build the function's wiring, SDK clients and connections.
    const warm = await createToken(stage, store, 'bench-warm-up', WARM_UP);
    await load(stage, 'activations-api', { method: 'POST', path: '/activations', token: warm.token, hostname: (i) => `warm-${i}` }, WARM_UP, 10);
    await load(stage, 'bench-ping', ping, WARM_UP, 10);

    // Where the time goes, without queueing: one request at a time through each route, and one AWS call (the
    // token's GetItem, through the SDK to localcloud's DynamoDB) at a time, the unit an activation request makes ten of.
    const single = await createToken(stage, store, 'bench-unloaded', UNLOADED);
    const unloadedIssue = await load(stage, 'activations-api', { method: 'POST', path: '/activations', token: single.token, hostname: (i) => `single-${i}` }, UNLOADED, 1);
    const unloadedPing = await load(stage, 'bench-ping', ping, UNLOADED, 1);
    const getItemMs: number[] = [];
    for (let i = 0; i < UNLOADED; i++) {
      const t = performance.now();
      await store.get(single.id);
      getItemMs.push(performance.now() - t);
    }
    const awsCall = { p50: round(percentile(getItemMs, 50), 2), p99: round(percentile(getItemMs, 99), 2) };
    const unloaded = { activations: { ...unloadedIssue, calls: undefined }, ping: { ...unloadedPing, calls: undefined }, getItemMs: awsCall };

    const rows: Record<string, unknown>[] = [];
    for (const [label, l] of [['activations c=1', unloadedIssue], ['ping c=1', unloadedPing]] as const) rows.push(row(label, l));
    const storms: Record<string, unknown>[] = [];
    let met = true;
    for (const connections of CONNECTIONS) {
      const prefix = `boot-c${connections}-`;
      const { id, token } = await createToken(stage, store, `bench-c${connections}`, SERVERS);
      const issue = await load(stage, 'activations-api', { method: 'POST', path: '/activations', token, hostname: (i) => `${prefix}${String(i).padStart(4, '0')}` }, SERVERS, connections);
      const base = await load(stage, 'bench-ping', ping, SERVERS, connections);
      const { created, duplicates } = await activationsFor(ssm, prefix);
      const uses = (await store.get(id))?.uses ?? -1;
      const ratio = round(issue.rps / base.rps, 2);
      const checks = {
        throughputRatio: ratio >= TARGET_RATIO,
        p99: issue.p99 <= TARGET_P99_MS,
        allIssued: issue.ok === SERVERS && issue.requests === SERVERS,
        noDuplicates: duplicates === 0,
        usesEqualSuccesses: uses === issue.ok,
        activationsEqualSuccesses: created === issue.ok,
      };
      met = met && Object.values(checks).every(Boolean);
      const perRequest = (calls: Calls) => Object.fromEntries(Object.entries(calls).flatMap(([service, ops]) => Object.entries(ops).map(([op, c]) => [`${service}:${op}`, round(c / SERVERS, 2)])));
      for (const [label, l] of [['activations', issue], ['ping', base]] as const) rows.push(row(`${label} c=${connections}`, l));
      storms.push({
        connections,
        servers: SERVERS,
        activations: { ...issue, calls: undefined, awsCallsPerRequest: perRequest(issue.calls) },
        ping: { ...base, calls: undefined },
        throughputRatio: ratio,
        activationsCreated: created,
        duplicates,
        tokenUses: uses,
        checks,
      });
      console.log(
        `c=${connections}: ratio ${ratio} (target >= ${TARGET_RATIO}: ${checks.throughputRatio ? 'met' : 'MISSED'}), p99 ${issue.p99} ms (target <= ${TARGET_P99_MS}: ${checks.p99 ? 'met' : 'MISSED'}), ` +
          `activations ${created}, duplicates ${duplicates}, token uses ${uses} for ${issue.ok} 2xx${checks.usesEqualSuccesses && checks.activationsEqualSuccesses ? '' : ' (MISMATCH)'}`,
      );
      console.log(`  AWS calls per activation request: ${JSON.stringify(perRequest(issue.calls))}`);
    }
    console.table(Object.fromEntries(rows.map(({ route, ...r }) => [route as string, r])));
    console.log(`one at a time: an activation request ${unloadedIssue.p50} ms p50 / ${unloadedIssue.p99} ms p99 (handler ${unloadedIssue.handlerP50} ms), a ping ${unloadedPing.p50} ms, one DynamoDB GetItem ${awsCall.p50} ms p50`);
    writeResult('activation-api', { servers: SERVERS, warmUp: WARM_UP, targets: { throughputRatio: TARGET_RATIO, p99Ms: TARGET_P99_MS }, unloaded, storms, met });
    return met;
  } finally {
    await stage.stop();
  }
}

/** Servers and connections of the storm with faults on (`npm run bench activation-api-faults`). */
const FAULT_STORM = { servers: 1000, connections: 1000 };
/** Milliseconds a second of the boot script's waits (back-off, Retry-After) lasts in the storm: real time. */
const FAULT_SECOND_MS = 1000;
const FAULT_SEED = 1414;

/**
 * The boot storm with faults on (issue 14, "Load"): 1,000 servers at once (1,000 connections), every AWS service
 * throttling 20% of calls, failing 5% with its 5xx and answering 50 ms late. Each server retries as register-node.sh
 * does (429, 5xx and no answer; back-off 2 s doubled up to 60 s with seeded jitter; a numeric Retry-After honoured;
 * at most 8 attempts), in real time. Records requests, answers by status, the answers other than 2xx or
 * 503 with Retry-After (target 0), servers that gave up (0), duplicates (hostnames with two live activations: 0),
 * servers left with a withdrawn activation (0), the token's uses (= servers), CreateActivation and DeleteActivation
 * calls (an answer lost to a timeout is withdrawn and replaced) and the faults localcloud injected.
 */
export async function runFaults(): Promise<boolean> {
  const { stage, store, ssm } = await activationStage();
  try {
    // Warm-up without faults (not measured).
    const warm = await createToken(stage, store, 'bench-warm-up', WARM_UP);
    await load(stage, 'activations-api', { method: 'POST', path: '/activations', token: warm.token, hostname: (i) => `warm-${i}` }, WARM_UP, 10);

    const { id, token } = await createToken(stage, store, 'bench-faults', FAULT_STORM.servers);
    const hostnames = Array.from({ length: FAULT_STORM.servers }, (_, i) => `faults-${String(i).padStart(4, '0')}`);
    const injected = countInjected(stage);
    stage.cloud.calls.reset();
    stage.cloud.faults.set(LOAD_FAULTS);
    let storm;
    try {
      storm = await bootStorm({ apiUrl: stage.apiUrl, token, hostnames, concurrency: FAULT_STORM.connections, secondMs: FAULT_SECOND_MS, seed: FAULT_SEED });
    } finally {
      stage.cloud.faults.set([]);
    }
    const calls = stage.cloud.calls.snapshot() as Calls;
    const checks = activationChecks(storm, await liveActivations(ssm, 'faults-'));
    const uses = (await store.get(id))?.uses ?? -1;
    const failed = stage.cloud.lambda.invocations.filter((i) => i.function === 'activations-api' && !i.ok);
    const timeouts = failed.length;
    // What the failed invocations died of, by message (request IDs and times cut off), most frequent first.
    const kinds = new Map<string, number>();
    for (const i of failed) {
      const error = (i.error ?? '').replace(/[0-9a-f-]{36}/g, '…').slice(0, 120);
      kinds.set(error, (kinds.get(error) ?? 0) + 1);
    }
    const failureKinds = [...kinds].map(([error, count]) => ({ error, count })).sort((a, b) => b.count - a.count).slice(0, 5);
    const result = {
      servers: FAULT_STORM.servers,
      connections: FAULT_STORM.connections,
      faults: LOAD_FAULTS,
      secondMs: FAULT_SECOND_MS,
      seed: FAULT_SEED,
      requests: storm.requests,
      byStatus: storm.byStatus,
      unexpected: storm.unexpected,
      unexpectedSamples: storm.unexpectedSamples,
      retryWithoutHint: storm.retryWithoutHint,
      booted: storm.booted,
      gaveUp: storm.gaveUp,
      maxAttemptsUsed: storm.maxAttemptsUsed,
      wallMs: storm.wallMs,
      liveActivations: checks.live,
      duplicates: checks.duplicates,
      serversWithWithdrawnActivation: checks.stale,
      tokenUses: uses,
      createActivation: calls.ssm?.CreateActivation ?? 0,
      deleteActivation: calls.ssm?.DeleteActivation ?? 0,
      failedInvocations: timeouts,
      failureKinds,
      faultsInjected: injected(),
      awsCalls: Object.values(calls).reduce((n, ops) => n + Object.values(ops).reduce((a, b) => a + b, 0), 0),
    };
    const met = { unexpected: result.unexpected === 0, allBooted: result.booted === result.servers && result.gaveUp === 0, noDuplicates: result.duplicates === 0 && result.serversWithWithdrawnActivation === 0, uses: uses === result.servers && result.liveActivations === result.servers };
    console.log(
      `faults on, ${result.servers} servers at ${result.connections} connections: ${result.requests} requests ${JSON.stringify(result.byStatus)}, other than 2xx/503+Retry-After ${result.unexpected}` +
        `${result.unexpectedSamples.length ? ` (${result.unexpectedSamples.join('; ')})` : ''}; booted ${result.booted}, gave up ${result.gaveUp}, at most ${result.maxAttemptsUsed} attempts; ` +
        `live activations ${result.liveActivations}, duplicates ${result.duplicates}, withdrawn-held ${result.serversWithWithdrawnActivation}, token uses ${uses}; CreateActivation ${result.createActivation}, DeleteActivation ${result.deleteActivation}; ` +
        `failed invocations ${timeouts}${failureKinds.length ? ` (${failureKinds.map((k) => `${k.count} × ${k.error}`).join('; ')})` : ''}; ${result.faultsInjected} faults in ${result.awsCalls} AWS calls; wall ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    writeResult('activation-api-faults', { ...result, met });
    return Object.values(met).every(Boolean);
  } finally {
    await stage.stop();
  }
}

