import { ValidationError } from '../errors.js';
import { tagExpiry } from './deadlines.js';
import { describePolicy, formatSpan, MAX_POLICIES, parseSpan, spanMs, type ParameterPolicy, type PolicySpan } from './policy.js';

// Applying policies the way Parameter Store takes them: a PutParameter with `Policies` replaces the whole set, so a
// request is merged with what the parameter already has unless the operator asks to replace it. Everything is
// checked here, before any call: AWS applies policies by asynchronous scans, and a policy it cannot act on (an
// expiry in the past, a reminder due before now) is only noticed when nothing warns anyone any more.

/** What an operator asks for, as the CLI (or an automation) writes it. */
export interface PolicyRequest {
  /** Absolute expiry: `2027-03-01` (midnight UTC) or an ISO 8601 time. Not with `expiresIn`. */
  expires?: string;
  /** Expiry this long from now: `90d`, `12h`. Not with `expires`. */
  expiresIn?: string;
  /** A reminder this long before the expiry, each: `15d`, `1d`, `12h`. */
  notifyBefore?: readonly string[];
  /** A notice when the parameter has not changed for this long: `30d`. */
  noChangeAfter?: string;
  /** The request is the whole new set: the parameter's other policies are dropped. */
  replace?: boolean;
  /** Remove every policy (no other field may be given). */
  clear?: boolean;
}

/** The parameter as the plan needs it: its tier and its current policies (never its value). */
export interface PolicyTarget {
  name: string;
  /** `Standard` or `Advanced`, as DescribeParameters reports it. */
  tier: string;
  policies: readonly ParameterPolicy[];
}

/** What applying a request would write, and what it means for the parameter's tier. */
export interface PolicyPlan {
  parameter: string;
  /** The whole new set (what PutParameter's `Policies` will hold); empty when clearing. */
  policies: ParameterPolicy[];
  /** The set it replaces. */
  previous: ParameterPolicy[];
  /** Policies in the new set that were not in the old one, and old ones the new set drops, in words. */
  added: string[];
  removed: string[];
  /** The new set is the old one: nothing to write. */
  unchanged: boolean;
  /** Policies need the advanced tier; true when the new set has any. */
  needsAdvanced: boolean;
  /** The parameter is standard-tier and must be upgraded (irreversible, charged) to hold the new set. */
  upgrade: boolean;
  /** The tier to write: Advanced when the set needs it, else the parameter's own (an advanced one stays advanced). */
  tier: 'Standard' | 'Advanced';
}

/** What the advanced tier costs and means, said before an upgrade. */
export const ADVANCED_TIER_NOTE =
  'Parameter policies need the advanced tier. Advanced parameters are charged $0.05 per parameter per month (prorated hourly), ' +
  'and a parameter cannot go back to the standard tier once it is advanced (only deleting and recreating it does).';

/** Two policies ask for the same thing (same type and the same time or span, whatever its unit). */
function samePolicy(a: ParameterPolicy, b: ParameterPolicy): boolean {
  if (a.type === 'Expiration' && b.type === 'Expiration') return Date.parse(a.expiresAt) === Date.parse(b.expiresAt);
  if (a.type === 'ExpirationNotification' && b.type === 'ExpirationNotification') return spanMs(a.before) === spanMs(b.before);
  if (a.type === 'NoChangeNotification' && b.type === 'NoChangeNotification') return spanMs(a.after) === spanMs(b.after);
  return false;
}

/** Adds `p` unless the set holds the same policy already. */
function addOnce(set: ParameterPolicy[], p: ParameterPolicy): void {
  if (!set.some((q) => samePolicy(q, p))) set.push(p);
}

/** The expiry the request names, if any: an absolute time or now + a span. */
function requestedExpiry(request: PolicyRequest, now: Date): { expiresAt: string; field: 'expires' | 'expiresIn' } | undefined {
  if (request.expires !== undefined && request.expiresIn !== undefined) {
    throw new ValidationError('expiresIn: give an expiry either as a date (expires) or as a span from now (expiresIn), not both', 'expiresIn');
  }
  if (request.expires !== undefined) {
    const at = tagExpiry(request.expires);
    if (!at) throw new ValidationError(`expires: ${JSON.stringify(request.expires)} is not a date such as 2027-03-01 (midnight UTC) or an ISO 8601 time such as 2027-03-01T09:00:00Z`, 'expires');
    return { expiresAt: at.toISOString(), field: 'expires' };
  }
  if (request.expiresIn !== undefined) {
    const span = parseSpan(request.expiresIn, 'expiresIn');
    return { expiresAt: new Date(now.getTime() + spanMs(span)).toISOString(), field: 'expiresIn' };
  }
  return undefined;
}

/**
 * The policy set a request leads to, checked before any call, and whether the parameter must become advanced.
 *
 * - `clear`: no policies (nothing else may be asked with it).
 * - `replace`: exactly the requested policies.
 * - otherwise merged with the parameter's set: a requested expiry replaces the old Expiration (a parameter has one);
 *   each notification is added once (one equal to an existing one, e.g. `24h` and `1d`, is not added again).
 * Checks: an expiry in the future; each reminder due in the future (expiry - before > now) for every reminder that
 * is new or whose expiry is new; an ExpirationNotification only with an Expiration; days or hours only; at most
 * MAX_POLICIES (10) policies.
 *
 * @throws ValidationError naming the field (`expires`, `expiresIn`, `notifyBefore`, `noChangeAfter`, `policies`, `clear`).
 * @example
 * planPolicies({ name: '/db/password', tier: 'Standard', policies: [] },
 *   { expires: '2027-03-01', notifyBefore: ['15d'] }, new Date('2026-12-01T00:00:00Z'))
 * // { policies: [{ type: 'Expiration', expiresAt: '2027-03-01T00:00:00.000Z' },
 * //   { type: 'ExpirationNotification', before: { amount: 15, unit: 'Days' } }], upgrade: true, tier: 'Advanced', ... }
 */
export function planPolicies(target: PolicyTarget, request: PolicyRequest, now: Date): PolicyPlan {
  const previous = [...target.policies];
  let policies: ParameterPolicy[];
  if (request.clear) {
    const extra = (['expires', 'expiresIn', 'notifyBefore', 'noChangeAfter', 'replace'] as const).filter((k) => request[k] !== undefined && request[k] !== false && !(Array.isArray(request[k]) && request[k].length === 0));
    if (extra.length > 0) throw new ValidationError(`clear: clearing removes every policy; it takes no ${extra.join(', ')}`, 'clear');
    policies = [];
  } else {
    const expiry = requestedExpiry(request, now);
    const reminders: PolicySpan[] = (request.notifyBefore ?? []).map((s) => parseSpan(s, 'notifyBefore'));
    const noChange = request.noChangeAfter !== undefined ? parseSpan(request.noChangeAfter, 'noChangeAfter') : undefined;
    if (!expiry && reminders.length === 0 && !noChange) {
      throw new ValidationError('policies: nothing to set: give an expiry (expires or expiresIn), notifyBefore or noChangeAfter (or clear to remove every policy)', 'policies');
    }
    if (expiry && Date.parse(expiry.expiresAt) <= now.getTime()) {
      throw new ValidationError(`${expiry.field}: the expiry ${expiry.expiresAt} is not in the future (now ${now.toISOString()})`, expiry.field);
    }
    const requested: ParameterPolicy[] = [];
    if (expiry) requested.push({ type: 'Expiration', expiresAt: expiry.expiresAt });
    for (const before of reminders) addOnce(requested, { type: 'ExpirationNotification', before });
    if (noChange) requested.push({ type: 'NoChangeNotification', after: noChange });

    policies = request.replace ? [] : previous.filter((p) => !(expiry && p.type === 'Expiration'));
    for (const p of requested) addOnce(policies, p);

    const expiration = policies.find((p) => p.type === 'Expiration');
    const notices = policies.filter((p) => p.type === 'ExpirationNotification');
    if (notices.length > 0 && !expiration) {
      throw new ValidationError(
        `notifyBefore: a reminder before expiry needs an expiry, and ${target.name} has none: give expires or expiresIn${request.replace ? '' : ' (or keep its Expiration policy)'}`,
        'notifyBefore',
      );
    }
    if (expiration) {
      const at = Date.parse(expiration.expiresAt);
      if (!expiry && at <= now.getTime()) {
        throw new ValidationError(`expires: ${target.name}'s Expiration policy (${expiration.expiresAt}) has passed: give a new expiry, or clear its policies`, 'expires');
      }
      const isNew = (p: ParameterPolicy) => Boolean(expiry) || requested.some((q) => samePolicy(q, p));
      for (const p of notices) {
        if (!isNew(p)) continue;
        const due = at - spanMs(p.before);
        if (due <= now.getTime()) {
          throw new ValidationError(
            `notifyBefore: a reminder ${formatSpan(p.before)} before the expiry ${expiration.expiresAt} would be due at ${new Date(due).toISOString()}, which is not in the future (now ${now.toISOString()}): give a shorter span or a later expiry`,
            'notifyBefore',
          );
        }
      }
    }
    if (policies.length > MAX_POLICIES) {
      throw new ValidationError(`policies: a parameter holds at most ${MAX_POLICIES} policies (AWS's limit); this set would have ${policies.length}${request.replace ? '' : ' (merged with the existing ones: use replace to start over)'}`, 'policies');
    }
  }
  const inSet = (set: readonly ParameterPolicy[]) => (p: ParameterPolicy) => set.some((q) => samePolicy(q, p));
  const added = policies.filter((p) => !inSet(previous)(p)).map(describePolicy);
  const removed = previous.filter((p) => !inSet(policies)(p)).map(describePolicy);
  const needsAdvanced = policies.length > 0;
  const advanced = target.tier === 'Advanced';
  return {
    parameter: target.name,
    policies,
    previous,
    added,
    removed,
    unchanged: added.length === 0 && removed.length === 0 && policies.length === previous.length,
    needsAdvanced,
    upgrade: needsAdvanced && !advanced,
    tier: needsAdvanced || advanced ? 'Advanced' : 'Standard',
  };
}
