import type { Clock } from '../clock.js';
import { NotFoundError } from '../errors.js';
import { ADVANCED_TIER_NOTE, planPolicies, type PolicyPlan, type PolicyRequest } from './apply.js';
import type { ParameterSummary } from './deadlines.js';

/** A parameter's metadata as a policy write needs it to keep everything but the policies as it is (never its value). */
export interface PolicyParameter extends ParameterSummary {
  /** The KMS key of a SecureString (PutParameter falls back to the account's default key when it is left out). */
  keyId?: string;
  dataType?: string;
  allowedPattern?: string;
}

/** Parameter Store as applying policies uses it. */
export interface ParameterPolicyStore {
  /** The parameter's metadata (DescribeParameters); undefined when it does not exist. */
  read(name: string): Promise<PolicyParameter | undefined>;
  /**
   * Writes the plan's policy set as a new version of `parameter`, keeping its value, type, key, description, data
   * type, allowed pattern and tags; tier `plan.tier`. Refuses (ConcurrentUpdateError, nothing written) when the
   * parameter is no longer at `parameter.version`.
   */
  write(parameter: PolicyParameter, plan: PolicyPlan): Promise<{ version: number; tier: string }>;
}

export interface ApplyPoliciesDeps {
  parameters: ParameterPolicyStore;
  clock: Clock;
}

export type ApplyPoliciesResult =
  /** Written: the parameter's new version holds the plan's policies. */
  | { status: 'applied'; plan: PolicyPlan; version: number; tier: string }
  /** The parameter already holds exactly this set: nothing written (a write would be a new version). */
  | { status: 'unchanged'; plan: PolicyPlan; version: number; tier: string }
  /** The set needs the advanced tier, the parameter is standard and the upgrade was not allowed: nothing written. */
  | { status: 'needs-advanced'; plan: PolicyPlan; note: string };

/**
 * Applies an operator's policy request to a parameter: reads its metadata, plans the new set (merge, checks, tier:
 * planPolicies), and writes it unless it is unchanged or needs an upgrade to the advanced tier that `allowAdvanced`
 * does not allow. The CLI's `params policy set|clear` and automations share it.
 *
 * @throws NotFoundError when the parameter does not exist; ValidationError (from planPolicies) before any write.
 * @example
 * await applyParameterPolicies(deps, '/db/password', { expiresIn: '90d', notifyBefore: ['15d'] }, { allowAdvanced: true })
 * // { status: 'applied', version: 4, tier: 'Advanced', plan: { policies: [...], upgrade: true, ... } }
 */
export async function applyParameterPolicies(deps: ApplyPoliciesDeps, name: string, request: PolicyRequest, options: { allowAdvanced?: boolean } = {}): Promise<ApplyPoliciesResult> {
  const parameter = await deps.parameters.read(name);
  if (!parameter) throw new NotFoundError(`parameter ${name} does not exist`);
  const plan = planPolicies(parameter, request, deps.clock.now());
  if (plan.unchanged) return { status: 'unchanged', plan, version: parameter.version, tier: parameter.tier };
  if (plan.upgrade && !options.allowAdvanced) return { status: 'needs-advanced', plan, note: ADVANCED_TIER_NOTE };
  const written = await deps.parameters.write(parameter, plan);
  return { status: 'applied', plan, ...written };
}
