import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { fileURLToPath } from 'node:url';
import { AwsClients, DynamoTokenStore } from '@opsauto/aws';
import { ConflictError, ForbiddenError, newToken, NotFoundError, ValidationError } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBusName } from '../../packages/functions/src/manifest.js';
import { recordFigure } from '../helpers/figures.js';
import { fixture } from '../helpers/fixtures.js';
import { captureLines, deep, describeCase, HUGE, hostileKey, hostileString, logProblem, materialize, mutate, mutation, prototypePolluted, toJson } from '../helpers/hostile.js';
import { fakeContext } from '../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { functionEnvironment } from '../helpers/table.js';

/**
 * Hostile input for every function of the manifest, in process against one localcloud: each case is a valid event
 * with one field replaced by, or extended with, a hostile value (wrong type, 1 MB string, 10,000-deep nesting,
 * unicode, `__proto__` keys, injection strings), or a field removed. Each must end in a clear error naming the field
 * (InvalidEventError, or a domain error) or be handled; a refusal changes nothing; no log line is longer than 4 KB,
 * holds a raw control character or the 1 MB string; a hostile string is never stored. Seeded: HOSTILE_SEED replays.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 1414);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 100);

type Handler = (event: unknown, context: unknown) => Promise<any>;
type HttpResponse = { statusCode: number; headers?: Record<string, string>; body?: string };

let cloud: Localcloud;
let table: string;
let dynamo: DynamoDBClient;
let bearer: string;
/** Cases run and refused, over every function and route (the README's reliability table). */
const totals = { events: 0, http: 0, refused: 0 };

/** Errors that are answers (they name what is wrong), not crashes. */
const isClearError = (e: unknown) => e instanceof ValidationError || e instanceof NotFoundError || e instanceof ForbiddenError || e instanceof ConflictError || (e as Error)?.name === 'InvalidEventError';

/** Operations that change state, by their name. */
const MUTATING = /^(Put|Create|Update|Delete|Add|Remove|Label|Unlabel|Publish|Send|Start|Stop|Terminate|Deregister|Register|BatchWrite|TransactWrite|Tag|Untag|Modify|Cancel|Resume)/;

function mutatingCalls(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [service, ops] of Object.entries(after)) {
    for (const [op, n] of Object.entries(ops)) if (MUTATING.test(op) && n > (before[service]?.[op] ?? 0)) out.push(`${service}:${op}`);
  }
  return out;
}

/** Every item of the table, as DynamoDB JSON text, sorted. */
async function tableItems(): Promise<string[]> {
  const items: string[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) items.push(JSON.stringify(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort();
}

/**
 * What must never be stored: the 1 MB string (a field is bounded before anything is written). Short hostile strings
 * may be, as data (an idempotency key of `'; DROP` is only a key).
 */
const NEVER_STORED = [HUGE.slice(0, 300)];

interface Outcome {
  /** 'ok' (handled), 'refused' (a clear error or a 4xx), or a crash described. */
  kind: 'ok' | 'refused' | 'crash';
  detail: string;
  /** Refusals that may leave a record by design (the activation API counts bad tokens per source). */
  allowed?: (item: string) => boolean;
}

/**
 * Runs one case and checks everything but the outcome's kind: the log, the prototype, and the state (nothing changed
 * after a refusal; no hostile string stored either way). Returns a problem, or undefined.
 */
async function check(name: string, input: unknown, where: string, run: () => Promise<Outcome>): Promise<string | undefined> {
  const items = await tableItems();
  const calls = cloud.calls.snapshot();
  const { result, lines } = await captureLines(run);
  const at = `seed ${SEED}, ${name}, mutated at ${where}: ${describeCase(input)}`;
  if (prototypePolluted()) return `Object.prototype polluted (${at})`;
  if (result.status === 'rejected') return `crash ${(result.reason as Error)?.name}: ${String((result.reason as Error)?.message).slice(0, 300)} (${at})`;
  const outcome = result.value;
  if (outcome.kind === 'crash') return `${outcome.detail} (${at})`;
  const log = logProblem(lines);
  if (log) return `${log} (${at})`;
  const after = await tableItems();
  const added = after.filter((i) => !items.includes(i));
  const stored = added.find((i) => i.length > 400_000 || NEVER_STORED.some((s) => i.includes(s)));
  if (stored) return `a hostile value was stored: ${stored.slice(0, 300)} (${at})`;
  if (outcome.kind === 'refused') {
    const changed = [...added, ...items.filter((i) => !after.includes(i))].filter((i) => !outcome.allowed?.(i));
    if (changed.length) return `refused (${outcome.detail}) but the table changed: ${changed[0].slice(0, 300)} (${at})`;
    const mutated = mutatingCalls(calls, cloud.calls.snapshot()).filter((c) => !(outcome.allowed && c.startsWith('dynamodb:')));
    if (mutated.length) return `refused (${outcome.detail}) but made mutating calls ${mutated.join(', ')} (${at})`;
  }
  return undefined;
}

/** Invokes an event handler and classifies what it did. */
async function invokeEvent(handler: Handler, fn: string, event: unknown): Promise<Outcome> {
  try {
    await handler(event, fakeContext(fn));
    return { kind: 'ok', detail: 'handled' };
  } catch (e) {
    const err = e as Error;
    if (!isClearError(err)) return { kind: 'crash', detail: `${err?.name}: ${String(err?.message).slice(0, 300)}` };
    if (err.message.length > 2000) return { kind: 'crash', detail: `an error message of ${err.message.length} characters` };
    if (err.name === 'InvalidEventError' && !/^invalid event: [^\s:]+: /.test(err.message)) return { kind: 'crash', detail: `an InvalidEventError that names no field: ${err.message.slice(0, 200)}` };
    return { kind: 'refused', detail: `${err.name}: ${err.message.slice(0, 200)}` };
  }
}

/** Checks an HTTP answer: 2xx handled, 4xx refused with a JSON `{error, message}` (400s name the field), 5xx a crash. */
function classify(response: HttpResponse, allowed?: (item: string) => boolean): Outcome {
  if (response.statusCode >= 500) return { kind: 'crash', detail: `answered ${response.statusCode} ${response.body?.slice(0, 200)}` };
  if (response.statusCode < 400) return { kind: 'ok', detail: String(response.statusCode) };
  let body: { error?: unknown; message?: unknown; field?: unknown };
  try {
    body = JSON.parse(response.body ?? '') as typeof body;
  } catch {
    return { kind: 'crash', detail: `answered ${response.statusCode} without a JSON body` };
  }
  if (typeof body.error !== 'string' || typeof body.message !== 'string') return { kind: 'crash', detail: `answered ${response.statusCode} without {error, message}` };
  if (response.statusCode === 400 && typeof body.field !== 'string') return { kind: 'crash', detail: `answered 400 naming no field: ${response.body?.slice(0, 200)}` };
  if ((response.body ?? '').length > 4096) return { kind: 'crash', detail: `a ${response.body!.length}-character error body` };
  return { kind: 'refused', detail: `${response.statusCode} ${body.error}`, allowed };
}

/** Checks one case (see check) and counts it as refused or handled; throws the problem when there is one. */
async function tally(counts: { refused: number; ok: number }, name: string, input: unknown, where: string, run: () => Promise<Outcome>): Promise<void> {
  let kind = 'crash' as Outcome['kind'];
  const problem = await check(name, input, where, async () => {
    const outcome = await run();
    kind = outcome.kind;
    return outcome;
  });
  if (problem) throw new Error(problem);
  if (kind === 'refused') counts.refused++;
  else counts.ok++;
}

/** Runs RUNS cases of mutations of `bases` through `run`; fails with the first problem (its seed printed). */
async function property(name: string, bases: unknown[], run: (event: unknown) => Promise<Outcome>): Promise<{ refused: number; ok: number }> {
  const counts = { refused: 0, ok: 0 };
  await fc.assert(
    fc.asyncProperty(fc.nat(bases.length - 1), mutation, async (b, m) => {
      const { event, where } = mutate(bases[b], m);
      await tally(counts, name, event, where, () => run(event));
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  return counts;
}

const scheduled = () => fixture('events/awsdocs-eventbridge__scheduled-event.json');
const withDetail = (detail: unknown) => ({ ...scheduled(), detail });
const busEvent = (detailType: string, detail: unknown, source = 'opsauto.runbooks') => ({ ...scheduled(), source, 'detail-type': detailType, detail });

/** The handlers, imported once the environment is set (their modules read it when first imported). */
const HANDLERS: Record<string, () => Promise<unknown>> = {
  'ami-publisher': () => import('../../packages/functions/src/handlers/ami-publisher.js'),
  'stale-volume-scan': () => import('../../packages/functions/src/handlers/stale-volume-scan.js'),
  'param-expiry-sweep': () => import('../../packages/functions/src/handlers/param-expiry-sweep.js'),
  'param-policy-apply': () => import('../../packages/functions/src/handlers/param-policy-apply.js'),
  'activation-sweep': () => import('../../packages/functions/src/handlers/activation-sweep.js'),
  'runbook-worker': () => import('../../packages/functions/src/handlers/runbook-worker.js'),
  'automation-trigger': () => import('../../packages/functions/src/handlers/automation-trigger.js'),
  'param-policy-events': () => import('../../packages/functions/src/handlers/param-policy-events.js'),
  'activations-api': () => import('../../packages/functions/src/handlers/activations-api.js'),
  'runbook-api': () => import('../../packages/functions/src/handlers/runbook-api.js'),
  status: () => import('../../packages/functions/src/handlers/status.js'),
  'console-api': () => import('../../packages/functions/src/handlers/console-api.js'),
};
const importHandler = async (file: string): Promise<Handler> => ((await HANDLERS[file]()) as { handler: Handler }).handler;

beforeAll(async () => {
  cloud = await startTestCloud();
  table = await functionEnvironment(cloud, 'DEBUG');
  dynamo = new DynamoDBClient(clientConfig(cloud));
  const sns = new SNSClient(clientConfig(cloud));
  const topic = async (name: string) => (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn!;
  await new EventBridgeClient(clientConfig(cloud)).send(new CreateEventBusCommand({ Name: eventBusName(table) }));
  Object.assign(process.env, {
    OPSAUTO_CONFIG: JSON.stringify({ regions: ['us-east-1'], runbooks: { allowedRunbooks: ['opsauto-DeleteVolume'] } }),
    NOTIFICATION_TOPIC_ARN: await topic('hostile-notifications'),
    ESCALATION_TOPIC_ARN: await topic('hostile-escalations'),
    EVENT_BUS_NAME: eventBusName(table),
    WAKE_UP_ROLE_ARN: 'arn:aws:iam::000000000000:role/hostile-wake-up',
    WAKE_UP_PREFIX: 'hostile-wake-',
    RUNBOOKS_DIR: fileURLToPath(new URL('../../runbooks', import.meta.url)),
    AWS_LAMBDA_FUNCTION_NAME: 'hostile',
  });
  // State the functions could damage: a SecureString with a policy, an enrollment token.
  await new SSMClient(clientConfig(cloud)).send(new PutParameterCommand({ Name: '/app/db/password', Value: 'pa55-hostile-value', Type: 'SecureString' }));
  const { token, id, secretHash } = newToken();
  const now = new Date(cloud.clock.nowMs());
  await new DynamoTokenStore(new AwsClients('us-east-1', clientConfig(cloud)), table).create({
    id,
    name: 'hostile',
    secretHash,
    iamRole: 'opsauto-test-hybrid-node',
    namePrefix: 'hostile',
    tags: {},
    maxUses: 100_000,
    uses: 0,
    createdAt: now.toISOString(),
    createdBy: 'test',
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
  });
  bearer = `Bearer ${token}`;
}, 60_000);

afterAll(async () => {
  recordFigure(import.meta.url, 'event cases', totals.events);
  recordFigure(import.meta.url, 'HTTP cases', totals.http);
  recordFigure(import.meta.url, 'refused', totals.refused);
  recordFigure(import.meta.url, 'fast-check seed', String(SEED));
  await cloud?.stop();
});

describe(`hostile events for every function (fast-check seed ${SEED}, ${RUNS} cases each)`, () => {
  const eventCases: { fn: string; file: string; bases: () => unknown[] }[] = [
    {
      fn: 'ami-publisher',
      file: 'ami-publisher',
      bases: () => [
        fixture('events/awsdocs-ec2__ami-state-change_available.json'),
        fixture('events/awsdocs-ec2__ami-state-change_deregistered.json'),
        fixture('events/opsauto__image-builder-image-state-change_available.json'),
        busEvent('Runbook Image Created', { ImageId: 'ami-0123456789abcdef0', Region: 'us-east-1', ExecutionId: 'e-1' }),
      ],
    },
    { fn: 'stale-volume-scan', file: 'stale-volume-scan', bases: () => [{ dryRun: true }, scheduled()] },
    { fn: 'param-expiry-sweep', file: 'param-expiry-sweep', bases: () => [{}, scheduled()] },
    { fn: 'param-policy-apply', file: 'param-policy-apply', bases: () => [{ parameter: '/app/db/password', expiresIn: '30d', notifyBefore: ['7d'] }, { parameter: '/app/db/password', clear: true }] },
    { fn: 'activation-sweep', file: 'activation-sweep', bases: () => [{}, scheduled()] },
    {
      fn: 'runbook-worker',
      file: 'runbook-worker',
      bases: () => [
        busEvent('Runbook Execution Requested', { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'vol-0123456789abcdef0' }, idempotencyKey: 'hostile-1' }),
        busEvent('Runbook Execution Dispatched', { executionIds: ['00000000-0000-4000-8000-000000000000'] }),
        { executionId: '00000000-0000-4000-8000-000000000000', wakeAt: '2026-01-01T00:00:00Z' },
        withDetail({ trigger: 'runbook-tick' }),
      ],
    },
    {
      fn: 'automation-trigger',
      file: 'automation-trigger',
      bases: () => [
        withDetail({ trigger: 'nightly' }),
        { automation: 'nightly', requestId: 'r-1', by: 'operator', dryRun: true },
        fixture('events/awsdocs-ssm-2024__opsitem-update.json'),
        busEvent('EC2 Automation Step Status-change Notification', { ExecutionId: '00000000-0000-4000-8000-000000000000', Status: 'Success' }),
      ],
    },
    { fn: 'param-policy-events', file: 'param-policy-events', bases: () => [fixture('events/community-copy__parameter-store-policy-action_NoChangeNotification.json')] },
  ];

  for (const { fn, file, bases } of eventCases) {
    it(`${fn}: every hostile event is refused naming the field or handled, with nothing written by a refusal and nothing hostile logged or stored`, async () => {
      const handler = await importHandler(file);
      const counts = await property(fn, bases(), (event) => invokeEvent(handler, fn, event));
      totals.events += counts.refused + counts.ok;
      totals.refused += counts.refused;
      // Most cases are refusals: the property would be vacuous if every mutation slipped through.
      expect(counts.refused, `seed ${SEED}`).toBeGreaterThan(RUNS / 4);
    }, 120_000);
  }
});

/** An API Gateway HTTP API (payload 2.0) request, from Powertools' sample. */
function httpEvent(method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string> = {}, query?: Record<string, string>) {
  const base = fixture('apigw/powertools-ts__apigw-http_no-auth.json');
  return {
    ...base,
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    ...(query ? { queryStringParameters: query } : {}),
    headers: { ...base.headers, authorization: bearer, ...headers },
    requestContext: { ...base.requestContext, routeKey: `${method} ${path}`, http: { ...base.requestContext.http, method, path } },
    ...(body === undefined ? { body: undefined } : { body: typeof body === 'string' ? body : toJson(body) }),
  };
}

/**
 * The HTTP request of a case: the valid body mutated (then serialised), a raw body, or a hostile header (name and
 * value strings, as API Gateway passes them; the user agent too).
 */
const httpCase = (bases: HttpBase[]) =>
  fc.oneof(
    fc.record({ kind: fc.constant('body' as const), b: fc.nat(bases.length - 1), m: mutation }),
    fc.record({ kind: fc.constant('raw' as const), b: fc.nat(bases.length - 1), raw: fc.oneof(fc.constantFrom('{', 'null', '[]', '"x"', '{"hostname":', `${'['.repeat(10_000)}`), hostileString), base64: fc.boolean() }),
    fc.record({ kind: fc.constant('header' as const), b: fc.nat(bases.length - 1), key: hostileKey, value: hostileString }),
    fc.record({ kind: fc.constant('query' as const), b: fc.nat(bases.length - 1), key: hostileKey, value: hostileString }),
  );

/** A valid request of a route: `route` for a route with a path parameter (its key and the parameters API Gateway passes). */
type HttpBase = { method: 'GET' | 'POST'; path: string; body?: unknown; query?: Record<string, string>; route?: { key: string; pathParameters: Record<string, string> } };
type HttpCase = ReturnType<typeof httpCase> extends fc.Arbitrary<infer T> ? T : never;

function buildHttp(bases: HttpBase[], generated: HttpCase) {
  const base = bases[generated.b];
  const built = buildHttpRequest(base, generated);
  if (!base.route) return built;
  const { key, pathParameters } = base.route;
  return { ...built, request: { ...built.request, routeKey: key, pathParameters, requestContext: { ...built.request.requestContext, routeKey: key } } };
}

function buildHttpRequest(base: HttpBase, generated: HttpCase) {
  const c = { ...generated, ...('key' in generated ? { key: materialize(generated.key) as string } : {}), ...('value' in generated ? { value: materialize(generated.value) as string } : {}), ...('raw' in generated ? { raw: materialize(generated.raw) as string } : {}) } as typeof generated & { key: string; value: string; raw: string };
  switch (c.kind) {
    case 'body': {
      const { event, where } = mutate(base.body ?? {}, c.m);
      return { request: httpEvent(base.method, base.path, event === undefined ? '' : event, {}, base.query), where: `body ${where}` };
    }
    case 'raw': {
      const raw = c.base64 ? Buffer.from(c.raw, 'utf8').toString('base64') : c.raw;
      return { request: { ...httpEvent(base.method, base.path, raw, {}, base.query), isBase64Encoded: c.base64 }, where: 'raw body' };
    }
    case 'header': {
      // A header named like one of the sample's replaces it (authorization included: a lying token).
      const name = c.key.toLowerCase();
      const request = httpEvent(base.method, base.path, base.body, { [name]: c.value }, base.query);
      request.requestContext.http.userAgent = c.value;
      return { request, where: `header ${name.slice(0, 40)}` };
    }
    case 'query': {
      const query = { ...base.query };
      Object.defineProperty(query, c.key, { value: c.value, enumerable: true, writable: true, configurable: true });
      return { request: httpEvent(base.method, base.path, base.body, {}, query), where: `query ${c.key.slice(0, 40)}` };
    }
  }
}

describe(`hostile HTTP requests (fast-check seed ${SEED}, ${RUNS} cases each)`, () => {
  const routes: { fn: string; file: string; bases: HttpBase[]; minRefused: number; allowed?: (item: string) => boolean }[] = [
    {
      fn: 'activations-api',
      file: 'activations-api',
      bases: [
        { method: 'POST', path: '/activations', body: { hostname: 'web-01.example.com', idempotencyKey: 'boot-1' } },
        { method: 'GET', path: '/activation', query: { hostname: 'web-02.example.com' } },
      ],
      minRefused: RUNS / 4,
      // A refused token is counted against its source (guessing is slowed and audited): those records only.
      allowed: (item) => item.includes('"activation-failures#'),
    },
    {
      fn: 'runbook-api',
      file: 'runbook-api',
      bases: [{ method: 'POST', path: '/runbooks/executions', body: { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'vol-0123456789abcdef0' }, idempotencyKey: 'hostile-1' } }],
      minRefused: RUNS / 4,
    },
    {
      fn: 'console-api',
      file: 'console-api',
      bases: [
        { method: 'GET', path: '/api/executions', query: { status: 'Waiting', limit: '10' } },
        { method: 'GET', path: '/api/parameters', query: { days: '30' } },
        { method: 'GET', path: '/api/executions/exec-1', route: { key: 'GET /api/executions/{id}', pathParameters: { id: 'exec-1' } } },
        { method: 'POST', path: '/api/executions/exec-1/signal', body: { signal: 'approve', comment: 'ok' }, route: { key: 'POST /api/executions/{id}/signal', pathParameters: { id: 'exec-1' } } },
      ],
      minRefused: RUNS / 4,
    },
    // GET /status takes no input: whatever a caller sends, the same answer and nothing written.
    { fn: 'status', file: 'status', bases: [{ method: 'GET', path: '/status' }], minRefused: 0 },
  ];

  for (const { fn, file, bases, minRefused, allowed } of routes) {
    it(`${fn}: every hostile body, header and query is answered 4xx with a JSON body naming the field (or handled), never 500, nothing written by a refusal`, async () => {
      const handler = await importHandler(file);
      const counts = { refused: 0, ok: 0 };
      await fc.assert(
        fc.asyncProperty(httpCase(bases), async (c) => {
          const { request, where } = buildHttp(bases, c);
          const input = { body: request.body, query: request.queryStringParameters, headers: request.headers };
          await tally(counts, fn, input, where, async () => classify((await handler(request, fakeContext(fn))) as HttpResponse, allowed));
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      totals.http += counts.refused + counts.ok;
      totals.refused += counts.refused;
      expect(counts.refused, `seed ${SEED}`).toBeGreaterThanOrEqual(minRefused);
    }, 120_000);
  }
});

/** The defects the properties found, each kept as its reproducer. */
describe('reproducers of what the hostile events found', () => {
  it('ami-publisher refuses a 1 MB detail.State, naming it, with no 1 MB log line', async () => {
    const handler = await importHandler('ami-publisher');
    const event = { ...fixture('events/awsdocs-ec2__ami-state-change_available.json') };
    event.detail = { ...event.detail, State: HUGE };
    const { result, lines } = await captureLines(() => handler(event, fakeContext('ami-publisher')));
    expect(result.status === 'rejected' && (result.reason as Error).message).toMatch(/^invalid event: detail\.State: /);
    expect(logProblem(lines)).toBeUndefined();
  });

  it('param-expiry-sweep names a 1 MB unknown key by an excerpt: the error and its log line stay small', async () => {
    const handler = await importHandler('param-expiry-sweep');
    const { result, lines } = await captureLines(() => handler({ [HUGE]: 1 }, fakeContext('param-expiry-sweep')));
    const message = result.status === 'rejected' ? (result.reason as Error).message : '';
    expect(message).toMatch(/Unrecognized key: "Z{64}…\(1048585 characters\)"/);
    expect(message.length).toBeLessThan(2000);
    expect(logProblem(lines)).toBeUndefined();
  });

  it('activations-api names a 1 MB unknown query key by an excerpt: a small 400, no 2 MB answer', async () => {
    const handler = await importHandler('activations-api');
    const request = httpEvent('GET', '/activation', undefined, {}, { hostname: 'web-03', [HUGE]: 'x' });
    const { result, lines } = await captureLines(() => handler(request, fakeContext('activations-api')));
    const response = (result.status === 'fulfilled' ? result.value : undefined) as HttpResponse;
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body!)).toMatchObject({ error: 'InvalidRequest', field: expect.stringMatching(/^Z{64}…\(1048585 characters\)$/) });
    expect(response.body!.length).toBeLessThan(1000);
    expect(logProblem(lines)).toBeUndefined();
  });

  it('runbook-worker refuses a parameter value nested 10,000 deep before planning it (it overflowed the stack)', async () => {
    const handler = await importHandler('runbook-worker');
    const event = busEvent('Runbook Execution Requested', { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: deep(10_000, 'object') } });
    const { result } = await captureLines(() => handler(event, fakeContext('runbook-worker')));
    expect(result.status === 'rejected' && (result.reason as Error).message).toMatch(/^invalid event: detail\.parameters: must nest at most 8 levels/);
  });
});
