import type { Execution, ExecutionStatus, StepExecution, StepStatus } from './execution.js';

// The EventBridge events the engine emits when an execution or a step changes status, modelled on SSM Automation's
// own `EC2 Automation Execution Status-change Notification` and `EC2 Automation Step Status-change Notification`
// (source aws.ssm): https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
// (samples in test/fixtures/events/awsdocs-ssm__automation-*.json). Same detail field names; where AWS's values are
// awkward to consume, ours differ, as noted on each field.

export const RUNBOOK_EVENT_SOURCE = 'opsauto.runbooks';
export const EXECUTION_STATUS_DETAIL_TYPE = 'Runbook Execution Status-change Notification';
export const STEP_STATUS_DETAIL_TYPE = 'Runbook Step Status-change Notification';
/** The detail-type the AMI publisher subscribes to (see runbookImageCreatedEvent in events/eventbridge.ts). */
export const IMAGE_CREATED_DETAIL_TYPE = 'Runbook Image Created';

/** One PutEvents entry; the caller stringifies `Detail` (and adds EventBusName). */
export interface RunbookEventEntry<T extends string, D> {
  Source: typeof RUNBOOK_EVENT_SOURCE;
  DetailType: T;
  Detail: D;
}

/** The fields both events share, named as AWS names them. */
interface CommonDetail {
  ExecutionId: string;
  /** The runbook (document) name. */
  Definition: string;
  /** AWS sends a number (`1.0`); ours is a number for a numbered version and the text otherwise (`$DEFAULT`). */
  DefinitionVersion?: number | string;
  /** ISO 8601. AWS sends `Nov 29, 2016 7:43:20 PM`, which says no time zone; ISO 8601 does. */
  StartTime?: string;
  /** ISO 8601, once ended. */
  EndTime?: string;
  /** Milliseconds from StartTime to EndTime, as AWS's `Time` (5753.0 for a 6-second run in its sample). */
  Time?: number;
  /** Not in AWS's detail (its envelope region is the execution's); ours runs wherever the engine's bus is. */
  Region: string;
  Account: string;
  FailureMessage?: string;
}

export interface RunbookExecutionStatusDetail extends CommonDetail {
  Status: ExecutionStatus;
  /** Who started it. AWS puts an IAM ARN here; ours is Execution.triggeredBy (`cli`, `schedule:…`). */
  ExecutedBy?: string;
  /** The execution's outputs (`step.Output` → value), as GetAutomationExecution's Outputs; not in AWS's event. */
  Outputs?: Record<string, unknown>;
  /** For a child of a rate-controlled execution: its parent, and the target it ran on. */
  ParentExecutionId?: string;
  Target?: string;
}

export interface RunbookStepStatusDetail extends CommonDetail {
  Status: StepStatus;
  StepName: string;
  Action: string;
}

export interface RunbookImageCreatedDetail {
  ImageId: string;
  Region: string;
  ExecutionId: string;
}

function definitionVersion(version: string | undefined): number | string | undefined {
  if (version === undefined) return undefined;
  return /^[1-9][0-9]*$/.test(version) ? Number(version) : version;
}

function timing(startedAt: string | undefined, endedAt: string | undefined): Pick<CommonDetail, 'StartTime' | 'EndTime' | 'Time'> {
  const start = startedAt === undefined ? NaN : Date.parse(startedAt);
  const end = endedAt === undefined ? NaN : Date.parse(endedAt);
  return {
    ...(startedAt !== undefined && { StartTime: startedAt }),
    ...(endedAt !== undefined && { EndTime: endedAt }),
    ...(Number.isFinite(start) && Number.isFinite(end) && end >= start && { Time: end - start }),
  };
}

function common(execution: Execution, startedAt: string | undefined, endedAt: string | undefined, failureMessage: string | undefined): CommonDetail {
  const version = definitionVersion(execution.documentVersion);
  return {
    ExecutionId: execution.executionId,
    Definition: execution.documentName,
    ...(version !== undefined && { DefinitionVersion: version }),
    ...timing(startedAt, endedAt),
    Region: execution.region,
    Account: execution.accountId,
    ...(failureMessage !== undefined && { FailureMessage: failureMessage }),
  };
}

/** The event for an execution's current status (emit it whenever the status changes). */
export function runbookExecutionStatusEntry(execution: Execution): RunbookEventEntry<typeof EXECUTION_STATUS_DETAIL_TYPE, RunbookExecutionStatusDetail> {
  return {
    Source: RUNBOOK_EVENT_SOURCE,
    DetailType: EXECUTION_STATUS_DETAIL_TYPE,
    Detail: {
      ...common(execution, execution.startedAt, execution.endedAt, execution.failureMessage),
      Status: execution.status,
      ...(execution.triggeredBy !== undefined && { ExecutedBy: execution.triggeredBy }),
      ...(execution.outputs !== undefined && { Outputs: execution.outputs }),
      ...(execution.parentExecutionId !== undefined && { ParentExecutionId: execution.parentExecutionId }),
      ...(execution.target !== undefined && { Target: execution.target }),
    },
  };
}

/** The event for one step run's current status (emit it whenever the step's status changes). */
export function runbookStepStatusEntry(execution: Execution, step: StepExecution): RunbookEventEntry<typeof STEP_STATUS_DETAIL_TYPE, RunbookStepStatusDetail> {
  return {
    Source: RUNBOOK_EVENT_SOURCE,
    DetailType: STEP_STATUS_DETAIL_TYPE,
    Detail: {
      ...common(execution, step.startedAt, step.endedAt, step.failureMessage),
      Status: step.status,
      StepName: step.name,
      Action: step.action,
    },
  };
}

const AMI_ID = /^ami-[0-9a-z]+$/;
const amiIdsIn = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && AMI_ID.test(v));

/**
 * The images a successful execution created, each as a `Runbook Image Created` entry whose detail fits the AMI
 * publisher's schema (runbookImageCreatedEvent: ImageId, Region, ExecutionId). An image counts when
 * - a successful aws:createImage step output it (its predefined ImageId output: automation-action-create.html), or
 * - the runbook declares an execution output named `ImageId` (`someStep.ImageId`: for images made another way, such as
 *   aws:executeAwsApi calling CopyImage), holding an AMI ID or a list of them;
 * and no successful aws:deleteImage step of the same execution deleted it (a scratch image).
 * None unless the execution's status is Success: a runbook that failed after creating an image (a failed test of it,
 * say) publishes nothing. Children of a rate-controlled execution each announce their own images; the parent none.
 * Emit them with the execution's final status event.
 */
export function runbookImageCreatedEntries(execution: Execution): RunbookEventEntry<typeof IMAGE_CREATED_DETAIL_TYPE, RunbookImageCreatedDetail>[] {
  if (execution.status !== 'Success') return [];
  const succeeded = execution.steps.filter((s) => s.status === 'Success');
  const deleted = new Set(succeeded.filter((s) => s.action === 'aws:deleteImage').flatMap((s) => amiIdsIn(s.inputs?.ImageId)));
  const created = [
    ...succeeded.filter((s) => s.action === 'aws:createImage').flatMap((s) => amiIdsIn(s.outputs?.ImageId)),
    ...Object.entries(execution.outputs ?? {})
      .filter(([name]) => name === 'ImageId' || name.endsWith('.ImageId'))
      .flatMap(([, value]) => amiIdsIn(value)),
  ];
  return [...new Set(created)]
    .filter((imageId) => !deleted.has(imageId))
    .map((imageId) => ({
      Source: RUNBOOK_EVENT_SOURCE,
      DetailType: IMAGE_CREATED_DETAIL_TYPE,
      Detail: { ImageId: imageId, Region: execution.region, ExecutionId: execution.executionId },
    }));
}

/** Any entry this module builds. */
export type RunbookStatusEntry =
  | ReturnType<typeof runbookExecutionStatusEntry>
  | ReturnType<typeof runbookStepStatusEntry>
  | ReturnType<typeof runbookImageCreatedEntries>[number];

/**
 * Every entry for one status change, in the shape of EngineDeps.notify: the steps' events, then the execution's (when
 * its status changed) followed by the images it announces. PutEvents takes at most 10 entries a call: the caller
 * batches.
 */
export function runbookStatusEntries(execution: Execution, steps: readonly StepExecution[], executionChanged: boolean): RunbookStatusEntry[] {
  return [
    ...steps.map((step) => runbookStepStatusEntry(execution, step)),
    ...(executionChanged ? [runbookExecutionStatusEntry(execution), ...runbookImageCreatedEntries(execution)] : []),
  ];
}
