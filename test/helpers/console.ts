/**
 * For the console's browser tests and its benchmark: serves packages/console/dist under /console/ (every
 * /console/* path that is not a file answers index.html, as the stage does) with a fake JSON API of the console
 * contract (docs/console-api.md) under /api, and launches Debian's chromium through playwright-core.
 *
 * The fake keeps state in memory so that the page's buttons have effects to check: approving a waiting execution
 * moves it to running; advancing the clock by a day or more runs a "daily scan" that finds one more stale volume.
 * `fail(path, status, body)` makes one API path answer an error, to check the page shows it in words.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { ExecutionDetail, Signal } from '../../packages/console/src/types.js';
import { CONSOLE_DIST } from '../../packages/cli/src/console-build.js';

/**
 * Builds the console when packages/console/dist is missing or older than its sources (packages/cli/src/console-build.ts).
 * The test run does it once before any file (test/global-setup-console.ts); the benchmark calls it.
 */
export { buildConsoleIfStale as buildConsole, CONSOLE_DIR } from '../../packages/cli/src/console-build.js';
export const DIST = CONSOLE_DIST;
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless chromium; fails with the command that installs it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the console's browser tests drive Debian's chromium (run: apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

type Json = Record<string, unknown>;

/** An execution as the fake API holds it: what `GET /api/executions/{id}` answers (the page's own type of it). */
type FakeExecution = ExecutionDetail;

const SIGNALS: readonly unknown[] = ['approve', 'deny', 'resume', 'cancel'] satisfies Signal[];
const isSignal = (value: unknown): value is Signal => SIGNALS.includes(value);

/** The fake API's state, seeded like a small fleet; tests read and change it. */
export function seedState(start = Date.parse('2026-12-03T09:00:00.000Z')) {
  const at = (offsetMs: number) => iso(start + offsetMs);
  const executions: FakeExecution[] = [
    {
      executionId: 'exec-approve-0001',
      runbook: 'opsauto-PatchWithApproval',
      status: 'Waiting',
      startedAt: at(-600_000),
      automation: 'nightly-patch',
      targets: ['i-0aaa1111bbbb2222c'],
      waitingFor: 'approval',
      actions: ['approve', 'deny', 'cancel'],
      steps: [
        { name: 'snapshot', action: 'aws:executeAwsApi', status: 'Success', startedAt: at(-600_000), endedAt: at(-590_000), attempts: 1, outputs: { SnapshotId: 'snap-0123' } },
        { name: 'approve', action: 'aws:approve', status: 'Waiting', startedAt: at(-590_000), attempts: 1 },
      ],
    },
    {
      executionId: 'exec-running-0002',
      runbook: 'AWS-RestartEC2Instance',
      status: 'InProgress',
      startedAt: at(-60_000),
      targets: ['i-0ddd3333eeee4444f'],
      actions: ['cancel'],
      steps: [{ name: 'stop', action: 'aws:changeInstanceState', status: 'InProgress', startedAt: at(-60_000), attempts: 2, error: 'Throttling: Rate exceeded (retrying)' }],
    },
    {
      executionId: 'exec-parent-0003',
      runbook: 'AWS-RestartEC2Instance',
      status: 'Failed',
      startedAt: at(-7_200_000),
      endedAt: at(-6_600_000),
      automation: 'office-hours-stop',
      targets: ['i-01', 'i-02', 'i-03', 'i-04', 'i-05', 'i-06', 'i-07', 'i-08', 'i-09', 'i-10'],
      actions: [],
      children: { total: 10, success: 6, failed: 3, running: 0, pending: 1, maxConcurrency: '2', maxErrors: '2', errorsLeft: -1 },
      failureMessage: '3 of 9 targets failed (MaxErrors 2)',
      steps: [],
      childExecutions: ['Success', 'Failed', 'Success'].map((status, i) => ({
        executionId: `exec-child-000${i + 1}`,
        runbook: 'AWS-RestartEC2Instance',
        status,
        startedAt: at(-7_200_000 + i * 60_000),
        endedAt: at(-7_200_000 + i * 60_000 + 30_000),
        targets: [`i-0${i + 1}`],
        parentExecutionId: 'exec-parent-0003',
        actions: [],
      })),
    },
    {
      executionId: 'exec-done-0004',
      runbook: 'opsauto-DeleteStaleVolume',
      status: 'Success',
      startedAt: at(-DAY),
      endedAt: at(-DAY + 45_000),
      automation: 'stale-volume-remediation',
      targets: ['vol-0old0000000000001'],
      actions: [],
      steps: [{ name: 'delete', action: 'aws:executeAwsApi', status: 'Success', startedAt: at(-DAY), endedAt: at(-DAY + 45_000), attempts: 1, outputs: { Deleted: true } }],
    },
  ];
  const volume = (n: number, days: number, cost: number, opsItemId?: string) => ({
    volumeId: `vol-0stale00000000000${n}`,
    accountId: '111122223333',
    region: n % 2 ? 'us-east-1' : 'eu-west-1',
    sizeGiB: cost * 10,
    volumeType: 'gp3',
    state: 'available',
    daysUnattached: days,
    monthlyCostUsd: cost,
    ...(opsItemId ? { opsItemId } : {}),
  });
  return {
    now: start,
    local: true,
    executions,
    signals: [] as { executionId: string; signal: string }[],
    requests: [] as string[],
    volumes: [volume(1, 12, 8, 'oi-0000000001'), volume(2, 40, 25.6, 'oi-0000000002')],
    history: [
      { date: iso(start - 2 * DAY).slice(0, 10), monthlyWasteUsd: 40, remediatedMonthlySavingsUsd: 0, volumes: 3 },
      { date: iso(start - DAY).slice(0, 10), monthlyWasteUsd: 33.6, remediatedMonthlySavingsUsd: 6.4, volumes: 2 },
    ],
    saved: 6.4,
    faultRules: [{ service: 'ec2', action: 'DescribeVolumes', error: 'RequestLimitExceeded', probability: 0.2 }] as Json[],
    failures: new Map<string, { status: number; body: Json }>(),
    scans: 0,
  };
}

export type FakeState = ReturnType<typeof seedState>;

function summary(e: FakeExecution): Json {
  const rest: Json = { ...e };
  delete rest.steps;
  delete rest.failureMessage;
  delete rest.childExecutions;
  return rest;
}

/** The fake console API: the contract's routes over `state`. */
function api(state: FakeState, method: string, url: URL, body: unknown): { status: number; body?: Json } {
  const path = url.pathname.slice('/api'.length);
  const failure = state.failures.get(path);
  if (failure) return failure;
  const bad = (message: string) => ({ status: 400, body: { error: 'ValidationException', message } });
  const notFound = (message: string) => ({ status: 404, body: { error: 'NotFound', message } });
  const now = iso(state.now);
  if (method === 'GET' && path === '/now') {
    return {
      status: 200,
      body: {
        stage: 'local',
        now,
        local: state.local,
        running: state.executions.filter((e) => e.status === 'InProgress' || e.status === 'Pending').map(summary),
        waiting: state.executions.filter((e) => e.status === 'Waiting').map(summary),
        // In AWS the API does not read the FailedInvocations queue: no count, a note.
        failures: state.local
          ? { count: 1, items: [{ function: 'stale-scan', error: 'RequestLimitExceeded: Request limit exceeded.', at: iso(state.now - 3_600_000) }] }
          : { count: null, items: [], note: 'Failed invocations wait in the SQS queue opsauto-prod-failed-invocations; the console does not read it.' },
        automations: [
          { name: 'office-hours-stop', kind: 'office-hours', timezone: 'Europe/Berlin', nextRun: iso(state.now + 8 * 3_600_000), nextRunLocal: '2026-12-03 18:00 CET' },
          { name: 'nightly-patch', kind: 'schedule', timezone: 'America/New_York', nextRun: iso(state.now + 12 * 3_600_000), nextRunLocal: '2026-12-03 16:00 EST' },
          { name: 'one-off-migration', kind: 'schedule', timezone: 'UTC', nextRun: null, nextRunLocal: null },
        ],
      },
    };
  }
  if (method === 'GET' && path === '/executions') {
    const limit = Number(url.searchParams.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return bad('limit must be a whole number from 1 to 100');
    const f = (k: string) => url.searchParams.get(k) ?? '';
    const items = state.executions.filter(
      (e) => (!f('status') || e.status === f('status')) && (!f('runbook') || e.runbook === f('runbook')) && (!f('automation') || e.automation === f('automation')) && (!f('target') || e.targets.includes(f('target'))),
    );
    return { status: 200, body: { items: items.map(summary) } };
  }
  const one = /^\/executions\/([^/]+)(\/signal)?$/.exec(path);
  if (one) {
    const id = decodeURIComponent(one[1]);
    const e = state.executions.find((x) => x.executionId === id);
    if (!e) return notFound(`No execution ${id}`);
    if (method === 'GET' && !one[2]) return { status: 200, body: { execution: { ...e } } };
    if (method === 'POST' && one[2]) {
      const signal = (body as { signal?: unknown } | undefined)?.signal;
      if (!isSignal(signal)) return bad('signal must be one of approve, deny, resume, cancel');
      if (!e.actions.includes(signal)) return { status: 409, body: { error: 'InvalidAutomationSignalException', message: `Execution ${id} is ${e.status} and cannot take the signal ${signal} now` } };
      state.signals.push({ executionId: id, signal });
      if (signal === 'approve') Object.assign(e, { status: 'InProgress', waitingFor: undefined, actions: ['cancel'] });
      else Object.assign(e, { status: signal === 'deny' ? 'Failed' : 'Cancelled', waitingFor: undefined, actions: [], endedAt: now });
      return { status: 202, body: { executionId: id, signal } };
    }
  }
  if (method === 'GET' && path === '/findings') {
    const waste = Math.round(state.volumes.reduce((s, v) => s + v.monthlyCostUsd, 0) * 100) / 100;
    return { status: 200, body: { volumes: state.volumes, totals: { monthlyWasteUsd: waste, remediatedMonthlySavingsUsd: state.saved, volumes: state.volumes.length }, history: state.history } };
  }
  if (method === 'GET' && path === '/images') {
    return {
      status: 200,
      body: {
        families: [
          {
            family: 'golden-al2023',
            regions: [
              {
                region: 'us-east-1',
                parameter: '/opsauto/ami/golden-al2023/us-east-1',
                current: { imageId: 'ami-0current000000001', publishedAt: iso(state.now - 2 * DAY) },
                history: [
                  { imageId: 'ami-0current000000001', publishedAt: iso(state.now - 2 * DAY) },
                  { imageId: 'ami-0broken0000000002', publishedAt: iso(state.now - 3 * DAY), rolledBack: true },
                  { imageId: 'ami-0older00000000003', publishedAt: iso(state.now - 10 * DAY) },
                ],
                warnings: [],
              },
              { region: 'eu-west-1', parameter: '/opsauto/ami/golden-al2023/eu-west-1', history: [], warnings: ['No image published in eu-west-1 yet'] },
            ],
          },
        ],
      },
    };
  }
  if (method === 'GET' && path === '/parameters') {
    const days = Number(url.searchParams.get('days') ?? 30);
    if (!Number.isInteger(days) || days < 1 || days > 366) return bad('days must be a whole number from 1 to 366');
    return {
      status: 200,
      body: {
        from: now,
        to: iso(state.now + days * DAY),
        deadlines: [
          { name: '/prod/db/password', kind: 'expiry', at: iso(state.now + 5 * DAY) },
          { name: '/prod/db/password', kind: 'reminder', at: iso(state.now + 2 * DAY) },
          { name: '/prod/api/key', kind: 'no-change', at: iso(state.now + 20 * DAY) },
        ],
        notifications: [{ name: '/prod/api/key', kind: 'reminder', sentAt: iso(state.now - DAY), escalated: true }],
      },
    };
  }
  if (method === 'GET' && path === '/activations') {
    return {
      status: 200,
      body: {
        tokens: [{ id: 'tok-0001', name: 'rack-12', maxUses: 20, uses: 3, expiresAt: iso(state.now + 7 * DAY), namePrefix: 'rack12-' }],
        issuances: [
          { activationId: 'act-0001', tokenId: 'tok-0001', hostname: 'rack12-node1', issuedAt: iso(state.now - DAY), expiresAt: iso(state.now + DAY), managedNodeId: 'mi-0123456789abcdef0', registeredAt: iso(state.now - DAY + 60_000) },
          { activationId: 'act-0002', tokenId: 'tok-0001', hostname: 'rack12-node2', issuedAt: iso(state.now - 3_600_000), expiresAt: iso(state.now + DAY) },
        ],
        nodesRegistered: 1,
        failedBoots: [{ at: iso(state.now - 7_200_000), sourceIp: '10.0.12.9', reason: 'token expired' }],
      },
    };
  }
  if (path === '/local/clock' || path === '/local/faults') {
    if (!state.local) return notFound('The local routes exist only on the local stage');
    if (path === '/local/clock' && method === 'GET') return { status: 200, body: { now, offsetMs: 0 } };
    if (path === '/local/clock' && method === 'POST') {
      const advance = (body as { advance?: unknown } | undefined)?.advance;
      const m = typeof advance === 'string' ? /^(\d+)([hd])$/.exec(advance) : null;
      if (!m) return bad('advance must be a duration such as 6h, 1d or an ISO-8601 duration');
      const ms = Number(m[1]) * (m[2] === 'h' ? 3_600_000 : DAY);
      const days = Math.floor((state.now + ms) / DAY) - Math.floor(state.now / DAY);
      state.now += ms;
      for (let i = 0; i < days; i++) {
        state.scans++;
        state.volumes.push({ volumeId: `vol-0newscan0000000${state.scans}`, accountId: '111122223333', region: 'us-east-1', sizeGiB: 50, volumeType: 'gp2', state: 'available', daysUnattached: 8, monthlyCostUsd: 5 });
      }
      return { status: 200, body: { now: iso(state.now), ran: days ? { 'stale-scan': days } : {} } };
    }
    if (path === '/local/faults' && method === 'GET') return { status: 200, body: { rules: state.faultRules } };
    if (path === '/local/faults' && method === 'DELETE') {
      state.faultRules = [];
      return { status: 200, body: { rules: [] } };
    }
  }
  return notFound(`No route ${method} /api${path}`);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface ConsoleServer {
  url: string;
  state: FakeState;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves DIST at /console/ and the fake API at /api on 127.0.0.1 (a random port), plus `/static.html`, a one-file
 * page that the benchmark loads as its baseline.
 */
export async function startConsoleServer(state: FakeState = seedState()): Promise<ConsoleServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      if (url.pathname.startsWith('/api/')) {
        state.requests.push(`${method} ${url.pathname}${url.search}`);
        const text = await readBody(req);
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return send(res, 400, 'application/json', JSON.stringify({ error: 'ValidationException', message: 'The body is not JSON' }));
        }
        const answer = api(state, method, url, body);
        return send(res, answer.status, 'application/json', JSON.stringify(answer.body ?? {}));
      }
      if (url.pathname === '/static.html') return send(res, 200, TYPES['.html'], '<!doctype html><html><head><title>static</title></head><body><p id="x">static page</p></body></html>');
     
      if (!url.pathname.startsWith('/console/')) return send(res, 404, 'text/plain', 'not found');
      const rel = normalize(decodeURIComponent(url.pathname.slice('/console/'.length)));
      if (rel.startsWith('..')) return send(res, 400, 'text/plain', 'bad path');
      const file = join(DIST, rel);
      if (rel && rel !== '.' && existsSync(file) && statSync(file).isFile()) return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
      return send(res, 200, TYPES['.html'], readFileSync(join(DIST, 'index.html')));
    })().catch((error: unknown) => send(res, 500, 'text/plain', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // The browser keeps its connections alive: closing waits for them otherwise.
        server.closeAllConnections();
      }),
  };
}
