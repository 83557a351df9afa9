import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { ValidationError } from '../../errors.js';
import type { Runbook } from '../document.js';
import type { Execution, ExecutionStore, RateControl } from '../execution.js';
import { interpolate } from '../interpolate.js';
import { resolveParameters, type ParameterValue } from '../values.js';

/** What starts an execution. */
export interface StartRequest {
  documentName: string;
  documentVersion?: string;
  runbook: Runbook;
  /** Parameter values as given (CLI text, event JSON): resolved and checked against the document's declarations. */
  parameters: Record<string, unknown>;
  accountId: string;
  region: string;
  /** Starts with the same key start one execution: the first. A key reused for another request is refused. */
  idempotencyKey?: string;
  triggeredBy?: string;
  parentExecutionId?: string;
  /**
   * The role every step's AWS calls run as. planStart chooses it (the document's assumeRole when the config allows
   * it, else the automation's role); a child runbook inherits its parent's.
   */
  roleArn?: string;
  /** Run once per target: each target's value goes into `targetParameterName` of a child execution. */
  rateControl?: Omit<RateControl, 'concurrencyLimit' | 'errorLimit'> & { concurrencyLimit: number; errorLimit: number };
}

/**
 * The execution ID for an idempotency key: a UUID-shaped digest, so that the same trigger delivered twice names the
 * same execution and the store's create keeps the first.
 *
 * @example
 * executionIdFor('schedule:office-hours-stop:2026-11-23T18:00:00Z') // 'c2b4…-…' (always the same)
 */
export function executionIdFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A digest of what a start asks for (document, version, parameters, targets and limits): two starts with one
 * idempotency key must ask for the same thing, or the second is refused (ConflictError from the store).
 */
export function requestHashOf(request: Pick<StartRequest, 'documentName' | 'documentVersion' | 'rateControl'>, parameters: Record<string, unknown>): string {
  const rate = request.rateControl;
  const canonical = JSON.stringify([
    request.documentName,
    request.documentVersion ?? null,
    sortedKeys(parameters),
    rate ? [rate.targetParameterName, rate.targets, rate.maxConcurrency, rate.maxErrors] : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
  return value;
}

/**
 * Creates an execution (Pending). Parameters are resolved against the document first: wrong values throw
 * ParameterValueError naming every field, and nothing is stored. With an idempotency key already used for the same
 * request, returns the existing execution and `created: false`; for another request, the store throws
 * ConflictError. The caller dispatches it.
 */
export async function startExecution(request: StartRequest, deps: { store: ExecutionStore; clock: Clock; newId(): string }): Promise<{ execution: Execution; created: boolean }> {
  const parameters = resolveExecutionParameters(request.runbook, request.parameters, request.rateControl);
  const now = deps.clock.now();
  const executionId = request.idempotencyKey ? executionIdFor(request.idempotencyKey) : deps.newId();
  const execution: Execution = {
    executionId,
    documentName: request.documentName,
    documentVersion: request.documentVersion,
    runbook: request.runbook,
    parameters,
    status: 'Pending',
    accountId: request.accountId,
    region: request.region,
    createdAt: now.toISOString(),
    currentStep: request.runbook.mainSteps[0]?.name,
    steps: [],
    idempotencyKey: request.idempotencyKey,
    requestHash: request.idempotencyKey ? requestHashOf(request, parameters) : undefined,
    parentExecutionId: request.parentExecutionId,
    triggeredBy: request.triggeredBy,
    assumeRole: request.roleArn,
    version: 1,
  };
  if (request.rateControl) {
    const { targetParameterName, targets } = request.rateControl;
    if (!Object.hasOwn(request.runbook.parameters, targetParameterName)) {
      throw new ValidationError(`TargetParameterName ${targetParameterName} is not a parameter of ${request.documentName}`, 'targetParameterName');
    }
    if (targets.length === 0) throw new ValidationError('the targets matched nothing', 'targets');
    execution.rateControl = request.rateControl;
    execution.counters = { launched: 0, running: 0, succeeded: 0, failed: 0 };
    execution.currentStep = undefined;
  }
  if (!execution.assumeRole && request.runbook.assumeRole) {
    // Only where no role was chosen for it (a direct caller of the engine, such as a test): planStart decides otherwise.
    const role = interpolate(request.runbook.assumeRole, { parameters, stepOutputs: {}, executionId, accountId: request.accountId, region: request.region, now });
    if (typeof role === 'string' && role !== '') execution.assumeRole = role;
  }
  return deps.store.create(execution);
}

/**
 * An execution's parameters, checked against the document. A rate-controlled execution's target parameter is each
 * child's own: it is checked with the first target and kept out of the parent's values.
 *
 * @throws ParameterValueError naming every field that is wrong.
 */
export function resolveExecutionParameters(
  runbook: Runbook,
  given: Record<string, unknown>,
  rateControl?: Pick<RateControl, 'targetParameterName' | 'targets'>,
): Record<string, ParameterValue> {
  if (!rateControl) return resolveParameters(runbook.parameters, given);
  const name = rateControl.targetParameterName;
  const parameters = resolveParameters(runbook.parameters, { ...given, [name]: given[name] ?? rateControl.targets[0] });
  if (given[name] === undefined) delete parameters[name];
  return parameters;
}
