import { CreateActivationCommand, DeleteActivationCommand, DescribeActivationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { AwsClients, DynamoIssuanceStore, DynamoTokenStore, SsmActivationIssuer } from '@opsauto/aws';
import { InMemoryIssuanceStore, InMemoryTokenStore, newToken, type ActivationIssuer, type EnrollmentToken } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { emfDocuments, metricValues } from '../../helpers/metrics.js';
import { functionEnvironment } from '../../helpers/table.js';

type Response = { statusCode: number; headers?: Record<string, string>; body: string };
type Handler = (event: unknown, context: unknown) => Promise<Response>;

let cloud: Localcloud;
let table: string;
let ssm: SSMClient;
let handler: Handler;
let deployed: Handler;
let tokens: InMemoryTokenStore;
let issuances: InMemoryIssuanceStore;
/** CreateActivation calls that reached localcloud through the test's adapter. */
let created: string[];
/** While set, CreateActivation waits for it (a slow AWS call), after counting itself in `entered`. */
let gate: Promise<void> | undefined;
let entered = 0;

/** Every line the handler wrote (stdout, stderr, console), for the redaction test at the end. */
const lines: string[] = [];
/** Every secret the tests handled: token strings, their secrets and hashes, activation codes. */
const secrets = new Set<string>();
const restore: (() => void)[] = [];

function capture() {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    // Kept, not printed: the test output stays readable.
    stream.write = ((chunk: unknown) => (lines.push(String(chunk)), true)) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    restore.push(() => (console[level] = original));
  }
}

beforeAll(async () => {
  cloud = await startTestCloud();
  table = await functionEnvironment(cloud, 'DEBUG', { metrics: true });
  // Whatever an operator sets, the event (and its Authorization header) never reaches a log.
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'activations-api';
  ssm = new SSMClient(clientConfig(cloud));
  // A CreateActivation adapter that can hold a request in flight (the gate) and counts calls; the deployed wiring
  // (SsmActivationIssuer and the table's stores) is tested last.
  const issuer: ActivationIssuer = {
    async create(r) {
      entered++;
      await gate;
      const out = await ssm.send(
        new CreateActivationCommand({
          IamRole: r.iamRole,
          RegistrationLimit: r.registrationLimit,
          ExpirationDate: new Date(r.expirationDate),
          DefaultInstanceName: r.defaultInstanceName,
          Description: r.description,
          Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      created.push(out.ActivationId!);
      return { activationId: out.ActivationId!, activationCode: out.ActivationCode! };
    },
    async delete(id) {
      await ssm.send(new DeleteActivationCommand({ ActivationId: id }));
    },
    async registrations(id) {
      const out = await ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [id] }] }));
      return out.ActivationList?.[0]?.RegistrationsCount ?? 0;
    },
    findIssued: (instanceName, ref) => new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud))).findIssued(instanceName, ref),
  };
  const mod = await import('../../../packages/functions/src/handlers/activations-api.js');
  // The handler keeps its wiring for the container's life: getters hand it each test's fresh stores.
  handler = mod.activationsApi(() => ({
    get tokens() {
      return tokens;
    },
    get issuances() {
      return issuances;
    },
    issuer,
  })) as unknown as Handler;
  deployed = mod.handler as unknown as Handler;
  capture();
});
afterAll(async () => {
  for (const undo of restore) undo();
  delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  await cloud.stop();
});
beforeEach(() => {
  tokens = new InMemoryTokenStore();
  issuances = new InMemoryIssuanceStore();
  created = [];
  gate = undefined;
  entered = 0;
  cloud.faults.set([]);
});

let ipCounter = 0;
/** A fresh source IP per test, so that one test's bad tokens do not slow another down. */
const freshIp = () => `198.51.100.${++ipCounter}`;

async function makeToken(over: Partial<EnrollmentToken> = {}): Promise<{ bearer: string; id: string }> {
  const { token, id, secretHash } = newToken();
  secrets.add(token).add(token.split('.')[1]).add(secretHash);
  const now = Date.now();
  await tokens.create({
    id,
    name: 'rack-7',
    secretHash,
    iamRole: 'SSMServiceRole',
    namePrefix: 'rack7-',
    tags: { env: 'onprem' },
    maxUses: 5,
    uses: 0,
    createdAt: new Date(now).toISOString(),
    createdBy: 'cli',
    expiresAt: new Date(now + 7 * 86_400_000).toISOString(),
    ...over,
  });
  return { bearer: `Bearer ${token}`, id };
}

interface Call {
  authorization?: string;
  sourceIp?: string;
}

/** Powertools' API Gateway v2 HTTP API sample as `POST /activations` with `body` (a string as is, else JSON). */
function post(body: unknown, { authorization, sourceIp = '15.248.3.126' }: Call = {}): unknown {
  const event = fixture('apigw/powertools-ts__apigw-http_no-auth.json');
  event.routeKey = event.requestContext.routeKey = 'POST /activations';
  event.rawPath = event.requestContext.http.path = '/activations';
  event.headers['content-type'] = 'application/json';
  if (authorization === undefined) delete event.headers.authorization;
  else event.headers.authorization = authorization;
  event.requestContext.http.sourceIp = sourceIp;
  if (body !== undefined) event.body = typeof body === 'string' ? body : JSON.stringify(body);
  return event;
}

/** Powertools' (Python) GET sample as `GET /activation?…` with `query`. */
function get(query: Record<string, string>, { authorization, sourceIp = '15.248.3.126' }: Call = {}): unknown {
  const event = fixture('apigw/powertools-py__apiGatewayProxyV2Event_GET.json');
  event.routeKey = event.requestContext.routeKey = 'GET /activation';
  event.rawPath = event.requestContext.http.path = '/activation';
  event.rawQueryString = new URLSearchParams(query).toString();
  event.queryStringParameters = query;
  delete event.pathParameters;
  event.headers = authorization === undefined ? {} : { authorization };
  event.requestContext.http.sourceIp = sourceIp;
  event.requestContext.http.userAgent = 'register-node/1 curl/8.5.0';
  return event;
}

async function invoke(event: unknown, h: Handler = handler) {
  const response = await h(event, fakeContext('activations-api', 30_000));
  const body = JSON.parse(response.body) as Record<string, any>;
  if (typeof body.activationCode === 'string') secrets.add(body.activationCode);
  return { status: response.statusCode, headers: response.headers ?? {}, body };
}

/** The metrics the handler printed (EMF) after line `mark`. */
const metricsSince = (mark: number) => metricValues(emfDocuments(lines.slice(mark)));

describe('activations-api handler', () => {
  it('issues an activation in localcloud whose code registers the server, and records the caller (POST)', async () => {
    // Prepare
    const { bearer, id } = await makeToken();
    const sourceIp = freshIp();

    const mark = lines.length;
    // Act
    const { status, headers, body } = await invoke(post({ hostname: 'rack7-db-01' }, { authorization: bearer, sourceIp }));

    // Assess
    expect(status).toBe(200);
    expect(headers['cache-control']).toBe('no-store');
    expect(body).toEqual({ activationId: created[0], activationCode: expect.any(String), region: 'us-east-1', expiresAt: expect.any(String), instanceName: 'rack7-db-01' });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(3_600_000);
    const { ActivationList } = await ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [body.activationId] }] }));
    expect(ActivationList?.[0]).toMatchObject({ IamRole: 'SSMServiceRole', RegistrationLimit: 1, DefaultInstanceName: 'rack7-db-01' });
    expect(ActivationList?.[0]?.Tags).toEqual(expect.arrayContaining([{ Key: 'env', Value: 'onprem' }, { Key: 'opsauto:hostname', Value: 'rack7-db-01' }, { Key: 'opsauto:token', Value: 'rack-7' }]));
    const registered = await fetch(`${cloud.url}/_localcloud/ssm/register`, { method: 'POST', body: JSON.stringify({ activationId: body.activationId, activationCode: body.activationCode, hostname: 'rack7-db-01' }) });
    expect(((await registered.json()) as { instanceId: string }).instanceId).toMatch(/^mi-/);
    expect(await issuances.list()).toEqual([expect.objectContaining({ activationId: body.activationId, tokenId: id, hostname: 'rack7-db-01', sourceIp, userAgent: 'HTTPie/3.2.2' })]);
    expect((await tokens.get(id))?.uses).toBe(1);
    expect(metricsSince(mark)).toEqual({ ActivationsIssued: [1] });
  });

  it('answers a GET with the same activation and code when the idempotency key is sent again, from a Powertools record in the table', async () => {
    // Prepare
    const { bearer, id } = await makeToken();
    const query = { hostname: 'rack7-web-01', idempotencyKey: 'machine-id-4f2a' };

    // Act
    const first = await invoke(get(query, { authorization: bearer, sourceIp: freshIp() }));
    const again = await invoke(get(query, { authorization: bearer, sourceIp: freshIp() }));

    // Assess
    expect(first.status).toBe(200);
    expect(again).toEqual(first);
    expect(created).toEqual([first.body.activationId]);
    expect((await tokens.get(id))?.uses).toBe(1);
    expect(await issuances.list()).toEqual([expect.objectContaining({ idempotencyKey: 'machine-id-4f2a', userAgent: 'register-node/1 curl/8.5.0' })]);
    // The record: keyed on a hash of (token id, hostname, key), holding the answer, expiring with the activation (TTL).
    const hash = createHash('sha256').update(JSON.stringify({ hostname: query.hostname, idempotencyKey: query.idempotencyKey, tokenId: id })).digest('base64');
    const clients = new AwsClients('us-east-1', clientConfig(cloud));
    const { Item } = await clients.dynamo().send(new GetCommand({ TableName: table, Key: { pk: `idempotency#activations#${hash}`, sk: 'idempotency' } }));
    expect(Item).toMatchObject({ status: 'COMPLETED', data: first.body });
    expect(Math.abs(Item!.expiresAt - Date.parse(first.body.expiresAt) / 1000)).toBeLessThan(5);
  });

  it('answers 503 RequestInProgress (which boot scripts retry) to retries while the first request with the key is in CreateActivation, then the same activation', async () => {
    // Prepare: the first request is held inside CreateActivation.
    const { bearer, id } = await makeToken();
    const event = () => post({ hostname: 'rack7-web-02', idempotencyKey: 'boot-7' }, { authorization: bearer, sourceIp: freshIp() });
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const first = invoke(event());
    while (entered === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    // Act
    const during = await Promise.all(Array.from({ length: 4 }, () => invoke(event())));
    release();
    const answered = await first;
    const after = await invoke(event());

    // Assess
    for (const r of during) expect(r).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { error: 'RequestInProgress' } });
    expect(answered.status).toBe(200);
    expect(after.body).toEqual(answered.body);
    expect(created).toEqual([answered.body.activationId]);
    expect(entered).toBe(1);
    expect((await tokens.get(id))?.uses).toBe(1);
  });

  it('makes one activation and consumes one use when the same key arrives five times at once', async () => {
    // Prepare
    const { bearer, id } = await makeToken();
    const event = () => post({ hostname: 'rack7-web-03', idempotencyKey: 'boot-8' }, { authorization: bearer, sourceIp: freshIp() });

    // Act
    const responses = await Promise.all(Array.from({ length: 5 }, () => invoke(event())));

    // Assess
    expect(created).toHaveLength(1);
    expect((await tokens.get(id))?.uses).toBe(1);
    for (const r of responses) {
      if (r.status === 200) expect(r.body.activationId).toBe(created[0]);
      else expect(r).toMatchObject({ status: 503, body: { error: 'RequestInProgress' } });
    }
  });

  it('answers 401 InvalidToken with WWW-Authenticate for a missing header, another scheme, a malformed token, an unknown id and a wrong secret', async () => {
    const { bearer, id } = await makeToken();
    const wrongSecret = `Bearer ${id}.${'A'.repeat(43)}`;
    const mark = lines.length;
    for (const authorization of [undefined, bearer.replace('Bearer', 'Basic'), 'Bearer not-a-token', `Bearer ${newToken().token}`, wrongSecret]) {
      const r = await invoke(post({ hostname: 'rack7-db-01' }, { authorization, sourceIp: freshIp() }));
      expect(r).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="opsauto-activations"' }, body: { error: 'InvalidToken', message: expect.any(String) } });
    }
    expect(created).toHaveLength(0);
    // One EMF document per request, each counting the refusal.
    expect(metricsSince(mark)).toEqual({ ActivationsRefused: [1, 1, 1, 1, 1] });
  });

  it('answers 400 InvalidRequest naming the field for a missing, malformed, oversized or unknown body, hostname or key', async () => {
    const { bearer } = await makeToken();
    const cases: [unknown, string][] = [
      [post(undefined, { authorization: bearer }), 'body'],
      [post('{"hostname":', { authorization: bearer }), 'body'],
      [post({ hostname: 'rack7-a', pad: 'x'.repeat(5000) }, { authorization: bearer }), 'body'],
      [post({ hostname: 'rack7-a', role: 'Admin' }, { authorization: bearer }), 'role'],
      [post(['rack7-a'], { authorization: bearer }), 'body'],
      [post({ hostname: 'rack7_a' }, { authorization: bearer }), 'hostname'],
      [post({ hostname: 42 }, { authorization: bearer }), 'hostname'],
      [post({ hostname: 'rack7-a', idempotencyKey: 'with space' }, { authorization: bearer }), 'idempotencyKey'],
      [get({}, { authorization: bearer }), 'hostname'],
      [get({ hostname: 'rack7-a', cachebuster: '1' }, { authorization: bearer }), 'cachebuster'],
    ];
    for (const [event, field] of cases) {
      const r = await invoke(event);
      expect({ field, status: r.status, error: r.body.error, named: r.body.field }).toEqual({ field, status: 400, error: 'InvalidRequest', named: field });
    }
    expect(created).toHaveLength(0);
  });

  it('answers 403 with the reason for a revoked, expired or exhausted token and a hostname outside its prefix', async () => {
    const sourceIp = freshIp();
    const outOfScope = await makeToken();
    const exhausted = await makeToken({ maxUses: 1, uses: 1 });
    const expired = await makeToken({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const revoked = await makeToken();
    await tokens.revoke(revoked.id, new Date().toISOString(), 'cli');
    const answers = [];
    for (const [t, hostname] of [[outOfScope, 'rack8-db-01'], [exhausted, 'rack7-a'], [expired, 'rack7-a'], [revoked, 'rack7-a']] as const) {
      const r = await invoke(post({ hostname }, { authorization: t.bearer, sourceIp }));
      answers.push(`${r.status} ${r.body.error}`);
    }
    expect(answers).toEqual(['403 HostnameOutOfScope', '403 TokenExhausted', '403 TokenExpired', '403 TokenRevoked']);
    expect(created).toHaveLength(0);
  });

  it('answers 429 with Retry-After to a source after 10 bad tokens in a minute, even with a good token, and not to others', async () => {
    // Prepare
    const { bearer } = await makeToken();
    const sourceIp = freshIp();
    for (let i = 0; i < 10; i++) expect((await invoke(post({ hostname: 'rack7-a' }, { authorization: 'Bearer guess', sourceIp }))).status).toBe(401);

    // Act
    const blocked = await invoke(post({ hostname: 'rack7-a' }, { authorization: bearer, sourceIp }));
    const other = await invoke(post({ hostname: 'rack7-a' }, { authorization: bearer, sourceIp: freshIp() }));

    // Assess
    expect(blocked).toMatchObject({ status: 429, body: { error: 'TooManyFailures' } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(other.status).toBe(200);
  });

  it('answers 503 with Retry-After and gives the use back when CreateActivation fails, and the retry with the key succeeds', async () => {
    // Prepare
    const { bearer, id } = await makeToken();
    cloud.faults.set([{ service: 'ssm', operation: 'CreateActivation', errorRate: 1 }]);
    const event = () => post({ hostname: 'rack7-db-09', idempotencyKey: 'boot-9' }, { authorization: bearer, sourceIp: freshIp() });

    // Act
    const failed = await invoke(event());
    cloud.faults.set([]);
    const retried = await invoke(event());

    // Assess
    expect(failed).toMatchObject({ status: 503, headers: { 'retry-after': '5' }, body: { error: 'ServiceUnavailable', message: expect.stringContaining('retry') } });
    expect(retried.status).toBe(200);
    expect(created).toEqual([retried.body.activationId]);
    expect((await tokens.get(id))?.uses).toBe(1);
  });

  it('answers 503 with Retry-After when the state table fails, and creates nothing', async () => {
    // Prepare: every DynamoDB call fails (after the SDK's retries).
    const { bearer } = await makeToken();
    cloud.faults.set([{ service: 'dynamodb', errorRate: 1 }]);

    // Act
    const plain = await invoke(post({ hostname: 'rack7-db-10' }, { authorization: bearer, sourceIp: freshIp() }));
    // Only the idempotency claim (Powertools' conditional PutItem) fails: the counter's GetItem answers.
    cloud.faults.set([{ service: 'dynamodb', operation: 'PutItem', errorRate: 1 }]);
    const keyed = await invoke(post({ hostname: 'rack7-db-10', idempotencyKey: 'boot-10' }, { authorization: bearer, sourceIp: freshIp() }));

    // Assess
    for (const r of [plain, keyed]) expect(r).toMatchObject({ status: 503, headers: { 'retry-after': '5' }, body: { error: 'ServiceUnavailable' } });
    expect(keyed.body.message).toContain('IdempotencyPersistenceLayerError');
    expect((await tokens.get((await tokens.list())[0].id))?.uses).toBe(0);
    expect(created).toEqual([]);
  });

  it('serves a boot script through the local HTTP API gateway: plain HTTP, the header, the query and Retry-After', async () => {
    // Prepare: the handler behind localcloud's API Gateway v2 emulation, as the local stage routes it.
    const { bearer } = await makeToken({ maxUses: 1 });
    cloud.lambda.register({ name: 'activations-api', handler: (event, context) => handler(event, context) });
    cloud.httpApi.addRoute({ method: 'GET', path: '/activation', function: 'activations-api' });
    cloud.httpApi.addRoute({ method: 'POST', path: '/activations', function: 'activations-api' });
    const port = await cloud.httpApi.listen(0);
    const base = `http://127.0.0.1:${port}`;

    // Act
    const got = await fetch(`${base}/activation?hostname=rack7-boot-01&idempotencyKey=mid-1`, { headers: { authorization: bearer, 'user-agent': 'register-node.sh/1' } });
    const body = (await got.json()) as Record<string, string>;
    secrets.add(body.activationCode);
    const again = await fetch(`${base}/activations`, { method: 'POST', headers: { authorization: bearer, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: 'rack7-boot-01', idempotencyKey: 'mid-1' }) });
    const exhausted = await fetch(`${base}/activations`, { method: 'POST', headers: { authorization: bearer }, body: JSON.stringify({ hostname: 'rack7-boot-02' }) });

    // Assess
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(await again.json()).toEqual(body);
    expect(exhausted.status).toBe(403);
    expect(await exhausted.json()).toMatchObject({ error: 'TokenExhausted' });
    expect(await issuances.list()).toEqual([expect.objectContaining({ activationId: body.activationId, sourceIp: '127.0.0.1', userAgent: 'register-node.sh/1' })]);
  });

  it('as deployed, issues through the table\'s token and issuance stores and SSM: one use consumed, the issuance recorded', async () => {
    // Prepare: a token in the state table, as `opsauto tokens create` stores it.
    const stores = { tokens: new DynamoTokenStore(new AwsClients('us-east-1', clientConfig(cloud)), table), issuances: new DynamoIssuanceStore(new AwsClients('us-east-1', clientConfig(cloud)), table) };
    const { token, id, secretHash } = newToken();
    secrets.add(token).add(token.split('.')[1]).add(secretHash);
    const now = Date.now();
    await stores.tokens.create({ id, name: 'rack-9', secretHash, iamRole: 'SSMServiceRole', tags: {}, maxUses: 2, uses: 0, createdAt: new Date(now).toISOString(), createdBy: 'cli', expiresAt: new Date(now + 86_400_000).toISOString() });

    // Act
    const r = await invoke(post({ hostname: 'rack9-a', idempotencyKey: 'boot-1' }, { authorization: `Bearer ${token}`, sourceIp: freshIp() }), deployed);
    const again = await invoke(post({ hostname: 'rack9-a', idempotencyKey: 'boot-1' }, { authorization: `Bearer ${token}`, sourceIp: freshIp() }), deployed);

    // Assess
    expect(r).toMatchObject({ status: 200, body: { instanceName: 'rack9-a', region: 'us-east-1' } });
    expect(again.body).toEqual(r.body);
    expect((await stores.tokens.get(id))?.uses).toBe(1);
    expect(await stores.issuances.list({ tokenId: id })).toEqual([expect.objectContaining({ activationId: r.body.activationId, hostname: 'rack9-a', idempotencyKey: 'boot-1' })]);
    const { ActivationList } = await ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [r.body.activationId] }] }));
    expect(ActivationList?.map((a) => [a.DefaultInstanceName, a.RegistrationLimit])).toEqual([['rack9-a', 1]]);
  });

  it('writes no token, secret, hash or activation code to any log line across all of the above', () => {
    // The capture worked: successes and refusals were logged, at DEBUG, with the event asked for.
    const logged = lines.join('\n');
    expect(logged).toContain('activation issued');
    expect(logged).toContain('activation refused');
    expect(secrets.size).toBeGreaterThan(20);
    for (const secret of secrets) expect(logged.includes(secret), `a secret (${secret.slice(0, 6)}…) was logged`).toBe(false);
    expect(logged).not.toMatch(/Bearer tok_/);
  });
});
