import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { ActivationRequest, EnrollmentToken, TokenRefusal } from './ports.js';

/** AWS's limit on an activation's life (CreateActivation ExpirationDate). */
export const MAX_ACTIVATION_LIFETIME_MS = 30 * 86_400_000;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const base32 = (bytes: Buffer) => [...bytes].map((b) => BASE32[b & 31]).join('');

/** Token strings are `<id>.<secret>`: the id finds the record, the secret (43 base64url characters, 256 bits) proves it. */
const TOKEN = /^(tok_[a-z2-7]{16})\.([A-Za-z0-9_-]{43})$/;

/**
 * A new token: the string shown once to the operator, and the id and hash that are stored.
 *
 * @example
 * const { token, id, secretHash } = newToken();
 * // token 'tok_q3k…\.Zx9…' (shown once), id 'tok_q3k…', secretHash '5e88…' (stored)
 */
export function newToken(random: (n: number) => Buffer = randomBytes): { token: string; id: string; secretHash: string } {
  const id = `tok_${base32(random(16))}`;
  const secret = random(32).toString('base64url');
  return { token: `${id}.${secret}`, id, secretHash: hashSecret(secret) };
}

/** Hex SHA-256 of a token's secret part (a 256-bit random secret needs no slow hash). */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** The id and secret of a token string, or undefined when it is not one (a 401, without a store read). */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(token.trim());
  return m ? { id: m[1], secret: m[2] } : undefined;
}

/** Whether `secret` is the one whose hash is stored, in constant time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A hostname as servers send it: lowercased, RFC 1123 labels, at most 253 characters. */
export function parseHostname(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new ValidationError('hostname: required (the server\'s hostname)', 'hostname');
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  if (host.length > 253 || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(host)) {
    throw new ValidationError('hostname: must be a DNS hostname (letters, digits and hyphens in dot-separated labels of at most 63, 253 in all)', 'hostname');
  }
  return host;
}

/** Why the token cannot issue an activation for `hostname` at `now`, or undefined when it can. */
export function tokenRefusal(token: EnrollmentToken, hostname: string, now: Date): Exclude<TokenRefusal, 'invalid'> | undefined {
  if (token.revokedAt !== undefined) return 'revoked';
  if (Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  if (token.uses >= token.maxUses) return 'exhausted';
  if (token.namePrefix !== undefined && !hostname.startsWith(token.namePrefix)) return 'out-of-scope';
  return undefined;
}

/**
 * The CreateActivation request for one server: RegistrationLimit 1, an expiry `lifetimeMs` from now (at least a
 * minute, at most AWS's 30 days; a token that expires later does not cancel what it issued), the hostname as
 * instance name, the token's tags plus `opsauto:hostname` and `opsauto:token`.
 *
 * @example
 * activationRequest(token, 'rack7-db-01', new Date('2027-01-01T00:00:00Z'), 3_600_000)
 * // { iamRole: 'SSMServiceRole', registrationLimit: 1, expirationDate: '2027-01-01T01:00:00.000Z', defaultInstanceName: 'rack7-db-01', … }
 */
export function activationRequest(token: EnrollmentToken, hostname: string, now: Date, lifetimeMs: number): ActivationRequest {
  const life = Math.min(Math.max(lifetimeMs, 60_000), MAX_ACTIVATION_LIFETIME_MS);
  return {
    iamRole: token.iamRole,
    registrationLimit: 1,
    expirationDate: new Date(now.getTime() + life).toISOString(),
    defaultInstanceName: hostname,
    description: description(hostname, token),
    tags: { ...token.tags, 'opsauto:hostname': hostname, 'opsauto:token': token.name },
  };
}

/** CreateActivation's Description (at most 256 characters): a hostname too long to fit is left to the instance name and tags. */
function description(hostname: string, token: EnrollmentToken): string {
  const full = `opsauto: ${hostname} via token ${token.name} (${token.id})`;
  return (full.length <= 256 ? full : `opsauto: via token ${token.name} (${token.id})`).slice(0, 256);
}
