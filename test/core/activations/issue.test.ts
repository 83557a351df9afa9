import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ActivationError,
  activationLifetimeMs,
  CREATE_MARGIN_MS,
  defineConfig,
  failureWindow,
  hashSecret,
  InMemoryIssuanceStore,
  InMemoryIssueOnce,
  InMemorySourceFailures,
  InMemoryTokenStore,
  issueActivation,
  ISSUANCE_TAG,
  issuanceRef,
  RETRY_AFTER_SECONDS,
  newToken,
  type ActivationIssuer,
  type ActivationRequest,
  type Clock,
  type EnrollmentToken,
  type Issuance,
  type IssueActivationDeps,
  type IssueActivationInput,
  type IssueOnce,
} from '@opsauto/core';

const START = new Date('2027-01-01T00:00:10.000Z');
const HOUR = 3_600_000;

/** An issuer that counts what it creates and can be told to fail. */
class FakeIssuer implements ActivationIssuer {
  created: ActivationRequest[] = [];
  deleted: string[] = [];
  failNext: Error | undefined;
  create(request: ActivationRequest) {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      return Promise.reject(e);
    }
    this.created.push(request);
    const n = this.created.length;
    return Promise.resolve({ activationId: `act-${n}`, activationCode: `code-${n}-secret` });
  }
  /** Activations a node registered with (the registration count DescribeActivations reports). */
  registered = new Set<string>();
  delete(activationId: string) {
    this.deleted.push(activationId);
    return Promise.resolve();
  }
  registrations(activationId: string) {
    return Promise.resolve(this.registered.has(activationId) && !this.deleted.includes(activationId) ? 1 : 0);
  }
  /** What DescribeActivations shows of the instance name's live activations carrying the ref. */
  findIssued(instanceName: string, ref: string) {
    return Promise.resolve(
      this.created
        .map((request, i) => ({ request, activationId: `act-${i + 1}` }))
        .filter(({ request, activationId }) => request.defaultInstanceName === instanceName && request.tags[ISSUANCE_TAG] === ref && !this.deleted.includes(activationId))
        .map(({ request, activationId }) => ({ activationId, expiresAt: request.expirationDate, createdAt: START.toISOString(), registrations: this.registered.has(activationId) ? 1 : 0 })),
    );
  }
  /** Live activations: made and not deleted. */
  live(): string[] {
    return this.created.map((_, i) => `act-${i + 1}`).filter((id) => !this.deleted.includes(id));
  }
}

/**
 * `deps` for a Lambda that dies as CreateActivation returns: from then on none of its calls takes effect (no record,
 * no withdrawal, no use given back), and its claim on the key is gone with it.
 */
function dyingAfterCreate(of: IssueActivationDeps): IssueActivationDeps {
  let dead = false;
  const dying = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, name) {
        const value = Reflect.get(t, name) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (dead) throw Object.assign(new Error('Task timed out'), { name: 'TimeoutError' });
          const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
          if (t === of.issuer && name === 'create') dead = true;
          return out;
        };
      },
    });
  return { ...of, issuer: dying(of.issuer), issuances: dying(of.issuances), tokens: dying(of.tokens), issueOnce: (_key, issue) => issue() };
}

let now: Date;
const clock: Clock = { now: () => now };
let tokens: InMemoryTokenStore;
let issuances: InMemoryIssuanceStore;
let issuer: FakeIssuer;
let failures: InMemorySourceFailures;
let deps: IssueActivationDeps;
let bearer: string;
let tokenId: string;

async function makeToken(over: Partial<EnrollmentToken> = {}): Promise<string> {
  const { token, id, secretHash } = newToken();
  await tokens.create({
    id,
    name: 'rack-7',
    secretHash,
    iamRole: 'SSMServiceRole',
    namePrefix: 'rack7-',
    tags: { env: 'onprem' },
    maxUses: 3,
    uses: 0,
    createdAt: START.toISOString(),
    createdBy: 'cli',
    expiresAt: new Date(START.getTime() + 7 * 24 * HOUR).toISOString(),
    ...over,
  });
  tokenId = id;
  return `Bearer ${token}`;
}

const input = (over: Partial<IssueActivationInput> = {}): IssueActivationInput => ({
  authorization: bearer,
  hostname: 'rack7-db-01',
  sourceIp: '198.51.100.7',
  userAgent: 'register-node/1',
  ...over,
});

/** The refusal's status and code, or 'ok'. */
async function outcome(i: IssueActivationInput, using: IssueActivationDeps = deps): Promise<string> {
  try {
    await issueActivation(i, using);
    return 'ok';
  } catch (e) {
    if (e instanceof ActivationError) return `${e.status} ${e.code}`;
    throw e;
  }
}

beforeEach(async () => {
  now = START;
  tokens = new InMemoryTokenStore();
  issuances = new InMemoryIssuanceStore();
  issuer = new FakeIssuer();
  failures = new InMemorySourceFailures();
  deps = { tokens, issuances, issuer, failures, issueOnce: new InMemoryIssueOnce(clock, HOUR).run, clock, region: 'eu-west-1', lifetimeMs: HOUR };
  bearer = await makeToken();
});

describe('issueActivation', () => {
  it('issues one activation for the hostname, consumes one use and records who asked when the token is good', async () => {
    // Act
    const { response } = await issueActivation(input({ hostname: 'Rack7-DB-01' }), deps);

    // Assess
    expect(response).toEqual({ activationId: 'act-1', activationCode: 'code-1-secret', region: 'eu-west-1', expiresAt: '2027-01-01T01:00:10.000Z', instanceName: 'rack7-db-01' });
    expect(issuer.created).toEqual([expect.objectContaining({ iamRole: 'SSMServiceRole', registrationLimit: 1, defaultInstanceName: 'rack7-db-01', tags: { env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' } })]);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
    expect(await issuances.list()).toEqual([
      { activationId: 'act-1', tokenId, tokenName: 'rack-7', hostname: 'rack7-db-01', instanceName: 'rack7-db-01', region: 'eu-west-1', expiresAt: '2027-01-01T01:00:10.000Z', issuedAt: START.toISOString(), sourceIp: '198.51.100.7', userAgent: 'register-node/1' },
    ]);
    expect(JSON.stringify(await issuances.list())).not.toContain('code-1-secret');
  });

  it('answers 401 InvalidToken, the same for a missing header, another scheme, a malformed token, an unknown id and a wrong secret', async () => {
    const { id } = { id: tokenId };
    const wrongSecret = `Bearer ${id}.${'A'.repeat(43)}`;
    const unknownId = `Bearer ${newToken().token}`;
    for (const authorization of [undefined, '', bearer.replace('Bearer', 'Basic'), 'Bearer not-a-token', unknownId, wrongSecret]) {
      expect(await outcome(input({ authorization }))).toBe('401 InvalidToken');
    }
    expect(issuer.created).toHaveLength(0);
    expect((await tokens.get(tokenId))?.uses).toBe(0);
  });

  it('answers 400 InvalidRequest naming the field when the hostname or the idempotency key is malformed', async () => {
    for (const [over, field] of [
      [{ hostname: 'rack7_db' }, 'hostname'],
      [{ hostname: undefined }, 'hostname'],
      [{ idempotencyKey: 'has space' }, 'idempotencyKey'],
      [{ idempotencyKey: 42 }, 'idempotencyKey'],
    ] as const) {
      const error = await issueActivation(input(over), deps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ActivationError);
      expect(error).toMatchObject({ status: 400, code: 'InvalidRequest', options: { field } });
    }
    expect(issuer.created).toHaveLength(0);
  });

  it('answers 403 with the reason when the token is revoked, expired, exhausted or the hostname is outside its prefix', async () => {
    expect(await outcome(input({ hostname: 'rack8-db-01' }))).toBe('403 HostnameOutOfScope');
    bearer = await makeToken({ uses: 3 });
    expect(await outcome(input())).toBe('403 TokenExhausted');
    bearer = await makeToken({ expiresAt: START.toISOString() });
    expect(await outcome(input())).toBe('403 TokenExpired');
    bearer = await makeToken();
    await tokens.revoke(tokenId, START.toISOString(), 'cli');
    expect(await outcome(input())).toBe('403 TokenRevoked');
    expect(issuer.created).toHaveLength(0);
  });

  it('consumes exactly maxUses and then refuses, whatever the hostnames', async () => {
    // Act
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await outcome(input({ hostname: `rack7-web-0${i}` })));

    // Assess
    expect(results).toEqual(['ok', 'ok', 'ok', '403 TokenExhausted', '403 TokenExhausted']);
    expect(issuer.created).toHaveLength(3);
    expect((await tokens.get(tokenId))?.uses).toBe(3);
  });

  it('returns the same activation and code to a retry with the same idempotency key, without a second use', async () => {
    // Prepare
    const first = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    now = new Date(START.getTime() + 30 * 60_000);

    // Act
    const again = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    const otherKey = await issueActivation(input({ idempotencyKey: 'boot-2' }), deps);
    const otherHost = await issueActivation(input({ idempotencyKey: 'boot-1', hostname: 'rack7-db-02' }), deps);

    // Assess
    expect(again.response).toEqual(first.response);
    expect(otherKey.response.activationId).not.toBe(first.response.activationId);
    expect(otherHost.response.activationId).not.toBe(first.response.activationId);
    expect(issuer.created).toHaveLength(3);
    expect((await tokens.get(tokenId))?.uses).toBe(3);
  });

  it('still answers a retry of the request that used the last use, and refuses a new key then', async () => {
    // Prepare: a one-use token, used by the first request.
    bearer = await makeToken({ maxUses: 1 });
    const first = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Act / Assess
    expect((await issueActivation(input({ idempotencyKey: 'boot-1' }), deps)).response).toEqual(first.response);
    expect(await outcome(input({ idempotencyKey: 'boot-2' }))).toBe('403 TokenExhausted');
    expect(await outcome(input())).toBe('403 TokenExhausted');
    expect(await outcome(input({ idempotencyKey: 'boot-1', hostname: 'rack8-db-01' }))).toBe('403 HostnameOutOfScope');
  });

  it('refuses a retry once the token is revoked, even with the key of an earlier activation', async () => {
    await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    await tokens.revoke(tokenId, START.toISOString(), 'cli');
    expect(await outcome(input({ idempotencyKey: 'boot-1' }))).toBe('403 TokenRevoked');
  });

  it('makes one activation when two requests with the same key arrive together', async () => {
    // Act
    const [a, b] = await Promise.all([outcome(input({ idempotencyKey: 'boot-1' })), outcome(input({ idempotencyKey: 'boot-1' }))]);

    // Assess
    expect([a, b].sort()).toEqual(['503 RequestInProgress', 'ok']);
    expect(issuer.created).toHaveLength(1);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('issues a new activation for the key once the first one expired', async () => {
    const first = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    now = new Date(START.getTime() + HOUR + 1000);
    const later = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    expect(later.response.activationId).not.toBe(first.response.activationId);
    expect(Date.parse(later.response.expiresAt)).toBeGreaterThan(now.getTime());
  });

  it('withdraws an activation whose answer was lost and issues one in its place, one use and one live activation for the key', async () => {
    // Prepare: the first answer was never kept (its Lambda died before saving it), the issuance was recorded.
    const lost = await issueActivation(input({ idempotencyKey: 'boot-1' }), { ...deps, issueOnce: (_key, issue) => issue() });

    // Act
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);
    const again = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Assess: the lost one deleted and marked so, the new one found by the key, one use in all.
    expect(retry.response.activationId).not.toBe(lost.response.activationId);
    expect(again.response).toEqual(retry.response);
    expect(issuer.created).toHaveLength(2);
    expect(issuer.deleted).toEqual([lost.response.activationId]);
    expect((await issuances.findByIdempotencyKey(tokenId, 'rack7-db-01', 'boot-1'))?.activationId).toBe(retry.response.activationId);
    expect((await issuances.listOpen()).map((i) => i.activationId)).toEqual([retry.response.activationId]);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('finds and withdraws an activation whose request died after CreateActivation, before recording it: one live activation and one use for the key', async () => {
    // Prepare: the first request's Lambda dies as CreateActivation returns (nothing recorded, nothing given back).
    expect(await outcome(input({ idempotencyKey: 'boot-1' }), dyingAfterCreate(deps))).toBe('503 ServiceUnavailable');
    expect(issuer.created[0].tags[ISSUANCE_TAG]).toBe(issuanceRef(tokenId, 'rack7-db-01', 'boot-1'));
    expect(issuer.live()).toEqual(['act-1']);
    expect(await issuances.list()).toEqual([]);
    expect((await tokens.get(tokenId))?.uses).toBe(1);

    // Act: the boot script retries with its key.
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Assess: the unrecorded one found by its tag, recorded, withdrawn and its use given back; the new one is the key's.
    expect(retry.response.activationId).toBe('act-2');
    expect(issuer.live()).toEqual(['act-2']);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
    expect((await issuances.listOpen()).map((i) => i.activationId)).toEqual(['act-2']);
    expect(await issuances.list()).toContainEqual(expect.objectContaining({ activationId: 'act-1', deletedAt: START.toISOString(), idempotencyKey: 'boot-1' }));
    expect((await issuances.findByIdempotencyKey(tokenId, 'rack7-db-01', 'boot-1'))?.activationId).toBe('act-2');
  });

  it('looks for unrecorded activations only for a key whose request got as far as CreateActivation', async () => {
    const looked: string[] = [];
    const watching = { ...deps, issuer: Object.assign(Object.create(issuer) as FakeIssuer, { findIssued: (n: string, r: string) => (looked.push(n), issuer.findIssued(n, r)) }) };
    await issueActivation(input({ idempotencyKey: 'boot-1' }), watching);
    await issueActivation(input({ idempotencyKey: 'boot-1' }), watching);
    await issueActivation(input({ hostname: 'rack7-db-02' }), watching);
    expect(looked).toEqual([]);
  });

  it('answers 503 before the invocation ends and withdraws what the abandoned request goes on to issue', async () => {
    // Prepare: CreateActivation hangs until released; the invocation has 10 s left (on a fake timer), so the answer
    // is due at 9 s.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const recorded: Issuance[] = [];
    const slow = Object.assign(Object.create(issuer) as FakeIssuer, { create: async (r: ActivationRequest) => (await held, issuer.create(r)) });
    const watched = Object.assign(Object.create(issuances) as InMemoryIssuanceStore, { record: (i: Issuance) => (recorded.push(i), issuances.record(i)) });
    const remainingMs = () => 10_000;

    // Act
    const answering = outcome(input({ idempotencyKey: 'boot-1' }), { ...deps, issuer: slow, issuances: watched, remainingMs });
    await vi.advanceTimersByTimeAsync(9_000);
    const answer = await answering;
    vi.useRealTimers();
    release();
    await vi.waitFor(async () => expect((await issuances.list())[0]?.deletedAt).toBeDefined());

    // Assess: a retryable answer; the activation made after it was withdrawn and its use given back.
    expect(answer).toBe('503 ServiceUnavailable');
    expect(recorded).toHaveLength(1);
    expect(issuer.live()).toEqual([]);
    await vi.waitFor(async () => expect((await tokens.get(tokenId))?.uses).toBe(0));
  });

  it('withdraws a lost answer again after its own answer is lost, the key always naming the live activation', async () => {
    const once = { ...deps, issueOnce: ((_key, issue) => issue()) as IssueOnce };
    const first = await issueActivation(input({ idempotencyKey: 'boot-1' }), once);
    const second = await issueActivation(input({ idempotencyKey: 'boot-1' }), once);
    const third = await issueActivation(input({ idempotencyKey: 'boot-1' }), once);
    expect(issuer.deleted).toEqual([first.response.activationId, second.response.activationId]);
    expect((await issuances.listOpen()).map((i) => i.activationId)).toEqual([third.response.activationId]);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('refuses (409 IdempotencyKeyUsed) rather than a second node when a node registered with the activation whose answer was lost', async () => {
    // Prepare
    const lost = await issueActivation(input({ idempotencyKey: 'boot-1' }), { ...deps, issueOnce: (_key, issue) => issue() });
    issuer.registered.add(lost.response.activationId);

    // Act
    const error = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ status: 409, code: 'IdempotencyKeyUsed' });
    expect(issuer.created).toHaveLength(1);
    expect(issuer.deleted).toEqual([]);
  });

  it('answers 503 and makes no activation when the invocation has too little time left for CreateActivation, and gives the use back', async () => {
    const error = await issueActivation(input({ idempotencyKey: 'boot-1' }), { ...deps, remainingMs: () => CREATE_MARGIN_MS - 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', options: { retryAfterSeconds: RETRY_AFTER_SECONDS } });
    expect(issuer.created).toHaveLength(0);
    expect((await tokens.get(tokenId))?.uses).toBe(0);
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), { ...deps, remainingMs: () => CREATE_MARGIN_MS });
    expect(retry.response.activationId).toBe('act-1');
  });

  it('answers 503 with a retry hint and gives the use back when CreateActivation fails, and a retry with the key then succeeds', async () => {
    // Prepare
    issuer.failNext = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

    // Act
    const error = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps).catch((e: unknown) => e);
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Assess
    expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', options: { retryAfterSeconds: 5 } });
    expect((error as Error).message).toContain('ThrottlingException');
    expect(retry.response.activationId).toBe('act-1');
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('withdraws the activation and gives the use back when the issuance cannot be recorded (503)', async () => {
    // Prepare
    issuances.record = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));

    // Act
    const result = await outcome(input());

    // Assess
    expect(result).toBe('503 ServiceUnavailable');
    expect(issuer.deleted).toEqual(['act-1']);
    expect((await tokens.get(tokenId))?.uses).toBe(0);
  });

  it('gives the use back once when a record written in part is withdrawn, then found again by a retry with its key', async () => {
    // Prepare: the issuance and its key's pointer are written, a later write of the record fails every time.
    const record = issuances.record.bind(issuances);
    issuances.record = async (i) => {
      await record(i);
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    const first = await outcome(input({ idempotencyKey: 'boot-1' }));
    issuances.record = record;

    // Act: the retry finds the withdrawn issuance by its key and issues in its place.
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Assess: one use for the one live activation (the first was given back once, not again by the retry).
    expect(first).toBe('503 ServiceUnavailable');
    expect(issuer.deleted).toEqual(['act-1']);
    expect(retry.response.activationId).toBe('act-2');
    expect((await issuances.listOpen()).map((i) => i.activationId)).toEqual(['act-2']);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('keeps the use of an activation it could not withdraw (503), and withdraws it on the retry with the key', async () => {
    // Prepare: the record is written but answers a failure; DeleteActivation fails every attempt.
    const record = issuances.record.bind(issuances);
    issuances.record = async (i) => {
      await record(i);
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    const remove = issuer.delete.bind(issuer);
    issuer.delete = () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const error = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps).catch((e: unknown) => e);
    expect((await tokens.get(tokenId))?.uses).toBe(1);
    issuances.record = record;
    issuer.delete = remove;

    // Act
    const retry = await issueActivation(input({ idempotencyKey: 'boot-1' }), deps);

    // Assess: the first kept its use while live; the retry withdrew it, gave its use back and took one.
    expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', message: expect.stringContaining('could not be withdrawn and keeps its use') as unknown });
    expect(issuer.deleted).toEqual(['act-1']);
    expect(retry.response.activationId).toBe('act-2');
    expect((await tokens.get(tokenId))?.uses).toBe(1);
  });

  it('answers 503 when the token or the counter cannot be read, and still 401 when a failure cannot be counted', async () => {
    // Prepare
    const down = () => Promise.reject(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    const readsDown = { ...deps, failures: { count: down, add: down } };
    const writesDown = { ...deps, failures: { count: () => Promise.resolve(0), add: down } };

    // Act / Assess
    expect(await issueActivation(input(), readsDown).catch((e: unknown) => e)).toMatchObject({ status: 503, code: 'ServiceUnavailable', options: { retryAfterSeconds: 5 } });
    expect(await issueActivation(input({ authorization: 'Bearer nope' }), writesDown).catch((e: unknown) => e)).toMatchObject({ status: 401, code: 'InvalidToken' });
  });

  it('answers 429 to a source past the failure limit until its minute ends, without reading its token, and only to that source', async () => {
    // Prepare: 10 bad tokens from one source in the first minute.
    for (let i = 0; i < 10; i++) expect(await outcome(input({ authorization: 'Bearer nope' }))).toBe('401 InvalidToken');
    let reads = 0;
    const get = tokens.get.bind(tokens);
    tokens.get = (id) => (reads++, get(id));

    // Act
    const blocked = await issueActivation(input(), deps).catch((e: unknown) => e);
    const elsewhere = await outcome(input({ sourceIp: '203.0.113.9' }));
    now = new Date(Date.parse('2027-01-01T00:01:00.000Z'));
    const nextMinute = await outcome(input());

    // Assess
    expect(blocked).toMatchObject({ status: 429, code: 'TooManyFailures', options: { retryAfterSeconds: 50 } });
    expect(elsewhere).toBe('ok');
    expect(nextMinute).toBe('ok');
    expect(issuer.created).toHaveLength(2);
    expect(reads).toBe(3);
  });

  it('does not count refusals of a good token (403) nor bad input (400) as failures', async () => {
    for (let i = 0; i < 12; i++) await outcome(input({ hostname: 'rack8-x' }));
    for (let i = 0; i < 12; i++) await outcome(input({ hostname: '-' }));
    expect(await failures.count('198.51.100.7', failureWindow(now).start)).toBe(0);
    expect(await outcome(input())).toBe('ok');
  });

  it('keeps the secret out of every refusal message', async () => {
    const secret = bearer.split('.')[1];
    const messages: string[] = [];
    for (const over of [{ authorization: `Bearer ${tokenId}.${'B'.repeat(43)}` }, { hostname: 'rack8-a' }, { hostname: 'bad_host' }]) {
      messages.push(await issueActivation(input(over), deps).then(() => '', (e: Error) => e.message));
    }
    expect(messages.filter(Boolean)).toHaveLength(3);
    for (const m of messages) {
      expect(m).not.toContain(secret);
      expect(m).not.toContain(hashSecret(secret));
    }
  });
});

describe('failureWindow', () => {
  it('starts windows on the minute and counts the seconds left, at least one', () => {
    expect(failureWindow(new Date('2027-01-01T00:00:42.500Z'))).toEqual({ start: Date.parse('2027-01-01T00:00:00Z'), retryAfterSeconds: 18 });
    expect(failureWindow(new Date('2027-01-01T00:00:59.999Z')).retryAfterSeconds).toBe(1);
    expect(failureWindow(new Date('2027-01-01T00:01:00.000Z'))).toEqual({ start: Date.parse('2027-01-01T00:01:00Z'), retryAfterSeconds: 60 });
  });
});

describe('activationLifetimeMs', () => {
  it('reads the configured lifetime and keeps it within a minute and 30 days', () => {
    expect(activationLifetimeMs(defineConfig({ regions: ['eu-west-1'] }))).toBe(HOUR);
    expect(activationLifetimeMs(defineConfig({ regions: ['eu-west-1'], activations: { lifetime: '12h' } }))).toBe(12 * HOUR);
    expect(activationLifetimeMs(defineConfig({ regions: ['eu-west-1'], activations: { lifetime: '45d' } }))).toBe(30 * 24 * HOUR);
  });
});
