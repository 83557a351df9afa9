import { ValidationError } from '../errors.js';

// Parameter policies as Parameter Store takes and gives them:
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html
// Each policy is a JSON text: {"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2027-03-01T00:00:00.000Z"}},
// {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}},
// {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"30","Unit":"Days"}}.

export type PolicyUnit = 'Days' | 'Hours';

/** A span as policies count it: a whole number of days or hours. */
export interface PolicySpan {
  amount: number;
  unit: PolicyUnit;
}

export type ParameterPolicy =
  | { type: 'Expiration'; expiresAt: string }
  | { type: 'ExpirationNotification'; before: PolicySpan }
  | { type: 'NoChangeNotification'; after: PolicySpan };

export type PolicyType = ParameterPolicy['type'];

/** AWS's limit of policies per parameter. */
export const MAX_POLICIES = 10;

const UNIT_MS: Record<PolicyUnit, number> = { Days: 86_400_000, Hours: 3_600_000 };

/** A span in milliseconds. */
export const spanMs = (span: PolicySpan): number => span.amount * UNIT_MS[span.unit];

/** `15d`, `12h` as the CLI and the config write a span. */
export const formatSpan = (span: PolicySpan): string => `${span.amount}${span.unit === 'Days' ? 'd' : 'h'}`;

/**
 * Reads a span written as `<n>d` or `<n>h` (days or hours, the units policies take), n a whole number from 1.
 *
 * @throws ValidationError naming `field` when the text is anything else.
 * @example parseSpan('15d', 'notifyBefore') // { amount: 15, unit: 'Days' }
 */
export function parseSpan(text: string, field: string): PolicySpan {
  const m = /^(\d{1,6})([dh])$/.exec(text.trim());
  const amount = m ? Number(m[1]) : 0;
  if (!m || amount < 1) throw new ValidationError(`${field}: ${JSON.stringify(text)} is not a span such as 15d or 12h (whole days or hours, the units parameter policies take)`, field);
  return { amount, unit: m[2] === 'd' ? 'Days' : 'Hours' };
}

/** The policy as the JSON text PutParameter's `Policies` array holds. */
export function policyText(policy: ParameterPolicy): string {
  switch (policy.type) {
    case 'Expiration':
      return JSON.stringify({ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: policy.expiresAt } });
    case 'ExpirationNotification':
      return JSON.stringify({ Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: String(policy.before.amount), Unit: policy.before.unit } });
    case 'NoChangeNotification':
      return JSON.stringify({ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: String(policy.after.amount), Unit: policy.after.unit } });
  }
}

/** `Policies` for PutParameter: a JSON array of the policies' texts, as the API takes it. */
export const policiesParameter = (policies: readonly ParameterPolicy[]): string => `[${policies.map(policyText).join(',')}]`;

/** The policy a JSON text (PolicyText of DescribeParameters, policy-content of a Policy Action event) holds; undefined when it is none we know. */
export function parsePolicyText(text: string): ParameterPolicy | undefined {
  let raw: { Type?: unknown; Attributes?: Record<string, unknown> };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    return undefined;
  }
  const a = raw?.Attributes ?? {};
  const unit = a.Unit === 'Hours' ? 'Hours' : a.Unit === undefined || a.Unit === 'Days' ? 'Days' : undefined;
  const amount = (v: unknown) => (typeof v === 'string' || typeof v === 'number') && /^\d+$/.test(String(v)) ? Number(v) : undefined;
  switch (raw?.Type) {
    case 'Expiration':
      return typeof a.Timestamp === 'string' && Number.isFinite(Date.parse(a.Timestamp)) ? { type: 'Expiration', expiresAt: new Date(Date.parse(a.Timestamp)).toISOString() } : undefined;
    case 'ExpirationNotification': {
      const n = amount(a.Before);
      return n !== undefined && unit ? { type: 'ExpirationNotification', before: { amount: n, unit } } : undefined;
    }
    case 'NoChangeNotification': {
      const n = amount(a.After);
      return n !== undefined && unit ? { type: 'NoChangeNotification', after: { amount: n, unit } } : undefined;
    }
    default:
      return undefined;
  }
}

/** In words, for messages and listings: `expires 2027-03-01T00:00:00.000Z`, `notify 15d before expiry`, `notify after 30d without change`. */
export function describePolicy(policy: ParameterPolicy): string {
  switch (policy.type) {
    case 'Expiration':
      return `expires ${policy.expiresAt}`;
    case 'ExpirationNotification':
      return `notify ${formatSpan(policy.before)} before expiry`;
    case 'NoChangeNotification':
      return `notify after ${formatSpan(policy.after)} without change`;
  }
}
