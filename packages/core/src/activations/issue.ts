import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { parseSpan, spanMs } from '../params/policy.js';
import { createHash } from 'node:crypto';
import type { ActivationIssuer, EnrollmentToken, Issuance, IssuanceStore, TokenRefusal, TokenStore } from './ports.js';
import { BAD_TOKEN_LIMIT, failureWindow, type SourceFailureCounter } from './source-failures.js';
import { activationRequest, MAX_ACTIVATION_LIFETIME_MS, parseHostname, parseToken, secretMatches, tokenRefusal } from './tokens.js';

/** What a booting server gets: enough to run `amazon-ssm-agent -register` (or nodeadm) once. */
export interface ActivationResponse {
  activationId: string;
  /** Shown to the caller only; never stored but in the idempotency record, never logged. */
  activationCode: string;
  region: string;
  expiresAt: string;
  instanceName: string;
}

/** The error codes of the activation API, each with one HTTP status (docs/activations.md, "Errors"). */
export const ACTIVATION_ERRORS = {
  InvalidRequest: 400,
  InvalidToken: 401,
  TokenRevoked: 403,
  TokenExpired: 403,
  TokenExhausted: 403,
  HostnameOutOfScope: 403,
  /** Another request with the same idempotency key is being served: retry (a 503, which boot scripts retry). */
  RequestInProgress: 503,
  /** The key's activation was issued and a node registered with it, but its answer is no longer kept. */
  IdempotencyKeyUsed: 409,
  TooManyFailures: 429,
  ServiceUnavailable: 503,
} as const;

export type ActivationErrorCode = keyof typeof ACTIVATION_ERRORS;

/** A refusal of the activation API: its HTTP status, its code (the body's `error`), and when to retry. */
export class ActivationError extends Error {
  override name = 'ActivationError';
  readonly status: number;
  constructor(
    readonly code: ActivationErrorCode,
    message: string,
    readonly options: { retryAfterSeconds?: number; field?: string } = {},
  ) {
    super(message);
    this.status = ACTIVATION_ERRORS[code];
  }
}

/** What a request names for idempotency: the same three values get the same activation while it lives. */
export interface IssuanceKey {
  tokenId: string;
  hostname: string;
  idempotencyKey: string;
}

/**
 * Runs `issue` at most once per key while its activation lives, and returns the first result to every later call
 * with the key (Powertools idempotency in the functions; `InMemoryIssueOnce` in tests). The key is claimed before
 * `issue` runs, so a concurrent call with the same key throws ActivationError RequestInProgress; when `issue`
 * throws, the claim is dropped so that a retry can succeed.
 */
export type IssueOnce = (key: IssuanceKey, issue: () => Promise<ActivationResponse>) => Promise<ActivationResponse>;

export interface IssueActivationInput {
  /** The Authorization header as received (`Bearer <token>`), or undefined. */
  authorization: string | undefined;
  /** The hostname as sent (validated here). */
  hostname: unknown;
  idempotencyKey?: unknown;
  sourceIp: string;
  userAgent: string;
}

export interface IssueActivationDeps {
  tokens: TokenStore;
  issuances: IssuanceStore;
  issuer: ActivationIssuer;
  failures: SourceFailureCounter;
  issueOnce: IssueOnce;
  clock: Clock;
  region: string;
  /** The activation's life (config `activations.lifetime`); clamped to [1 minute, 30 days] by `activationRequest`. */
  lifetimeMs: number;
  /** Failed authentications per source IP and minute before 429 (default BAD_TOKEN_LIMIT). */
  badTokenLimit?: number;
  /**
   * Milliseconds the invocation has left (Lambda's `getRemainingTimeInMillis`): CreateActivation is not started with
   * less than CREATE_MARGIN_MS left, so that a request does not time out with an activation made and its answer lost.
   */
  remainingMs?: () => number;
}

/** What recording an issuance and saving its answer may take after CreateActivation, under load (see remainingMs). */
export const CREATE_MARGIN_MS = 5000;

/**
 * With `remainingMs`, a request still unanswered this long before the invocation's end answers 503 (retry) instead of
 * timing out (a gateway's 500); the work it leaves behind withdraws whatever it goes on to issue.
 */
export const ANSWER_RESERVE_MS = 1000;

/** The tag that ties an activation to the token, hostname and idempotency key it was issued for (`issuanceRef`). */
export const ISSUANCE_TAG = 'opsauto:issuance';

/**
 * The value of ISSUANCE_TAG: a SHA-256 (hex) of the token id, hostname and idempotency key, so that a retry can find
 * an activation whose issuance was never recorded, and no key reaches AWS as it was sent.
 *
 * @example
 * issuanceRef('tok_abc', 'rack7-db-01', 'boot-1') // '3f1c…' (64 hex characters)
 */
export function issuanceRef(tokenId: string, hostname: string, idempotencyKey: string): string {
  return createHash('sha256').update(JSON.stringify([tokenId, hostname, idempotencyKey])).digest('hex');
}

export interface IssueActivationResult {
  response: ActivationResponse;
  /** Safe to log: ids and names only. */
  tokenId: string;
  hostname: string;
}

/**
 * The life of the activations issued (config `activations.lifetime`), within what `activationRequest` allows: at
 * least a minute, at most AWS's 30 days. The idempotency records that hold their answers live as long.
 *
 * @example
 * activationLifetimeMs(defineConfig({ regions: ['eu-west-1'] })) // 3_600_000 (the default '1h')
 */
export function activationLifetimeMs(config: Pick<OpsautoConfig, 'activations'>): number {
  return Math.min(Math.max(spanMs(parseSpan(config.activations.lifetime, 'activations.lifetime')), 60_000), MAX_ACTIVATION_LIFETIME_MS);
}

/** Idempotency keys: what a boot script can derive from its machine (a machine id, a boot id, a UUID). */
const IDEMPOTENCY_KEY = /^[\w.:@/+=-]{1,64}$/;

/** Seconds a caller waits before retrying after AWS failed us (CreateActivation, the table). */
export const RETRY_AFTER_SECONDS = 5;

const REFUSALS: Record<Exclude<TokenRefusal, 'invalid'>, (token: EnrollmentToken, hostname: string) => ActivationError> = {
  revoked: () => new ActivationError('TokenRevoked', 'the enrollment token was revoked'),
  expired: (t) => new ActivationError('TokenExpired', `the enrollment token expired at ${t.expiresAt}`),
  exhausted: (t) => new ActivationError('TokenExhausted', `the enrollment token has no uses left (${t.maxUses} of ${t.maxUses} used)`),
  'out-of-scope': (t, hostname) => new ActivationError('HostnameOutOfScope', `hostname "${hostname}" is outside the token's scope: it must start with "${t.namePrefix ?? ''}"`, { field: 'hostname' }),
};

/** The token of an `Authorization: Bearer <token>` header, or undefined (scheme case-insensitive, as RFC 6750). */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** The idempotency key as sent, or undefined; a ValidationError naming `idempotencyKey` when it is not one. */
export function parseIdempotencyKey(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
    throw new ValidationError('idempotencyKey: must be 1 to 64 letters, digits or _ . : @ / + = -', 'idempotencyKey');
  }
  return raw;
}

/**
 * Issues an SSM hybrid activation to a booting server that proves an enrollment token (docs/activations.md, "API").
 *
 * In order: a source past its failure limit gets 429 before its token is read; the token is found by its id and its
 * secret compared in constant time (401, the same answer whether the id exists or not, counted as a failure); the
 * hostname and the idempotency key are checked (400); the token's scope (403: revoked, expired, hostname outside
 * the prefix; exhausted too, unless the request carries an idempotency key, whose first answer a retry must still
 * get once the last use is gone); then, claimed once per (token, hostname, key) through `issueOnce` (503
 * RequestInProgress while another request holds the claim): an earlier issuance of the key whose answer was lost
 * withdrawn (409 IdempotencyKeyUsed instead when a node registered with it), one use consumed with a conditional
 * write (403 when it lost), CreateActivation (503 and the use given back when it fails, or when the invocation has
 * less than CREATE_MARGIN_MS left), the issuance recorded (503, the activation deleted and the use given back when
 * that fails).
 *
 * @throws ActivationError with the status and code of each refusal.
 * @example
 * const { response } = await issueActivation(
 *   { authorization: 'Bearer tok_….…', hostname: 'rack7-db-01', idempotencyKey: 'boot-1', sourceIp: '10.0.0.7', userAgent: 'curl/8.5' },
 *   { tokens, issuances, issuer, failures, issueOnce, clock, region: 'eu-west-1', lifetimeMs: 3_600_000 },
 * );
 * // { activationId: '…', activationCode: '…', region: 'eu-west-1', expiresAt: '…', instanceName: 'rack7-db-01' }
 */
export async function issueActivation(input: IssueActivationInput, deps: IssueActivationDeps): Promise<IssueActivationResult> {
  const abandoned = new AbortController();
  return answerInTime(issueWithin(input, { ...deps, abandoned: abandoned.signal }), abandoned, deps.remainingMs);
}

async function issueWithin(input: IssueActivationInput, deps: IssueNewDeps): Promise<IssueActivationResult> {
  const now = deps.clock.now();
  const window = failureWindow(now);
  const credentials = parseToken(bearerToken(input.authorization) ?? '');
  // The counter and the token are read together: the slow-down costs no latency to a server with a good token.
  inTime(deps);
  const [failures, token] = await unavailableOnFailure(() =>
    Promise.all([deps.failures.count(input.sourceIp, window.start), credentials ? deps.tokens.get(credentials.id) : Promise.resolve(undefined)]),
  );
  if (failures >= (deps.badTokenLimit ?? BAD_TOKEN_LIMIT)) {
    throw new ActivationError('TooManyFailures', `too many requests with an invalid token from ${input.sourceIp}; retry in ${window.retryAfterSeconds} s`, {
      retryAfterSeconds: window.retryAfterSeconds,
    });
  }
  if (!credentials || !token || !secretMatches(credentials.secret, token.secretHash)) {
    // A counter that cannot be written does not turn a bad token into a 503.
    await deps.failures.add(input.sourceIp, window.start).catch(() => undefined);
    throw new ActivationError(
      'InvalidToken',
      input.authorization === undefined ? 'the request needs an "Authorization: Bearer <enrollment token>" header' : 'the enrollment token is not valid',
    );
  }

  let hostname: string;
  let idempotencyKey: string | undefined;
  try {
    hostname = parseHostname(input.hostname);
    idempotencyKey = parseIdempotencyKey(input.idempotencyKey);
  } catch (e) {
    if (e instanceof ValidationError) throw new ActivationError('InvalidRequest', e.message, { field: e.field });
    throw e;
  }
  // With a key, uses are left to the conditional use: a replay of the request that took the last one must pass.
  const refusal = tokenRefusal(idempotencyKey === undefined ? token : { ...token, uses: 0 }, hostname, now);
  if (refusal) throw REFUSALS[refusal](token, hostname);

  inTime(deps);
  const issue = () => issueNew(token, hostname, idempotencyKey, input, deps, now);
  const response = idempotencyKey === undefined ? await issue() : await deps.issueOnce({ tokenId: token.id, hostname, idempotencyKey }, issue);
  if (Date.parse(response.expiresAt) <= now.getTime()) {
    // A retry in the moment between the activation's expiry and its idempotency record's.
    throw new ActivationError('IdempotencyKeyUsed', 'the activation issued for this idempotency key has expired; send a new idempotency key', { retryAfterSeconds: 1 });
  }
  return { response, tokenId: token.id, hostname };
}

/**
 * The response of `issuing`, or 503 ServiceUnavailable once less than ANSWER_RESERVE_MS of the invocation is left:
 * `abandoned` is then aborted, and the work left behind stops at its next step or withdraws what it issued.
 */
async function answerInTime<T>(issuing: Promise<T>, abandoned: AbortController, remainingMs: (() => number) | undefined): Promise<T> {
  if (!remainingMs) return issuing;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned.abort();
      reject(new ActivationError('ServiceUnavailable', `the request could not be answered in time; retry in ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS }));
    }, Math.max(0, remainingMs() - ANSWER_RESERVE_MS));
  });
  // What the abandoned work ends with is nobody's answer any more.
  issuing.catch(() => undefined);
  try {
    return await Promise.race([issuing, outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}

type IssueNewDeps = IssueActivationDeps & { abandoned: AbortSignal };

async function issueNew(
  token: EnrollmentToken,
  hostname: string,
  idempotencyKey: string | undefined,
  input: IssueActivationInput,
  deps: IssueNewDeps,
  now: Date,
): Promise<ActivationResponse> {
  // The claim is gone (its Lambda died after CreateActivation, or it expired early) but the issuance is not: its
  // code cannot be shown again. Never two live activations for one key: the lost one is withdrawn first.
  inTime(deps);
  const replacing = idempotencyKey === undefined ? undefined : await withdrawLost(token, hostname, idempotencyKey, input, deps, now);
  inTime(deps);
  const used = await unavailableOnFailure(() => deps.tokens.consumeUse(token.id, now.toISOString()));
  if (!used.ok) throw REFUSALS[used.refusal](token, hostname);

  const request = activationRequest(used.token, hostname, now, deps.lifetimeMs);
  try {
    inTime(deps);
    if (idempotencyKey !== undefined) {
      request.tags[ISSUANCE_TAG] = issuanceRef(token.id, hostname, idempotencyKey);
      // Before CreateActivation: should this request die before it records what it made, a retry looks for it.
      await unavailableOnFailure(() => deps.issuances.markAttempt(token.id, hostname, idempotencyKey, request.expirationDate));
      inTime(deps);
    }
  } catch (e) {
    await giveBack(token.id, deps);
    throw e;
  }
  let created: { activationId: string; activationCode: string };
  try {
    created = await deps.issuer.create(request);
  } catch (e) {
    // Nothing was made (AWS refused or failed the call): the use has no activation to hold.
    await giveBack(token.id, deps);
    throw new ActivationError('ServiceUnavailable', `AWS did not create the activation (${(e as Error).name}); the use was given back, retry in ${RETRY_AFTER_SECONDS} s`, {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }
  const issuance: Issuance = {
    activationId: created.activationId,
    tokenId: token.id,
    tokenName: token.name,
    hostname,
    instanceName: request.defaultInstanceName,
    region: deps.region,
    expiresAt: request.expirationDate,
    issuedAt: now.toISOString(),
    sourceIp: input.sourceIp,
    userAgent: input.userAgent,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  };
  try {
    // Recording again is harmless (the first record stays, missing pointers are written) and spares an activation.
    await retried(() => (replacing === undefined ? deps.issuances.record(issuance) : deps.issuances.replace(issuance, replacing)));
  } catch (e) {
    // Unrecorded, the activation would escape the sweep and the audit trail: take it back.
    const withdrawn = await withdrawUnrecorded(created.activationId, token.id, deps, now);
    throw new ActivationError(
      'ServiceUnavailable',
      `the issuance could not be recorded (${(e as Error).name}); ${withdrawn ? 'the activation was withdrawn' : 'the activation could not be withdrawn and keeps its use'}, retry in ${RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    );
  }
  if (deps.abandoned.aborted) {
    // The caller was told to retry: an activation nobody will hear of is withdrawn rather than left live.
    await withdraw(issuance, deps, now).catch(() => undefined);
    throw new ActivationError('ServiceUnavailable', `the request was abandoned; retry in ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
  return { activationId: created.activationId, activationCode: created.activationCode, region: deps.region, expiresAt: request.expirationDate, instanceName: request.defaultInstanceName };
}

/**
 * 503 with Retry-After when the invocation has less than CREATE_MARGIN_MS left: checked before each step that leads
 * to CreateActivation, so that a request queued behind others answers a retryable 503 instead of timing out (a
 * gateway's 500) and never starts CreateActivation when what follows it may not finish.
 */
function inTime(deps: Pick<IssueActivationDeps, 'remainingMs'> & { abandoned?: AbortSignal }): void {
  if (deps.abandoned?.aborted) {
    throw new ActivationError('ServiceUnavailable', `the request was abandoned; retry in ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
  const left = deps.remainingMs?.();
  if (left !== undefined && left < CREATE_MARGIN_MS) {
    throw new ActivationError('ServiceUnavailable', `the request waited too long to finish in time (${Math.round(left)} ms left); retry in ${RETRY_AFTER_SECONDS} s`, {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }
}

/**
 * The key's earlier issuance whose answer was lost, withdrawn so that a new one can be issued in its place: its
 * activation deleted, the issuance marked deleted, its use given back. Returns its activation id (the pointer to move),
 * or undefined when there is none (or it is withdrawn or expired already). A node that registered with it means the
 * server had the code: 409 IdempotencyKeyUsed then, never a second node for the key.
 */
async function withdrawLost(
  token: EnrollmentToken,
  hostname: string,
  idempotencyKey: string,
  input: IssueActivationInput,
  deps: IssueActivationDeps,
  now: Date,
): Promise<string | undefined> {
  const find = () => unavailableOnFailure(() => deps.issuances.findByIdempotencyKey(token.id, hostname, idempotencyKey));
  let earlier = await find();
  if (!earlier && (await recordUnrecorded(token, hostname, idempotencyKey, input, deps, now))) earlier = await find();
  if (!earlier || Date.parse(earlier.expiresAt) <= now.getTime()) return undefined;
  const registrations = earlier.managedNodeId !== undefined ? 1 : earlier.deletedAt !== undefined ? 0 : await unavailableOnFailure(() => deps.issuer.registrations(earlier.activationId));
  if (registrations > 0) {
    throw new ActivationError('IdempotencyKeyUsed', `a node registered with the activation issued for this idempotency key (${earlier.activationId}); send a new idempotency key`);
  }
  // Withdrawn already (by a retry, or by the request that could not record it), and its use given back then.
  if (earlier.deletedAt === undefined) await unavailableOnFailure(() => withdraw(earlier, deps, now));
  return earlier.activationId;
}

/**
 * A recorded issuance withdrawn: its activation deleted first (a crash after it leaves an issuance whose activation
 * is gone, which the next retry withdraws again), then the issuance marked deleted, and the use given back by the
 * writer that marked it only (once per activation, whoever else withdraws it too).
 */
async function withdraw(issuance: Issuance, deps: Pick<IssueActivationDeps, 'issuer' | 'issuances' | 'tokens'>, now: Date): Promise<void> {
  await retried(() => deps.issuer.delete(issuance.activationId));
  const marked = await retried(() => deps.issuances.updateOnce(issuance.activationId, { deletedAt: now.toISOString() }));
  if (marked) await giveBack(issuance.tokenId, deps);
}

/**
 * After a request with this key died between CreateActivation and its record (its mark says it got that far), the
 * activations it made are found by their ISSUANCE_TAG and recorded as it would have recorded them, so that the
 * usual path withdraws them: the key's pointer names the first; any other is withdrawn here. True when one was found.
 */
async function recordUnrecorded(token: EnrollmentToken, hostname: string, idempotencyKey: string, input: IssueActivationInput, deps: IssueActivationDeps, now: Date): Promise<boolean> {
  if (!(await unavailableOnFailure(() => deps.issuances.attempted(token.id, hostname, idempotencyKey, now.toISOString())))) return false;
  const found = await unavailableOnFailure(() => deps.issuer.findIssued(hostname, issuanceRef(token.id, hostname, idempotencyKey)));
  const live = found.filter((a) => Date.parse(a.expiresAt) > now.getTime()).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.activationId.localeCompare(b.activationId));
  for (const [i, a] of live.entries()) {
    const issuance: Issuance = {
      activationId: a.activationId,
      tokenId: token.id,
      tokenName: token.name,
      hostname,
      instanceName: hostname,
      region: deps.region,
      expiresAt: a.expiresAt,
      issuedAt: a.createdAt,
      sourceIp: input.sourceIp,
      userAgent: 'opsauto: recorded by a retry (the request that issued it ended before recording it)',
      idempotencyKey,
    };
    await unavailableOnFailure(() => retried(() => deps.issuances.record(issuance)));
    // The first stays for withdrawLost, which checks its registrations; a later one has no pointer to be found by.
    if (i > 0 && a.registrations === 0) await unavailableOnFailure(() => withdraw(issuance, deps, now));
  }
  return live.length > 0;
}

/**
 * The activation of an issuance that could not be recorded, withdrawn: deleted, its issuance (if a write of it got
 * through) marked deleted, and then its use given back. The use stays with an activation that could not be deleted
 * (it is live: an issuance recorded in part is withdrawn by a retry with the key, or deleted by the sweep when it
 * expires), and with one whose issuance may exist unmarked (the retry that withdraws it gives the use back). False
 * when the activation may still be live.
 */
async function withdrawUnrecorded(activationId: string, tokenId: string, deps: IssueActivationDeps, now: Date): Promise<boolean> {
  try {
    await retried(() => deps.issuer.delete(activationId));
  } catch {
    return false;
  }
  const marked = await retried(() => deps.issuances.updateOnce(activationId, { deletedAt: now.toISOString() })).catch((e: unknown) =>
    // Never written: nothing can find it, nothing else gives its use back.
    e instanceof NotFoundError ? true : undefined,
  );
  if (marked === true) await giveBack(tokenId, deps);
  return true;
}

/** Attempts of a write that undoes or completes a step (the SDK retries each with back-off already). */
const WRITE_ATTEMPTS = 3;

/** `write`, tried up to WRITE_ATTEMPTS times while it throws anything but a NotFoundError (the last error thrown). */
async function retried<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (attempt >= WRITE_ATTEMPTS || e instanceof NotFoundError) throw e;
    }
  }
}

/**
 * Gives one use back, for an activation that is certainly not live (never made, or deleted and marked so by this
 * caller). A give-back that fails every attempt leaves the use consumed: the token then allows one activation fewer,
 * never one more.
 */
async function giveBack(tokenId: string, deps: Pick<IssueActivationDeps, 'tokens'>): Promise<void> {
  await retried(() => deps.tokens.releaseUse(tokenId)).catch(() => undefined);
}

/** A store that failed is AWS failing us: 503 with a retry hint rather than a 500. */
async function unavailableOnFailure<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw new ActivationError('ServiceUnavailable', `the state table did not answer (${(e as Error).name}); retry in ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
}

/**
 * IssueOnce in memory, with the Powertools adapter's semantics: a key is claimed before `issue` runs, a second
 * call during it is refused (RequestInProgress), a failure drops the claim, a result is kept for `ttlMs`.
 */
export class InMemoryIssueOnce {
  private readonly records = new Map<string, { response?: ActivationResponse; expiresAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  readonly run: IssueOnce = async (key, issue) => {
    const id = JSON.stringify([key.tokenId, key.hostname, key.idempotencyKey]);
    const now = this.clock.now().getTime();
    const existing = this.records.get(id);
    if (existing && existing.expiresAt > now) {
      if (existing.response) return structuredClone(existing.response);
      throw new ActivationError('RequestInProgress', 'a request with this idempotency key is being served; retry in 1 s', { retryAfterSeconds: 1 });
    }
    this.records.set(id, { expiresAt: now + this.ttlMs });
    try {
      const response = await issue();
      this.records.set(id, { response: structuredClone(response), expiresAt: now + this.ttlMs });
      return response;
    } catch (e) {
      this.records.delete(id);
      throw e;
    }
  };
}
