import { ValidationError } from '../errors.js';
import type { EnrollmentToken } from './ports.js';
import { newToken } from './tokens.js';

/** What an operator asks for (`opsauto tokens create`); absent fields take the defaults. */
export interface TokenOptions {
  name: string;
  role?: string;
  maxUses?: number | string;
  expiresIn?: string;
  namePrefix?: string;
  /** `key=value` each. */
  tags?: readonly string[];
}

/** The stage's defaults and the roles a token may name. */
export interface TokenDefaults {
  /** The stage's own hybrid-node role (`hybridNodeRoleName`): the default, always allowed. */
  defaultRole: string;
  /** Config `activations.iamRoles`: the other roles a token may name. */
  allowedRoles: readonly string[];
  maxUses: number;
  expiresIn: string;
}

export const MAX_TOKEN_USES = 100_000;
/** A token lives at most this long: it is a boot credential, not an account. */
export const MAX_TOKEN_LIFETIME_MS = 365 * 86_400_000;
/** An activation carries at most 50 tags (AWS); opsauto adds `opsauto:hostname` and `opsauto:token`. */
export const MAX_TOKEN_TAGS = 48;
/** Tag keys opsauto sets itself on each activation and node. */
export const RESERVED_TAG_KEYS = ['opsauto:hostname', 'opsauto:token'] as const;

/** Letters, numbers, spaces and `_.:/=+-@`: what SSM takes in a tag key or value (the token name becomes a tag value). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const PREFIX = /^[a-z0-9][a-z0-9.-]{0,62}$/;

/**
 * Reads `<n>d` or `<n>h` (n from 1) as milliseconds, at most a year.
 *
 * @throws ValidationError naming `field`
 */
export function tokenLifetimeMs(text: string, field = 'expiresIn'): number {
  const m = /^(\d{1,6})([dh])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'd' ? 86_400_000 : 3_600_000) : 0;
  if (!m || ms < 3_600_000) throw new ValidationError(`${field}: ${JSON.stringify(text)} is not a span such as 7d or 12h (whole days or hours, at least 1h)`, field);
  if (ms > MAX_TOKEN_LIFETIME_MS) throw new ValidationError(`${field}: ${text} is longer than a token may live (365d)`, field);
  return ms;
}

function maxUsesOf(value: number | string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TOKEN_USES) throw new ValidationError(`maxUses: must be a whole number from 1 to ${MAX_TOKEN_USES} (got ${String(value)})`, 'maxUses');
  return n;
}

function tagsOf(pairs: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new ValidationError(`tag: ${JSON.stringify(pair)} is not key=value`, 'tag');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key.length > 128 || !TAG_CHARS.test(key) || /^aws:/i.test(key)) {
      throw new ValidationError(`tag: key ${JSON.stringify(key)} must be 1-128 letters, numbers, spaces or _.:/=+-@, not starting with aws:`, 'tag');
    }
    if ((RESERVED_TAG_KEYS as readonly string[]).includes(key)) throw new ValidationError(`tag: ${key} is set by opsauto on each activation`, 'tag');
    if (value.length > 256 || !TAG_CHARS.test(value)) throw new ValidationError(`tag: the value of ${key} must be at most 256 letters, numbers, spaces or _.:/=+-@`, 'tag');
    if (key in tags) throw new ValidationError(`tag: ${key} is given twice`, 'tag');
    tags[key] = value;
  }
  if (Object.keys(tags).length > MAX_TOKEN_TAGS) throw new ValidationError(`tag: at most ${MAX_TOKEN_TAGS} tags (an activation takes 50, opsauto adds 2)`, 'tag');
  return tags;
}

/**
 * A new enrollment token from an operator's options: every option checked before anything is made (a ValidationError
 * whose `field` is the option's name), then the token string, shown once, and the record to store (its secret's hash
 * only, no uses yet).
 *
 * @example
 * const { token, record } = enrollmentToken({ name: 'rack-7', namePrefix: 'rack7-', tags: ['env=onprem'] },
 *   { defaultRole: 'opsauto-prod-hybrid-node', allowedRoles: [], maxUses: 10, expiresIn: '7d' }, now, 'cli');
 * // token 'tok_….…' (print once), record { id: 'tok_…', secretHash: '…', maxUses: 10, expiresAt: now + 7d, … }
 */
export function enrollmentToken(options: TokenOptions, defaults: TokenDefaults, now: Date, createdBy: string): { token: string; record: EnrollmentToken } {
  const name = options.name.trim();
  if (name.length < 1 || name.length > 64 || !TAG_CHARS.test(name)) {
    throw new ValidationError('name: must be 1-64 letters, numbers, spaces or _.:/=+-@ (it becomes the opsauto:token tag)', 'name');
  }
  const role = options.role ?? defaults.defaultRole;
  if (!ROLE_NAME.test(role)) throw new ValidationError(`role: ${JSON.stringify(role)} is not an IAM role name`, 'role');
  if (role !== defaults.defaultRole && !defaults.allowedRoles.includes(role)) {
    throw new ValidationError(
      `role: ${role} is not the stage's hybrid-node role (${defaults.defaultRole}) nor in config activations.iamRoles${defaults.allowedRoles.length ? ` (${defaults.allowedRoles.join(', ')})` : ''}: the issuer may pass only those to SSM`,
      'role',
    );
  }
  const maxUses = maxUsesOf(options.maxUses ?? defaults.maxUses);
  const lifetime = tokenLifetimeMs(options.expiresIn ?? defaults.expiresIn);
  let namePrefix: string | undefined;
  if (options.namePrefix !== undefined) {
    namePrefix = options.namePrefix.trim().toLowerCase();
    if (!PREFIX.test(namePrefix)) throw new ValidationError(`namePrefix: ${JSON.stringify(options.namePrefix)} must be the start of a hostname: 1-63 letters, digits, dots or hyphens, from a letter or digit`, 'namePrefix');
  }
  const tags = tagsOf(options.tags ?? []);
  const made = newToken();
  return {
    token: made.token,
    record: {
      id: made.id,
      name,
      secretHash: made.secretHash,
      iamRole: role,
      ...(namePrefix !== undefined ? { namePrefix } : {}),
      tags,
      maxUses,
      uses: 0,
      createdAt: now.toISOString(),
      createdBy,
      expiresAt: new Date(now.getTime() + lifetime).toISOString(),
    },
  };
}
