import { createHash } from 'node:crypto';
import { JSONPath } from 'jsonpath-plus';
import { ValidationError } from '../errors.js';
import type { AutomationTarget, StartInput } from '../runbooks/index.js';
import { launchDeadline, type Automation } from './automation.js';

/**
 * What fired an automation:
 * - `schedule`: its schedule (or maintenance window) came, for `scheduledTime`;
 * - `event`: an EventBridge event matched its pattern (a Config compliance change included);
 * - `manual`: an operator ran it by hand (`opsauto automations run`), `requestId` making the request unique.
 */
export type Firing =
  | { kind: 'schedule'; scheduledTime: Date }
  | { kind: 'event'; event: { id: string; source: string; 'detail-type': string; time?: string; detail?: unknown; [key: string]: unknown } }
  /** `event`: what its parameters' `{{ event.… }}` read, when the run stands for one (`opsauto volumes remediate`). */
  | { kind: 'manual'; requestId: string; by: string; event?: Record<string, unknown> };

/** `{{ event.detail.resourceId }}`: a value taken from the trigger's event. */
const EVENT_REFERENCE = /\{\{\s*event\.([^}]+?)\s*\}\}/g;

/**
 * Fills `{{ event.<path> }}` references in the automation's parameters from the event. A parameter that is exactly
 * one reference takes the value as it is (a list stays a list); within other text it is written as text.
 *
 * @throws ValidationError naming the parameter when the event has nothing at that path, or when there is no event
 *   (a schedule, a run by hand) to take it from.
 * @example
 * fillParameters({ BucketName: '{{ event.detail.resourceId }}' }, { detail: { resourceId: 'logs' } }) // { BucketName: 'logs' }
 */
export function fillParameters(parameters: Automation['parameters'], event: unknown): Record<string, unknown> {
  const filled: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) {
    if (typeof value !== 'string' || !value.includes('{{')) {
      filled[name] = value;
      continue;
    }
    const read = (path: string) => {
      if (event === undefined) throw new ValidationError(`parameter ${name} takes {{ event.${path} }}, and this run has no event`, name);
      const found: unknown = JSONPath({ path: `$.${path}`, json: event as object, wrap: false, eval: false });
      if (found === undefined || found === null) throw new ValidationError(`parameter ${name}: the event has nothing at ${path}`, name);
      return found;
    };
    const whole = /^\{\{\s*event\.([^}]+?)\s*\}\}$/.exec(value);
    filled[name] = whole ? read(whole[1]) : value.replace(EVENT_REFERENCE, (_m, path: string) => {
      const found = read(path);
      return typeof found === 'object' ? JSON.stringify(found) : String(found as string | number | boolean);
    });
  }
  return filled;
}

/** The event paths an automation's parameters read (for validation: a schedule has no event to read them from). */
export function eventReferences(parameters: Automation['parameters']): string[] {
  return Object.values(parameters).flatMap((v) => (typeof v === 'string' ? [...v.matchAll(EVENT_REFERENCE)].map((m) => m[1]) : []));
}

/**
 * One firing names one execution: the same schedule time, event or Config evaluation delivered twice (a retry, a
 * duplicate) gives the same key, so the store keeps the first start. A Config compliance change is keyed by what was
 * evaluated, not by the event's ID: AWS may send the same evaluation in two events.
 */
export function firingKey(automation: Pick<Automation, 'name'>, firing: Firing): string {
  const digest = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
  switch (firing.kind) {
    case 'schedule':
      return `automation:${automation.name}:schedule:${firing.scheduledTime.toISOString()}`;
    case 'manual':
      return `automation:${automation.name}:manual:${firing.requestId}`;
    case 'event': {
      const evaluation = configEvaluation(firing.event);
      if (evaluation) return `automation:${automation.name}:config:${digest([evaluation.rule, evaluation.resourceType, evaluation.resourceId, evaluation.evaluatedAt])}`;
      return `automation:${automation.name}:event:${firing.event.id}`;
    }
  }
}

/** What a `Config Rules Compliance Change` event says was evaluated; undefined for any other event. */
export interface ConfigEvaluation {
  rule: string;
  resourceType: string;
  resourceId: string;
  compliance: string;
  /** When the result was recorded (the evaluation's identity, with rule and resource). */
  evaluatedAt: string;
}

export function configEvaluation(event: { 'detail-type': string; detail?: unknown }): ConfigEvaluation | undefined {
  if (event['detail-type'] !== 'Config Rules Compliance Change') return undefined;
  const d = event.detail as
    | {
        configRuleName?: string;
        resourceId?: string;
        resourceType?: string;
        newEvaluationResult?: {
          complianceType?: string;
          resultRecordedTime?: string;
          configRuleInvokedTime?: string;
          evaluationResultIdentifier?: { orderingTimestamp?: string; evaluationResultQualifier?: { resourceType?: string; resourceId?: string } };
        };
      }
    | undefined;
  const result = d?.newEvaluationResult;
  const qualifier = result?.evaluationResultIdentifier?.evaluationResultQualifier;
  const rule = d?.configRuleName;
  const resourceId = d?.resourceId ?? qualifier?.resourceId;
  const resourceType = d?.resourceType ?? qualifier?.resourceType;
  const evaluatedAt = result?.evaluationResultIdentifier?.orderingTimestamp ?? result?.resultRecordedTime ?? result?.configRuleInvokedTime;
  if (!rule || !resourceId || !resourceType || !evaluatedAt) return undefined;
  return { rule, resourceType, resourceId, compliance: result?.complianceType ?? 'UNKNOWN', evaluatedAt };
}

/** The automation's targets as StartAutomationExecution's Targets. */
function targetsOf(targets: NonNullable<Automation['targets']>): AutomationTarget[] {
  const list: AutomationTarget[] = Object.entries(targets.tags ?? {}).map(([key, values]) => ({ Key: `tag:${key}`, Values: Array.isArray(values) ? values : [values] }));
  if (targets.tagKeys) list.push({ Key: 'tag-key', Values: targets.tagKeys });
  if (targets.values) list.push({ Key: 'ParameterValues', Values: targets.values });
  return list;
}

/**
 * The runbook start a firing asks for: the automation's runbook and parameters (event references filled), its
 * targets and rate control, a maintenance window's cutoff as the launch deadline, and the idempotency key of the
 * firing. `triggeredBy` reads `automation:<name>` (and who, for a run by hand).
 */
export function automationStart(automation: Automation, firing: Firing): StartInput {
  if (!automation.runbook) throw new Error(`automation ${automation.name} starts no single runbook (it checks office hours or night resize)`);
  const event = firing.kind === 'event' || firing.kind === 'manual' ? firing.event : undefined;
  const deadline = firing.kind === 'schedule' ? launchDeadline(automation.trigger, firing.scheduledTime) : undefined;
  return {
    documentName: automation.runbook,
    ...(automation.version ? { documentVersion: automation.version } : {}),
    parameters: fillParameters(automation.parameters, event),
    ...(automation.targets
      ? {
          targets: targetsOf(automation.targets),
          targetParameterName: automation.targets.parameter,
          ...(automation.maxConcurrency ? { maxConcurrency: automation.maxConcurrency } : {}),
          ...(automation.maxErrors ? { maxErrors: automation.maxErrors } : {}),
          ...(deadline ? { launchDeadline: deadline.toISOString() } : {}),
          ...(automation.targets.managedNodes ? { targetNodes: 'managed' as const } : {}),
        }
      : {}),
    idempotencyKey: firingKey(automation, firing),
    triggeredBy: firing.kind === 'manual' ? `automation:${automation.name} (run by ${firing.by})` : `automation:${automation.name}`,
  };
}
