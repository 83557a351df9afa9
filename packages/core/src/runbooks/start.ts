import { ValidationError } from '../errors.js';
import type { Runbook } from './document.js';
import { resolveExecutionParameters, type StartRequest } from './engine.js';
import { resolveRateControl } from './rate-control.js';
import { parseTargets, type AutomationTarget, type InstanceTargetQuery } from './targets.js';

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
  idempotencyKey?: string;
  triggeredBy?: string;
}

export interface StartPorts {
  accountId: string;
  region: string;
  loadRunbook(name: string, version?: string): Promise<{ name: string; version?: string; runbook: Runbook }>;
  /** EC2 instances matching a target query (tags, IDs, all), in the region: IDs in a stable order. */
  findInstances(query: InstanceTargetQuery): Promise<string[]>;
}

/** What an execution would do: the dry run's answer, and what `runbook start` prints before it starts. */
export interface ExecutionPlan {
  documentName: string;
  documentVersion?: string;
  parameters: Record<string, unknown>;
  steps: { name: string; action: string; onFailure: string; maxAttempts: number; timeoutSeconds?: number }[];
  targets?: { targetParameterName: string; values: string[]; maxConcurrency: string; maxErrors: string; concurrencyLimit: number; errorLimit: number };
  assumeRole?: string;
}

/**
 * Resolves a start input into the engine's StartRequest (runbook loaded, targets found, rate control resolved,
 * parameters checked) and the plan it amounts to. Calls no mutating API: a dry run stops here.
 *
 * @throws ValidationError / ParameterValueError naming the field that is wrong; NotFoundError for an unknown runbook.
 */
export async function planStart(input: StartInput, ports: StartPorts): Promise<{ request: StartRequest; plan: ExecutionPlan }> {
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
    const values = targeting.query.kind === 'values' ? targeting.query.values : await ports.findInstances(targeting.query);
    if (values.length === 0) throw new ValidationError('the targets matched no resource', 'targets');
    const limits = resolveRateControl({ maxConcurrency: input.maxConcurrency, maxErrors: input.maxErrors }, values.length);
    rateControl = { targetParameterName: targeting.targetParameterName, targets: values, ...limits };
  }
  // Checked here as well as in startExecution, so that a dry run reports the same problems.
  const checked = resolveExecutionParameters(runbook, parameters, rateControl);
  const request: StartRequest = {
    documentName: loaded.name,
    documentVersion: loaded.version,
    runbook,
    parameters,
    accountId: ports.accountId,
    region: ports.region,
    idempotencyKey: input.idempotencyKey,
    triggeredBy: input.triggeredBy,
    rateControl,
  };
  const plan: ExecutionPlan = {
    documentName: loaded.name,
    documentVersion: loaded.version,
    parameters: checked,
    steps: runbook.mainSteps.map((s) => ({ name: s.name, action: s.action, onFailure: s.onFailure, maxAttempts: s.maxAttempts, ...(s.timeoutSeconds ? { timeoutSeconds: s.timeoutSeconds } : {}) })),
    ...(rateControl ? { targets: planTargets(rateControl) } : {}),
  };
  return { request, plan };
}

function planTargets({ targets, ...limits }: NonNullable<StartRequest['rateControl']>): NonNullable<ExecutionPlan['targets']> {
  return { ...limits, values: targets };
}
