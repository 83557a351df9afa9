import { describe, expect, it } from 'vitest';
import {
  ActivationError,
  InMemorySourceFailures,
  InMemoryTokenStore,
  issueActivation,
  ISSUANCE_TAG,
  newToken,
  NotFoundError,
  type ActivationIssuer,
  type ActivationRequest,
  type ActivationResponse,
  type Clock,
  type Issuance,
  type IssuanceChanges,
  type IssuanceStore,
  type IssueOnce,
} from '@opsauto/core';
import { seeded } from '../ami/fakes.js';

// Uses under faults, at core level: servers booting with the activation API's retries while every port fails a
// share of its calls, before or (for the issuance's several writes) between its steps, as the DynamoDB and SSM
// adapters can. Whatever failed, each server ends with one live activation, the one it was given, and the token
// counts one use per live activation: never a use given back twice, never one given back for a live activation.

const START = new Date('2027-01-01T00:00:10.000Z');
const HOUR = 3_600_000;
const SERVERS = 20;
/** Seeds of the runs (each a storm of SERVERS servers); the failing seed is named in the message. */
const SEEDS = Array.from({ length: 60 }, (_, n) => 1000 + n);


const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

/** Draws the faults of one run: each call of a step named in `rates` fails, before its effect, at that rate. */
class Faults {
  injected = 0;
  constructor(
    private readonly random: () => number,
    private readonly rate: number,
    private readonly spared: ReadonlySet<string> = new Set(),
  ) {}
  async step(name: string): Promise<void> {
    await Promise.resolve();
    if (this.spared.has(name) || this.random() >= this.rate) return;
    this.injected++;
    throw throttled();
  }
}

/** SSM's activations: live until deleted; each step may fail before it acts. */
class FaultyIssuer implements ActivationIssuer {
  readonly live = new Map<string, string>();
  private readonly made = new Map<string, ActivationRequest>();
  private n = 0;
  constructor(private readonly faults: Faults) {}
  async create(request: ActivationRequest) {
    await this.faults.step('create');
    const id = `act-${++this.n}`;
    this.live.set(id, request.defaultInstanceName);
    this.made.set(id, request);
    return { activationId: id, activationCode: `code-${this.n}` };
  }
  async findIssued(instanceName: string, ref: string) {
    await this.faults.step('findIssued');
    return [...this.live.keys()]
      .map((id) => ({ id, request: this.made.get(id)! }))
      .filter(({ request }) => request.defaultInstanceName === instanceName && request.tags[ISSUANCE_TAG] === ref)
      .map(({ id, request }) => ({ activationId: id, expiresAt: request.expirationDate, createdAt: START.toISOString(), registrations: 0 }));
  }
  async delete(activationId: string) {
    await this.faults.step('delete');
    this.live.delete(activationId);
  }
  async registrations() {
    await this.faults.step('registrations');
    return 0;
  }
}

/**
 * The DynamoDB issuance store's writes, one step at a time (no transactions): the issuance, then the key's pointer,
 * then the token's list pointer, each of which may fail with the earlier ones made.
 */
class StepwiseIssuances implements IssuanceStore {
  readonly items = new Map<string, Issuance>();
  private readonly pointers = new Map<string, string>();
  private readonly attempts = new Map<string, string>();
  constructor(private readonly faults: Faults) {}
  async markAttempt(tokenId: string, hostname: string, idempotencyKey: string, expiresAt: string) {
    await this.faults.step('markAttempt');
    this.attempts.set(this.key({ tokenId, hostname }, idempotencyKey), expiresAt);
  }
  async attempted(tokenId: string, hostname: string, idempotencyKey: string, now: string) {
    await this.faults.step('attempted');
    return (this.attempts.get(this.key({ tokenId, hostname }, idempotencyKey)) ?? '') > now;
  }
  private key = (i: Pick<Issuance, 'tokenId' | 'hostname'>, k: string) => JSON.stringify([i.tokenId, i.hostname, k]);
  record(issuance: Issuance) {
    return this.write(issuance, undefined);
  }
  replace(issuance: Issuance, replacing: string) {
    return this.write(issuance, replacing);
  }
  private async write(issuance: Issuance, replacing: string | undefined) {
    await this.faults.step('record.issuance');
    if (!this.items.has(issuance.activationId)) this.items.set(issuance.activationId, structuredClone(issuance));
    if (issuance.idempotencyKey !== undefined) {
      await this.faults.step('record.pointer');
      const k = this.key(issuance, issuance.idempotencyKey);
      const current = this.pointers.get(k);
      if (current === undefined || current === replacing) this.pointers.set(k, issuance.activationId);
    }
    await this.faults.step('record.tokenRef');
  }
  async findByIdempotencyKey(tokenId: string, hostname: string, idempotencyKey: string) {
    await this.faults.step('find');
    const id = this.pointers.get(this.key({ tokenId, hostname }, idempotencyKey));
    const found = id === undefined ? undefined : this.items.get(id);
    return found && structuredClone(found);
  }
  list() {
    return Promise.resolve([...this.items.values()]);
  }
  listOpen() {
    return Promise.resolve([...this.items.values()].filter((i) => i.deletedAt === undefined));
  }
  async update(activationId: string, changes: IssuanceChanges) {
    await this.faults.step('update');
    const i = this.items.get(activationId);
    if (!i) throw new NotFoundError(`no issuance of activation ${activationId}`);
    Object.assign(i, changes);
  }
  async updateOnce(activationId: string, changes: IssuanceChanges) {
    await this.faults.step('update');
    const i = this.items.get(activationId);
    if (!i) throw new NotFoundError(`no issuance of activation ${activationId}`);
    if (Object.keys(changes).some((k) => i[k as keyof IssuanceChanges] !== undefined)) return false;
    Object.assign(i, changes);
    return true;
  }
}

/** The token store's calls may fail before they act (a throttled UpdateItem changes nothing). */
class FaultyTokens extends InMemoryTokenStore {
  constructor(private readonly faults: Faults) {
    super();
  }
  override async get(id: string) {
    await this.faults.step('token.get');
    return super.get(id);
  }
  override async consumeUse(id: string, now: string) {
    await this.faults.step('consumeUse');
    return super.consumeUse(id, now);
  }
  override async releaseUse(id: string) {
    await this.faults.step('releaseUse');
    return super.releaseUse(id);
  }
}

/**
 * Powertools idempotency as it behaves under faults: the claim may fail (503), and the answer may fail to be saved
 * after the activation was made (503, the answer lost; the claim is gone by the retry, as once its expiry passed).
 */
function faultyIssueOnce(faults: Faults): IssueOnce {
  const saved = new Map<string, ActivationResponse>();
  const claimed = new Set<string>();
  const unavailable = () => new ActivationError('ServiceUnavailable', 'the idempotency record could not be kept', { retryAfterSeconds: 5 });
  return async (key, issue) => {
    const id = JSON.stringify(key);
    const done = saved.get(id);
    if (done) return structuredClone(done);
    if (claimed.has(id)) throw new ActivationError('RequestInProgress', 'in progress', { retryAfterSeconds: 1 });
    await faults.step('claim').catch(() => Promise.reject(unavailable()));
    claimed.add(id);
    try {
      const response = await issue();
      await faults.step('save').catch(() => Promise.reject(unavailable()));
      saved.set(id, structuredClone(response));
      return response;
    } finally {
      claimed.delete(id);
    }
  };
}

/** One storm: SERVERS servers, each retrying a 503 with its own key until it gets an activation (at most 60 tries). */
async function storm(seed: number, rate: number, spared: string[] = [], maxUses = SERVERS) {
  const faults = new Faults(seeded(seed), rate, new Set(spared));
  const tokens = new FaultyTokens(faults);
  const issuances = new StepwiseIssuances(faults);
  const issuer = new FaultyIssuer(faults);
  const { token, id, secretHash } = newToken();
  await tokens.create({ id, name: 'load', secretHash, iamRole: 'SSMServiceRole', tags: {}, maxUses, uses: 0, createdAt: START.toISOString(), createdBy: 'cli', expiresAt: new Date(START.getTime() + 24 * HOUR).toISOString() });
  const clock: Clock = { now: () => START };
  const deps = { tokens, issuances, issuer, failures: new InMemorySourceFailures(), issueOnce: faultyIssueOnce(faults), clock, region: 'eu-west-1', lifetimeMs: HOUR };
  const given = new Map<string, string>();
  const refusals: string[] = [];
  await Promise.all(
    Array.from({ length: SERVERS }, async (_, n) => {
      const hostname = `load-${String(n).padStart(2, '0')}`;
      for (let attempt = 1; attempt <= 60; attempt++) {
        try {
          const { response } = await issueActivation({ authorization: `Bearer ${token}`, hostname, idempotencyKey: `machine-${hostname}`, sourceIp: '10.0.0.1', userAgent: 'load' }, deps);
          given.set(hostname, response.activationId);
          return;
        } catch (e) {
          if (!(e instanceof ActivationError) || e.status !== 503) {
            refusals.push(`${hostname}: ${(e as Error).name} ${(e as Error).message}`);
            return;
          }
        }
      }
    }),
  );
  const live = [...issuer.live.entries()];
  // Read past the faults.
  const uses = await InMemoryTokenStore.prototype.get.call(tokens, id);
  return {
    booted: given.size,
    refusals,
    live: live.length,
    /** Servers whose activation is not live (withdrawn, or never made). */
    stale: [...given].filter(([, act]) => !issuer.live.has(act)).map(([host]) => host),
    uses: uses?.uses,
    /** Live activations no server holds (their withdrawal failed every attempt), and whether the sweep finds them. */
    extra: live.filter(([a]) => ![...given.values()].includes(a)).map(([a]) => `${a}${issuances.items.get(a)?.deletedAt === undefined && issuances.items.has(a) ? ' open' : ' unrecorded'}`),
    faults: faults.injected,
  };
}

describe('issueActivation under faults at every step', () => {
  // Both: every server gets an activation and holds a live one. An activation whose withdrawal failed every attempt
  // stays live with its use, recorded as open, so that the sweep deletes it when it expires (`extra`).
  it(`keeps one use per live activation: ${SERVERS} servers, ${SEEDS.length} seeds, 15% of calls failing but give-backs`, async () => {
    let faults = 0;
    let extra = 0;
    for (const seed of SEEDS) {
      const r = await storm(seed, 0.15, ['releaseUse']);
      const why = `seed ${seed}: ${JSON.stringify(r)}`;
      expect({ booted: r.booted, refusals: r.refusals, stale: r.stale, extra: r.extra.filter((e) => !e.endsWith(' open')) }, why).toEqual({ booted: SERVERS, refusals: [], stale: [], extra: [] });
      expect(r.uses, why).toBe(r.live);
      faults += r.faults;
      extra += r.extra.length;
    }
    expect(faults).toBeGreaterThan(SEEDS.length * SERVERS);
    expect(extra).toBeLessThan(SEEDS.length);
  });

  it(`never leaves a live activation without a use when give-backs fail too (${SEEDS.length} seeds)`, async () => {
    for (const seed of SEEDS) {
      // Room for uses whose give-back failed: they stay consumed.
      const r = await storm(seed, 0.15, [], 2 * SERVERS);
      const why = `seed ${seed}: ${JSON.stringify(r)}`;
      expect({ booted: r.booted, refusals: r.refusals, stale: r.stale, extra: r.extra.filter((e) => !e.endsWith(' open')) }, why).toEqual({ booted: SERVERS, refusals: [], stale: [], extra: [] });
      expect(r.uses, why).toBeGreaterThanOrEqual(r.live);
    }
  });
});
