/**
 * Parameter policies that act on the virtual clock: Expiration deletes the parameter at its timestamp,
 * ExpirationNotification fires N days/hours before that, NoChangeNotification fires N days/hours after the last
 * change; each emits a `Parameter Store Policy Action` event (source aws.ssm).
 *
 * AWS enforces policies with asynchronous periodic scans, so a real action comes some time after it is due; here
 * it runs exactly at the due time (or at the next settle when it was already due when armed, e.g. a seeded
 * parameter that has not changed for months). Each NoChangeNotification fires once per LastModifiedTime and each
 * ExpirationNotification once. Timers are armed from state by `armAllPolicies` (the service's `start`) and after
 * each PutParameter, at most one per policy and due time; every timer looks the policy up again when it runs, so a
 * policy replaced by a later PutParameter (new id), moved (a new LastModifiedTime) or deleted is left alone.
 */
import { randomUUID } from 'node:crypto';
import type { VirtualClock } from '../clock.js';
import type { Runtime } from './filters.js';
import { latest, parameterArn, ssmState, SSM_SERVICE, type ParameterRecord, type ParameterVersion, type PolicyRecord, type SsmState } from './ssm-parameters.js';

export const POLICY_ACTION_DETAIL_TYPE = 'Parameter Store Policy Action';

const UNIT_MS = { Days: 86_400_000, Hours: 3_600_000 } as const;

interface ParsedPolicy {
  Type: string;
  Attributes: { Timestamp?: string; Before?: string; After?: string; Unit?: 'Days' | 'Hours' };
}

/**
 * The timers armed on each clock, by account, region, parameter, policy id and due time: PutParameter and start()
 * arm again what is already armed, and without this every call would add a timer. Policy ids are random, so keys
 * left over from before a reset (which drops the clock's timers) never match a policy armed after it.
 */
const armed = new WeakMap<VirtualClock, Set<string>>();

const parsed = (p: PolicyRecord) => JSON.parse(p.PolicyText) as ParsedPolicy;

function expirationAt(policies: PolicyRecord[]): number | undefined {
  const expiration = policies.find((p) => p.PolicyType === 'Expiration');
  return expiration ? Date.parse(parsed(expiration).Attributes.Timestamp ?? '') : undefined;
}

/**
 * When a policy of the current version is due (epoch ms), or undefined when it never is (an ExpirationNotification
 * without an Expiration policy to count back from).
 */
function policyDueAt(policy: PolicyRecord, version: ParameterVersion): number | undefined {
  const { Attributes: a } = parsed(policy);
  const span = (n: string | undefined) => Number(n) * UNIT_MS[a.Unit ?? 'Days'];
  switch (policy.PolicyType) {
    case 'Expiration':
      return Date.parse(a.Timestamp ?? '');
    case 'ExpirationNotification': {
      const expires = expirationAt(version.policies);
      return expires === undefined ? undefined : expires - span(a.Before);
    }
    case 'NoChangeNotification':
      return version.lastModifiedDate + span(a.After);
    default:
      return undefined;
  }
}

/** Arms a timer for each policy of the parameter's current version. */
export function armParameterPolicies(rt: Runtime, account: string, region: string, p: ParameterRecord): void {
  const v = latest(p);
  for (const policy of v.policies) {
    // State written before policies had ids (or seeded by hand) gets one now, so its timers can find it.
    policy.id ??= randomUUID();
    policy.createdAt ??= v.lastModifiedDate;
    const due = policyDueAt(policy, v);
    if (due === undefined || Number.isNaN(due) || policy.firedFor === due) continue;
    const { id } = policy;
    const keys = armed.get(rt.clock) ?? new Set<string>();
    armed.set(rt.clock, keys);
    const key = JSON.stringify([account, region, p.name, id, due]);
    if (keys.has(key)) continue;
    keys.add(key);
    rt.clock.at(due, () => {
      keys.delete(key);
      firePolicy(rt, account, region, p.name, id);
    });
  }
}

/** Arms every stored parameter policy of every account and region (idempotent: see the module comment). */
export function armAllPolicies(rt: Runtime): void {
  for (const { account, region, state } of rt.store.all<SsmState>(SSM_SERVICE)) {
    for (const p of Object.values(state.parameters ?? {})) armParameterPolicies(rt, account, region, p);
  }
}

function firePolicy(rt: Runtime, account: string, region: string, name: string, policyId: string): void {
  const state = ssmState(rt.store, account, region);
  const p = state.parameters[name];
  if (!p) return;
  const v = latest(p);
  const policy = v.policies.find((x) => x.id === policyId);
  if (!policy) return;
  const due = policyDueAt(policy, v);
  // Not due (any more): the parameter changed since this timer was armed, and its own timer is armed.
  if (due === undefined || due > rt.clock.nowMs() || policy.firedFor === due) return;
  policy.firedFor = due;
  policy.PolicyStatus = 'Finished';
  if (policy.PolicyType === 'Expiration') delete state.parameters[name];
  rt.store.changed();
  rt.bus.publish({
    source: 'aws.ssm',
    detailType: POLICY_ACTION_DETAIL_TYPE,
    detail: {
      'policy-type': policy.PolicyType,
      'parameter-name': name,
      'parameter-type': v.type,
      'policy-content': policy.PolicyText,
      'action-status': 'Success',
      'action-reason': actionReason(policy),
    },
    resources: [parameterArn(region, account, name)],
    account,
    region,
  });
}

/** Worded after the one published sample (a NoChangeNotification), which is all there is to go by. */
function actionReason(policy: PolicyRecord): string {
  const { Attributes: a } = parsed(policy);
  const since = `This notification was generated based on the policy created at ${new Date(policy.createdAt).toISOString()}`;
  const span = (n: string | undefined) => `${n} ${(a.Unit ?? 'Days').toLowerCase()}`;
  switch (policy.PolicyType) {
    case 'Expiration':
      return `The parameter has expired and was deleted at ${a.Timestamp}. ${since}`;
    case 'ExpirationNotification':
      return `The parameter will expire in ${span(a.Before)}. ${since}`;
    default:
      return `The parameter has not been changed for ${span(a.After)}. ${since}`;
  }
}
