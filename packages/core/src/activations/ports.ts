/**
 * The hybrid activation issuer's records and ports (docs/activations.md). Secrets never live in a record: a token is
 * stored as a hash of its secret, and an activation code is returned to the server once and never stored or logged.
 */

/** An enrollment token as stored: its scope and counters, never its secret. */
export interface EnrollmentToken {
  /** `tok_` + 16 lowercase base32 characters; also the first part of the token string (`<id>.<secret>`). */
  id: string;
  /** The operator's label, unique only by convention (`rack-7`). */
  name: string;
  /** Hex SHA-256 of the token's secret part. */
  secretHash: string;
  /** The IAM service role CreateActivation names (`IamRole`: a role name, e.g. `SSMServiceRole`). */
  iamRole: string;
  /** Servers' hostnames must start with this (lowercase); the instance name is the hostname. */
  namePrefix?: string;
  /** Tags put on each activation and, once it registers, on the managed node (besides hostname and token name). */
  tags: Record<string, string>;
  maxUses: number;
  /** Uses consumed so far; never more than maxUses (a conditional write). */
  uses: number;
  createdAt: string;
  /** Who created it (the operator's ARN or `cli`). */
  createdBy: string;
  expiresAt: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** One activation issued to a booting server: what the audit trail and the clean-up sweep read. */
export interface Issuance {
  activationId: string;
  tokenId: string;
  tokenName: string;
  hostname: string;
  /** `DefaultInstanceName` of the activation (the hostname). */
  instanceName: string;
  region: string;
  /** When the activation expires (ExpirationDate). */
  expiresAt: string;
  issuedAt: string;
  sourceIp: string;
  userAgent: string;
  /** The caller's idempotency key, when it sent one. */
  idempotencyKey?: string;
  /** The managed node (`mi-…`) once the server registered, set by the sweep. */
  managedNodeId?: string;
  registeredAt?: string;
  /** The sweep deleted the activation (expired, or used up by its one registration). */
  deletedAt?: string;
  /** The sweep reported that no node registered within the activation's life. */
  unregisteredReportedAt?: string;
}

/** Why a token cannot be used now (403), or was not recognised (401). */
export type TokenRefusal = 'invalid' | 'revoked' | 'expired' | 'exhausted' | 'out-of-scope';

export interface TokenStore {
  /** Stores a new token; fails (ConflictError) if the id exists. */
  create(token: EnrollmentToken): Promise<void>;
  get(id: string): Promise<EnrollmentToken | undefined>;
  /** Every token, newest first (ties: greater id first; an operator has tens, not thousands). */
  list(): Promise<EnrollmentToken[]>;
  /** Marks the token revoked; NotFoundError when it does not exist; revoking twice keeps the first time. */
  revoke(id: string, at: string, by: string): Promise<EnrollmentToken>;
  /**
   * Consumes one use with a conditional write: succeeds only while the token is not revoked, not expired at `now`
   * and `uses < maxUses`. Returns the token after the use, or the refusal when the condition failed.
   */
  consumeUse(id: string, now: string): Promise<{ ok: true; token: EnrollmentToken } | { ok: false; refusal: Exclude<TokenRefusal, 'invalid' | 'out-of-scope'> }>;
  /** Gives a use back (CreateActivation failed after the use was consumed). */
  releaseUse(id: string): Promise<void>;
}

/** What the sweep and the issuer record on an issuance after it was issued. */
export type IssuanceChanges = Partial<Pick<Issuance, 'managedNodeId' | 'registeredAt' | 'deletedAt' | 'unregisteredReportedAt'>>;

export interface IssuanceStore {
  /** Records an issuance (a conditional put on the activation id: recording it twice keeps the first). */
  record(issuance: Issuance): Promise<void>;
  /**
   * Records `issuance` in place of the withdrawn `replacing` (an activation whose code was lost): the idempotency
   * pointer of its key moves to the new issuance only while it still names `replacing`.
   */
  replace(issuance: Issuance, replacing: string): Promise<void>;
  /** The issuance a retried request must get again: same token, hostname and idempotency key. */
  findByIdempotencyKey(tokenId: string, hostname: string, idempotencyKey: string): Promise<Issuance | undefined>;
  /** Issuances, newest first (ties: greater activation id first), optionally of one token; 100 without a limit. */
  list(options?: { tokenId?: string; limit?: number }): Promise<Issuance[]>;
  /** Issuances whose activation was not deleted yet (what the sweep looks at), soonest expiry first. */
  listOpen(): Promise<Issuance[]>;
  update(activationId: string, changes: IssuanceChanges): Promise<void>;
  /**
   * Applies `changes` only while none of their fields is set on the issuance (a conditional write): true when this
   * call applied them, false when another writer (a sweep running at the same time) had set one. NotFoundError when
   * the issuance does not exist.
   */
  updateOnce(activationId: string, changes: IssuanceChanges): Promise<boolean>;
  /**
   * Notes, before CreateActivation, that a request with this key is about to issue an activation (kept until
   * `expiresAt`, the activation's own expiry): a later request with the key that finds no issuance then knows that an
   * activation may exist unrecorded (its Lambda died between CreateActivation and the record) and looks for it.
   */
  markAttempt(tokenId: string, hostname: string, idempotencyKey: string, expiresAt: string): Promise<void>;
  /** Whether `markAttempt` was called for the key and its mark has not expired at `now`. */
  attempted(tokenId: string, hostname: string, idempotencyKey: string, now: string): Promise<boolean>;
}

/** What CreateActivation needs, computed per request (`activationRequest`). */
export interface ActivationRequest {
  iamRole: string;
  registrationLimit: 1;
  expirationDate: string;
  defaultInstanceName: string;
  description: string;
  tags: Record<string, string>;
}

export interface ActivationIssuer {
  /** CreateActivation; the code is returned once and must never be stored or logged. */
  create(request: ActivationRequest): Promise<{ activationId: string; activationCode: string }>;
  delete(activationId: string): Promise<void>;
  /** RegistrationsCount of the activation (DescribeActivations); 0 when it is gone. */
  registrations(activationId: string): Promise<number>;
  /**
   * The live activations for `instanceName` that carry the tag ISSUANCE_TAG with value `ref` (DescribeActivations
   * filtered by DefaultInstanceName, every page): what an issuance key made, recorded or not.
   */
  findIssued(instanceName: string, ref: string): Promise<FoundActivation[]>;
}

/** An activation as DescribeActivations reports it (no code: AWS never shows it again). */
export interface FoundActivation {
  activationId: string;
  expiresAt: string;
  createdAt: string;
  registrations: number;
}

/** A managed node as the sweep sees it (DescribeInstanceInformation). */
export interface ManagedNode {
  id: string;
  activationId?: string;
  name?: string;
  registeredAt?: string;
  lastPingAt?: string;
  pingStatus?: string;
}

/**
 * The managed nodes as the clean-up sweep reads and changes them (DescribeInstanceInformation, AddTagsToResource,
 * DeregisterManagedInstance on `ManagedInstance` resources).
 */
export interface ManagedNodeDirectory {
  /** The managed nodes registered with any of `activationIds` (every page). */
  nodesOfActivations(activationIds: readonly string[]): Promise<ManagedNode[]>;
  /** Hybrid (`mi-`) nodes carrying the tag key `tagKey`, page by page. */
  nodesTagged(tagKey: string): AsyncIterable<ManagedNode[]>;
  /** Adds (or overwrites) tags on a managed node. */
  tag(nodeId: string, tags: Record<string, string>): Promise<void>;
  /** Deregisters a managed node; one already gone is fine: false then (another run or a person deregistered it). */
  deregister(nodeId: string): Promise<boolean>;
}
