import { describePolicy, formatSpan, spanMs, type ParameterPolicy, type PolicySpan } from './policy.js';

/** A parameter as DescribeParameters lists it (the value is never read), with its tags when they were read. */
export interface ParameterSummary {
  name: string;
  type: string;
  tier: string;
  version: number;
  /** ISO 8601. */
  lastModifiedDate: string;
  lastModifiedUser?: string;
  description?: string;
  /** Its policies, parsed (policies this code does not know are left out). */
  policies: ParameterPolicy[];
  tags?: Record<string, string>;
}

/** What kind of notice a deadline asks for: AWS's policy types, whose names the notices keep. */
export type DeadlineKind = 'ExpirationNotification' | 'NoChangeNotification' | 'Expiration';

/**
 * One notice a parameter is due to get: a reminder before its expiry, a no-change notice, or its expiry itself.
 * `source` says whether an advanced-tier policy asks for it (AWS also acts on it) or the expiry tag of a
 * standard-tier parameter (only opsauto does).
 */
export interface Deadline {
  parameter: string;
  kind: DeadlineKind;
  source: 'policy' | 'tag';
  /** When the notice is due (ISO 8601). */
  dueAt: string;
  /** When the parameter expires, for expiry reminders and expirations (ISO 8601). */
  expiresAt?: string;
  /** The policy in words (`notify 15d before expiry`; `tag opsauto:expires-at=2027-03-01, notify 15d before`). */
  policy: string;
}

export interface DeadlineOptions {
  /** Tag of a standard-tier parameter holding its expiry: `2027-03-01` (midnight UTC) or an ISO 8601 time. */
  expiryTag: string;
  /** Reminders before a tagged expiry (the tag's stand-in for ExpirationNotification policies). */
  tagReminders: readonly PolicySpan[];
}

/** The time a tag value names: YYYY-MM-DD (midnight UTC) or a full ISO 8601 time; undefined for anything else. */
export function tagExpiry(value: string): Date | undefined {
  const v = value.trim();
  const text = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t) : undefined;
}

/**
 * Every notice a parameter's policies (or, without an Expiration policy, its expiry tag) ask for, as this code
 * computes them: AWS applies policies by asynchronous periodic scans, so the daily sweep does not wait for AWS's
 * events to know what is due.
 * - Expiration at T: an `Expiration` notice due at T; each ExpirationNotification of N before: a reminder due at T - N.
 * - NoChangeNotification of N: due at lastModifiedDate + N (a change moves it).
 * - Expiry tag (no Expiration policy): the same, with `tagReminders` as the reminders; `source: 'tag'`.
 * Sorted by due time.
 *
 * @example
 * parameterDeadlines({ name: '/db/password', ..., lastModifiedDate: '2026-12-01T00:00:00Z',
 *   policies: [{ type: 'Expiration', expiresAt: '2027-03-01T00:00:00.000Z' }, { type: 'ExpirationNotification', before: { amount: 15, unit: 'Days' } }] },
 *   { expiryTag: 'opsauto:expires-at', tagReminders: [] })
 * // [{ kind: 'ExpirationNotification', dueAt: '2027-02-14T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z', ... },
 * //  { kind: 'Expiration', dueAt: '2027-03-01T00:00:00.000Z', ... }]
 */
export function parameterDeadlines(parameter: ParameterSummary, options: DeadlineOptions): Deadline[] {
  const out: Deadline[] = [];
  const add = (kind: DeadlineKind, source: Deadline['source'], dueAt: number, policy: string, expiresAt?: number) => {
    if (!Number.isFinite(dueAt)) return;
    out.push({ parameter: parameter.name, kind, source, dueAt: new Date(dueAt).toISOString(), ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}), policy });
  };
  const expiration = parameter.policies.find((p) => p.type === 'Expiration');
  if (expiration) {
    const at = Date.parse(expiration.expiresAt);
    add('Expiration', 'policy', at, describePolicy(expiration), at);
    for (const p of parameter.policies) if (p.type === 'ExpirationNotification') add('ExpirationNotification', 'policy', at - spanMs(p.before), describePolicy(p), at);
  } else {
    const value = parameter.tags?.[options.expiryTag];
    const at = value === undefined ? undefined : tagExpiry(value)?.getTime();
    if (at !== undefined) {
      const tag = `tag ${options.expiryTag}=${value}`;
      add('Expiration', 'tag', at, tag, at);
      for (const r of options.tagReminders) add('ExpirationNotification', 'tag', at - spanMs(r), `${tag}, notify ${formatSpan(r)} before`, at);
    }
  }
  const modified = Date.parse(parameter.lastModifiedDate);
  for (const p of parameter.policies) if (p.type === 'NoChangeNotification') add('NoChangeNotification', 'policy', modified + spanMs(p.after), describePolicy(p));
  return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.kind.localeCompare(b.kind));
}

/** Deadlines due at or before `now`: what a sweep sends when no notice was recorded for them. */
export function dueDeadlines(deadlines: readonly Deadline[], now: Date): Deadline[] {
  return deadlines.filter((d) => Date.parse(d.dueAt) <= now.getTime());
}

/** Deadlines whose due time or expiry falls in (now, now + withinMs]: what `params expiring` and the digest list. */
export function upcomingDeadlines(deadlines: readonly Deadline[], now: Date, withinMs: number): Deadline[] {
  const end = now.getTime() + withinMs;
  return deadlines.filter((d) => {
    const t = Date.parse(d.kind === 'Expiration' ? d.dueAt : (d.expiresAt ?? d.dueAt));
    const due = Date.parse(d.dueAt);
    return (due > now.getTime() && due <= end) || (t > now.getTime() && t <= end);
  });
}
