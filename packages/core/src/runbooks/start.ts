import { ForbiddenError, ValidationError } from '../errors.js';
import type { Runbook } from './document.js';
import { resolveExecutionParameters, type StartRequest } from './engine/index.js';
import { interpolate } from './interpolate.js';
import { resolveRateControl } from './rate-control.js';
import { parseTargets, type AutomationTarget, type InstanceTargetQuery, type TargetQuery } from './targets.js';

/** What asks for an execution: the CLI, an event on the bus, a schedule. Field names follow StartAutomationExecution. */
export interface StartInput {
  documentName: string;
  documentVersion?: string;
  /** A runbook given whole (the CLI's `runbook start file.yaml`) instead of loaded by name. */
  runbook?: Runbook;
  parameters?: Record<string, unknown>;
  targetParameterName?: string;
  targets?: AutomationTarget[];
  maxConcurrency?: string;
  maxErrors?: string;
  /** With targets: none is launched from this moment on (ISO 8601; a maintenance window's cutoff). */
  launchDeadline?: string;
  /**
   * What tag targets match: EC2 instances (default), or the managed nodes registered with Systems Manager (EC2
   * instances with an agent and hybrid `mi-` nodes), as Run Command and maintenance windows target them.
   */
  targetNodes?: 'ec2' | 'managed';
  idempotencyKey?: string;
  triggeredBy?: string;
}

/**
 * Who may start what, as the config says: runbooks started by name must be allow-listed; a document's assumeRole
 * must be one of the roles the worker may assume; otherwise an execution runs as the role of what started it.
 */
export interface StartPolicy {
  /** Runbook names that may be started by name (a document given whole, by the CLI, is the operator's own). */
  allowedRunbooks: readonly string[];
  /** Roles a document's assumeRole may name (config runbooks.assumeRoles). */
  assumeRoles: readonly string[];
  /** The role an execution runs as when its document names none: its automation's (the CLI/API role for starts by hand). */
  defaultRoleArn: string;
}

export interface StartPorts {
  accountId: string;
  region: string;
  policy: StartPolicy;
  loadRunbook(name: string, version?: string): Promise<{ name: string; version?: string; runbook: Runbook }>;
  /** EC2 instances matching a target query (tags, IDs, all), in the region: IDs in a stable order. */
  findInstances(query: InstanceTargetQuery): Promise<string[]>;
  /** Managed nodes (EC2 and hybrid) carrying the tags, in the region: IDs in a stable order. For `targetNodes: 'managed'`. */
  findManagedNodes?(query: Extract<TargetQuery, { kind: 'tags' }>): Promise<string[]>;
}

/** What an execution would do: the dry run's answer, and what `runbook start` prints before it starts. */
export interface ExecutionPlan {
  documentName: string;
  documentVersion?: string;
  parameters: Record<string, unknown>;
  steps: { name: string; action: string; onFailure: string; maxAttempts: number; timeoutSeconds?: number }[];
  targets?: { targetParameterName: string; values: string[]; maxConcurrency: string; maxErrors: string; concurrencyLimit: number; errorLimit: number };
  /** The role every step runs as. */
  roleArn: string;
}

/** The values a target query resolves to: literal values, EC2 instances, or managed nodes. */
async function targetValues(query: TargetQuery, nodes: StartInput['targetNodes'], ports: StartPorts): Promise<string[]> {
  if (query.kind === 'values') return query.values;
  if (nodes !== 'managed') return ports.findInstances(query);
  if (query.kind !== 'tags') throw new ValidationError('managed-node targets are chosen by tag (tag:<key> or tag-key)', 'targets');
  if (!ports.findManagedNodes) throw new Error('managed-node targets need a findManagedNodes port');
  return ports.findManagedNodes(query);
}

/**
 * Resolves a start input into the engine's StartRequest (runbook loaded, targets found, rate control resolved,
 * parameters checked) and the plan it amounts to. Calls no mutating API: a dry run stops here.
 *
 * @throws ValidationError / ParameterValueError naming the field that is wrong; NotFoundError for an unknown runbook.
 */
export async function planStart(input: StartInput, ports: StartPorts): Promise<{ request: StartRequest; plan: ExecutionPlan }> {
  if (!input.runbook && !ports.policy.allowedRunbooks.includes(input.documentName)) {
    throw new ForbiddenError(`runbook ${input.documentName} may not be started by name here: it is not in runbooks.allowedRunbooks`, 'documentName');
  }
  const loaded = input.runbook
    ? { name: input.documentName, version: input.documentVersion, runbook: input.runbook }
    : await ports.loadRunbook(input.documentName, input.documentVersion);
  const runbook = loaded.runbook;
  const parameters = input.parameters ?? {};
  const targeting = parseTargets({ Targets: input.targets, TargetParameterName: input.targetParameterName }, { parameterNames: Object.keys(runbook.parameters) });
  if (!targeting && (input.maxConcurrency !== undefined || input.maxErrors !== undefined)) {
    throw new ValidationError('MaxConcurrency and MaxErrors apply only with Targets and TargetParameterName', input.maxConcurrency !== undefined ? 'maxConcurrency' : 'maxErrors');
  }
  let rateControl: StartRequest['rateControl'];
  if (targeting) {
    if (parameters[targeting.targetParameterName] !== undefined) {
      throw new ValidationError(`parameter ${targeting.targetParameterName} is the target parameter: give its values as Targets, not as a parameter`, targeting.targetParameterName);
    }
    const values = await targetValues(targeting.query, input.targetNodes, ports);
    if (values.length === 0) throw new ValidationError('the targets matched no resource', 'targets');
    const limits = resolveRateControl({ maxConcurrency: input.maxConcurrency, maxErrors: input.maxErrors }, values.length);
    rateControl = { targetParameterName: targeting.targetParameterName, targets: values, ...limits, ...(input.launchDeadline ? { launchDeadline: input.launchDeadline } : {}) };
  }
  // Checked here as well as in startExecution, so that a dry run reports the same problems.
  const checked = resolveExecutionParameters(runbook, parameters, rateControl);
  const roleArn = executionRole(runbook, checked, ports, input.idempotencyKey);
  const request: StartRequest = {
    documentName: loaded.name,
    documentVersion: loaded.version,
    runbook,
    parameters,
    accountId: ports.accountId,
    region: ports.region,
    idempotencyKey: input.idempotencyKey,
    triggeredBy: input.triggeredBy,
    roleArn,
    rateControl,
  };
  const plan: ExecutionPlan = {
    documentName: loaded.name,
    documentVersion: loaded.version,
    parameters: checked,
    steps: runbook.mainSteps.map((s) => ({ name: s.name, action: s.action, onFailure: s.onFailure, maxAttempts: s.maxAttempts, ...(s.timeoutSeconds ? { timeoutSeconds: s.timeoutSeconds } : {}) })),
    ...(rateControl ? { targets: planTargets(rateControl) } : {}),
    roleArn,
  };
  return { request, plan };
}

/**
 * The role an execution runs as: the document's assumeRole (commonly `{{ AutomationAssumeRole }}`) when it resolves
 * to a role the config allows; the policy's default when it resolves to nothing.
 *
 * @throws ForbiddenError when the document names a role the worker may not assume.
 */
function executionRole(runbook: Runbook, parameters: Record<string, unknown>, ports: StartPorts, key: string | undefined): string {
  if (!runbook.assumeRole) return ports.policy.defaultRoleArn;
  const context = { parameters, stepOutputs: {}, executionId: key ?? 'plan', accountId: ports.accountId, region: ports.region, now: new Date(0) };
  let role: unknown;
  try {
    role = interpolate(runbook.assumeRole, context, { path: 'assumeRole' });
  } catch (e) {
    throw new ValidationError(`assumeRole: ${(e as Error).message}`, 'assumeRole');
  }
  if (typeof role !== 'string' || role === '') return ports.policy.defaultRoleArn;
  if (!ports.policy.assumeRoles.includes(role)) {
    throw new ForbiddenError(`assumeRole ${role} is not a role runbooks may assume here: add it to runbooks.assumeRoles to allow it`, 'assumeRole');
  }
  return role;
}

function planTargets({ targets, ...limits }: NonNullable<StartRequest['rateControl']>): NonNullable<ExecutionPlan['targets']> {
  return { ...limits, values: targets };
}
