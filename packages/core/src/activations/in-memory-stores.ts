import { ConflictError, NotFoundError } from '../errors.js';
import type { EnrollmentToken, Issuance, IssuanceChanges, IssuanceStore, TokenStore } from './ports.js';

/** TokenStore in memory, with the DynamoDB store's conditional-use semantics (tests, and the stores' contract). */
export class InMemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, EnrollmentToken>();

  create(token: EnrollmentToken): Promise<void> {
    if (this.tokens.has(token.id)) return Promise.reject(new ConflictError(`token ${token.id} exists`));
    this.tokens.set(token.id, structuredClone(token));
    return Promise.resolve();
  }

  get(id: string): Promise<EnrollmentToken | undefined> {
    const token = this.tokens.get(id);
    return Promise.resolve(token && structuredClone(token));
  }

  list(): Promise<EnrollmentToken[]> {
    return Promise.resolve(structuredClone([...this.tokens.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))));
  }

  revoke(id: string, at: string, by: string): Promise<EnrollmentToken> {
    const token = this.tokens.get(id);
    if (!token) return Promise.reject(new NotFoundError(`no token ${id}`));
    if (token.revokedAt === undefined) Object.assign(token, { revokedAt: at, revokedBy: by });
    return Promise.resolve(structuredClone(token));
  }

  consumeUse(id: string, now: string): ReturnType<TokenStore['consumeUse']> {
    const token = this.tokens.get(id);
    if (!token) return Promise.reject(new NotFoundError(`no token ${id}`));
    if (token.revokedAt !== undefined) return Promise.resolve({ ok: false, refusal: 'revoked' });
    if (token.expiresAt <= now) return Promise.resolve({ ok: false, refusal: 'expired' });
    if (token.uses >= token.maxUses) return Promise.resolve({ ok: false, refusal: 'exhausted' });
    token.uses++;
    return Promise.resolve({ ok: true, token: structuredClone(token) });
  }

  releaseUse(id: string): Promise<void> {
    const token = this.tokens.get(id);
    if (token && token.uses > 0) token.uses--;
    return Promise.resolve();
  }
}

/** IssuanceStore in memory (tests, and the stores' contract). */
export class InMemoryIssuanceStore implements IssuanceStore {
  private readonly issuances = new Map<string, Issuance>();
  /** Withdrawn activation id -> the activation that replaced it under the same idempotency key. */
  private readonly replaced = new Map<string, string>();
  /** Attempt marks: JSON of [token id, hostname, key] -> when the mark expires. */
  private readonly attempts = new Map<string, string>();

  markAttempt(tokenId: string, hostname: string, idempotencyKey: string, expiresAt: string): Promise<void> {
    this.attempts.set(JSON.stringify([tokenId, hostname, idempotencyKey]), expiresAt);
    return Promise.resolve();
  }

  attempted(tokenId: string, hostname: string, idempotencyKey: string, now: string): Promise<boolean> {
    const expiresAt = this.attempts.get(JSON.stringify([tokenId, hostname, idempotencyKey]));
    return Promise.resolve(expiresAt !== undefined && expiresAt > now);
  }

  record(issuance: Issuance): Promise<void> {
    if (!this.issuances.has(issuance.activationId)) this.issuances.set(issuance.activationId, structuredClone(issuance));
    return Promise.resolve();
  }

  replace(issuance: Issuance, replacing: string): Promise<void> {
    this.replaced.set(replacing, issuance.activationId);
    return this.record(issuance);
  }

  findByIdempotencyKey(tokenId: string, hostname: string, idempotencyKey: string): Promise<Issuance | undefined> {
    let found = [...this.issuances.values()].find((i) => i.tokenId === tokenId && i.hostname === hostname && i.idempotencyKey === idempotencyKey);
    // The key's pointer follows replacements (the first issuance of a key keeps it otherwise).
    while (found && this.replaced.has(found.activationId)) found = this.issuances.get(this.replaced.get(found.activationId)!);
    return Promise.resolve(found && structuredClone(found));
  }

  list(options: { tokenId?: string; limit?: number } = {}): Promise<Issuance[]> {
    const all = [...this.issuances.values()].filter((i) => options.tokenId === undefined || i.tokenId === options.tokenId);
    all.sort((a, b) => b.issuedAt.localeCompare(a.issuedAt) || b.activationId.localeCompare(a.activationId));
    return Promise.resolve(structuredClone(all.slice(0, options.limit ?? 100)));
  }

  listOpen(): Promise<Issuance[]> {
    const open = [...this.issuances.values()].filter((i) => i.deletedAt === undefined);
    open.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.activationId.localeCompare(b.activationId));
    return Promise.resolve(structuredClone(open));
  }

  updateOnce(activationId: string, changes: IssuanceChanges): Promise<boolean> {
    const issuance = this.issuances.get(activationId);
    if (!issuance) return Promise.reject(new NotFoundError(`no issuance of activation ${activationId}`));
    const fields = Object.entries(changes).filter(([, v]) => v !== undefined).map(([k]) => k as keyof IssuanceChanges);
    if (fields.some((f) => issuance[f] !== undefined)) return Promise.resolve(false);
    Object.assign(issuance, structuredClone(changes));
    return Promise.resolve(true);
  }

  update(activationId: string, changes: IssuanceChanges): Promise<void> {
    const issuance = this.issuances.get(activationId);
    if (!issuance) return Promise.reject(new NotFoundError(`no issuance of activation ${activationId}`));
    Object.assign(issuance, structuredClone(changes));
    return Promise.resolve();
  }
}
