import * as z from 'zod/mini';
import '../zod-locale.js';
import type { Clock } from '../clock.js';
import { ValidationError } from '../errors.js';
import { eventBridgeEvent } from '../events/eventbridge.js';
import type { Deadline, ParameterSummary } from './deadlines.js';
import { describePolicy, parsePolicyText, spanMs, type ParameterPolicy } from './policy.js';
import type { ExpiredParameterRecord, NoticeStore, ParameterCatalog, SendNotice } from './ports.js';

export const POLICY_ACTION_DETAIL_TYPE = 'Parameter Store Policy Action';
export const POLICY_ACTION_SOURCE = 'aws.ssm';

/** Parameter names: at most 2,048 characters (a full ARN-style path), letters, digits and `_.-/`. */
const parameterName = z.string().check(z.minLength(1), z.maxLength(2048), z.regex(/^[a-zA-Z0-9_.\-/]+$/, 'must be a parameter name'));

/**
 * `Parameter Store Policy Action` (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-cwe.html):
 * AWS sends the parameter as `parameter-name`; some documentation pages show `name`, so either is accepted.
 */
export const policyActionEvent = eventBridgeEvent(
  POLICY_ACTION_DETAIL_TYPE,
  POLICY_ACTION_SOURCE,
  z
    .object({
      'parameter-name': z.optional(parameterName),
      name: z.optional(parameterName),
      'policy-type': z.string().check(z.minLength(1), z.maxLength(64)),
      'parameter-type': z.optional(z.string().check(z.maxLength(32))),
      'policy-content': z.optional(z.string().check(z.maxLength(8192))),
      'action-status': z.optional(z.string().check(z.maxLength(64))),
      'action-reason': z.optional(z.string().check(z.maxLength(4096))),
    })
    .check(z.refine((d) => d['parameter-name'] !== undefined || d.name !== undefined, { message: 'parameter-name (or name) is required', path: ['parameter-name'] })),
);
export type PolicyActionEvent = z.infer<typeof policyActionEvent>;

/**
 * What the policy-event function accepts: any EventBridge event. Only a Policy Action event of aws.ssm is acted on
 * (checked field by field by `policyActionEvent`); others are ignored with a reason, not failed and retried.
 */
export const anyEventBridgeEvent = z.looseObject({
  'detail-type': z.string().check(z.maxLength(256)),
  source: z.string().check(z.maxLength(256)),
  id: z.optional(z.string().check(z.maxLength(128))),
  time: z.optional(z.string().check(z.maxLength(64))),
  detail: z.optional(z.unknown()),
});
export type AnyEventBridgeEvent = z.infer<typeof anyEventBridgeEvent>;

export interface PolicyActionDeps {
  send: SendNotice;
  store: Pick<NoticeStore, 'rememberParameter' | 'lastSeen' | 'recordExpired'>;
  catalog: Pick<ParameterCatalog, 'describe' | 'tags'>;
  clock: Clock;
  /** The configured parameter paths (parameterExpiry.paths): parameters outside them are ignored. Default: all. */
  paths?: readonly string[];
}

/**
 * True when a parameter is below one of the paths: `/` is every parameter (names without a leading slash too),
 * `/app` and `/app/` are `/app` and everything below it.
 */
export function inPaths(name: string, paths: readonly string[]): boolean {
  return paths.some((path) => {
    const p = path.replace(/\/+$/, '');
    return p === '' || name === p || name.startsWith(`${p}/`);
  });
}

export type PolicyActionResult =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'sent' | 'duplicate'; parameter: string; kind: Deadline['kind']; dueAt: string; expired?: ExpiredParameterRecord };

/** The event's time, or now when it is not a time (AWS's documentation samples carry placeholders). */
function eventTime(time: string, clock: Clock): number {
  const t = Date.parse(time);
  return Number.isFinite(t) ? t : clock.now().getTime();
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Turns a `Parameter Store Policy Action` event into a notice.
 * - ExpirationNotification: the expiry is the parameter's current Expiration policy (DescribeParameters), and the
 *   notice is due at expiry minus the policy's span, as the sweep computes it (so that the event and the sweep claim
 *   the same notice); without an Expiration policy to read, it is due at the event's time.
 * - NoChangeNotification: due at the last change plus the span, as the sweep computes it, when that is not after the
 *   event (else the parameter changed since AWS's scan, and the event's time is used).
 * - Expiration: AWS deleted the parameter: what opsauto last saw of it (its last version) is recorded as an
 *   ExpiredParameterRecord, and an Expiration notice is sent, routed by the tags it last had.
 * Other sources, detail types, policy types, and actions whose status is not Success are ignored with a reason.
 *
 * @throws ValidationError naming the field when a Policy Action event is malformed (e.g. no parameter name).
 * @example
 * await handlePolicyAction(event, { send, store, catalog, clock });
 * // { outcome: 'sent', parameter: 'foo', kind: 'NoChangeNotification', dueAt: '2017-05-22T16:43:48.000Z' }
 */
export async function handlePolicyAction(raw: AnyEventBridgeEvent, deps: PolicyActionDeps): Promise<PolicyActionResult> {
  if (raw.source !== POLICY_ACTION_SOURCE || raw['detail-type'] !== POLICY_ACTION_DETAIL_TYPE) {
    return { outcome: 'ignored', reason: `not a Parameter Store policy event (source ${raw.source}, detail-type ${raw['detail-type']})` };
  }
  const parsed = policyActionEvent.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new ValidationError(`invalid ${POLICY_ACTION_DETAIL_TYPE} event: ${field || '(event)'}: ${issue.message}`, field);
  }
  const event = parsed.data;
  const d = event.detail;
  const name = (d['parameter-name'] ?? d.name)!;
  const type = d['policy-type'];
  if (deps.paths && !inPaths(name, deps.paths)) {
    return { outcome: 'ignored', reason: `parameter ${name} is outside parameterExpiry.paths (${deps.paths.join(', ')})` };
  }
  if (type !== 'Expiration' && type !== 'ExpirationNotification' && type !== 'NoChangeNotification') {
    return { outcome: 'ignored', reason: `policy type ${type} is not one opsauto notifies about` };
  }
  if (d['action-status'] !== undefined && d['action-status'] !== 'Success') {
    return { outcome: 'ignored', reason: `action-status ${d['action-status']}: Parameter Store did not carry the ${type} policy out` };
  }
  const at = eventTime(event.time, deps.clock);
  const content = d['policy-content'] ? parsePolicyText(d['policy-content']) : undefined;
  const policy = content?.type === type ? content : undefined;

  if (type === 'Expiration') {
    const lastSeen = await deps.store.lastSeen(name);
    const expiresAt = policy?.type === 'Expiration' ? policy.expiresAt : iso(at);
    const words = policy ? describePolicy(policy) : `expires ${expiresAt}`;
    const expired: ExpiredParameterRecord = {
      parameter: name,
      deletedAt: iso(at),
      policy: words,
      ...(lastSeen ? { lastVersion: lastVersionOf(lastSeen) } : {}),
    };
    await deps.store.recordExpired(expired);
    const summary: ParameterSummary = lastSeen
      ? { ...lastSeen, tags: lastSeen.tags ?? {} }
      : { name, type: d['parameter-type'] ?? 'String', tier: 'Advanced', version: 0, lastModifiedDate: '', policies: [], tags: {} };
    const deadline: Deadline = { parameter: name, kind: 'Expiration', source: 'policy', dueAt: expiresAt, expiresAt, policy: words };
    const outcome = await deps.send(deadline, summary, 'event');
    return { outcome, parameter: name, kind: 'Expiration', dueAt: deadline.dueAt, expired };
  }

  const current = await deps.catalog.describe(name);
  const summary: ParameterSummary = current
    ? { ...current, tags: current.tags ?? (await deps.catalog.tags(name)) }
    : ((await deps.store.lastSeen(name)) ?? { name, type: d['parameter-type'] ?? 'String', tier: 'Advanced', version: 0, lastModifiedDate: '', policies: [], tags: {} });
  const deadline = type === 'ExpirationNotification' ? expiryReminder(name, policy, summary, at) : noChange(name, policy, summary, at);
  if (current) await deps.store.rememberParameter(summary);
  const outcome = await deps.send(deadline, summary, 'event');
  return { outcome, parameter: name, kind: deadline.kind, dueAt: deadline.dueAt };
}

function lastVersionOf(p: ParameterSummary): NonNullable<ExpiredParameterRecord['lastVersion']> {
  return {
    type: p.type,
    tier: p.tier,
    version: p.version,
    lastModifiedDate: p.lastModifiedDate,
    ...(p.lastModifiedUser ? { lastModifiedUser: p.lastModifiedUser } : {}),
    ...(p.description ? { description: p.description } : {}),
    ...(p.tags ? { tags: p.tags } : {}),
  };
}

function expiryReminder(name: string, policy: ParameterPolicy | undefined, summary: ParameterSummary, at: number): Deadline {
  const words = policy ? describePolicy(policy) : 'notify before expiry';
  const expiration = summary.policies.find((p) => p.type === 'Expiration');
  if (expiration?.type === 'Expiration' && policy?.type === 'ExpirationNotification') {
    const expires = Date.parse(expiration.expiresAt);
    return { parameter: name, kind: 'ExpirationNotification', source: 'policy', dueAt: iso(expires - spanMs(policy.before)), expiresAt: iso(expires), policy: words };
  }
  if (expiration?.type === 'Expiration') {
    return { parameter: name, kind: 'ExpirationNotification', source: 'policy', dueAt: iso(at), expiresAt: iso(Date.parse(expiration.expiresAt)), policy: words };
  }
  return { parameter: name, kind: 'ExpirationNotification', source: 'policy', dueAt: iso(at), policy: words };
}

function noChange(name: string, policy: ParameterPolicy | undefined, summary: ParameterSummary, at: number): Deadline {
  const words = policy ? describePolicy(policy) : 'notify after no change';
  const modified = Date.parse(summary.lastModifiedDate);
  const due = policy?.type === 'NoChangeNotification' && Number.isFinite(modified) ? modified + spanMs(policy.after) : undefined;
  // An event's time has whole seconds: a deadline within the event's second is the one the event is about.
  return { parameter: name, kind: 'NoChangeNotification', source: 'policy', dueAt: iso(due !== undefined && due < at + 1000 ? due : at), policy: words };
}
