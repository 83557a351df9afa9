import { actionRules, isoDurationSeconds } from '../actions.js';
import { evaluateBranch } from '../branch.js';
import type { JsonValue, RunbookStep } from '../document.js';
import { ActionFailure, isTerminal, type ActionResult, type StepExecution } from '../execution.js';
import { isApprover, notAnApproverMessage } from '../approvers.js';
import { startExecution } from './start.js';
import { actionContext, takeSignal, type Turn } from './turn.js';

// The actions the engine runs itself, without calling AWS: shaped like the AWS action runner's (one function per
// action, looked up by name), so that the step loop treats both alike.

/** One built-in action: runs (or looks again at) the current step, from its interpolated inputs. */
export type BuiltInAction = (turn: Turn, step: RunbookStep, entry: StepExecution, inputs: Record<string, unknown>, now: Date) => ActionResult | Promise<ActionResult>;

export const builtInActions: Readonly<Record<string, BuiltInAction>> = {
  'aws:branch': (_turn, _step, _entry, inputs) => {
    const outcome = evaluateBranch(inputs);
    return { kind: 'done', outputs: outcome.nextStep ? { '@nextStep': outcome.nextStep } : {} };
  },
  'aws:sleep': (_turn, _step, entry, inputs, now) => {
    const until = sleepUntil(inputs, entry);
    return until.getTime() <= now.getTime() ? { kind: 'done' } : { kind: 'waiting', nextCheckAt: until, state: { until: until.toISOString() } };
  },
  'aws:pause': (turn, step, entry, _inputs, now) => {
    if (takeSignal(turn, 'Resume')) return { kind: 'done' };
    return { kind: 'waiting', nextCheckAt: farCheck(step, entry, now), state: null };
  },
  'aws:approve': approve,
  'aws:executeAutomation': executeAutomation,
};

export function isBuiltIn(action: string): boolean {
  return Object.hasOwn(builtInActions, action);
}

/** A step waiting for a signal is looked at again when it would time out (signals dispatch a worker at once). */
function farCheck(step: RunbookStep, entry: StepExecution, now: Date): Date {
  const timeout = step.timeoutSeconds ?? actionRules[step.action].defaultTimeoutSeconds;
  const start = entry.startedAt ? Date.parse(entry.startedAt) : now.getTime();
  return new Date(timeout === undefined ? now.getTime() + 86_400_000 : start + timeout * 1000 + 1000);
}

function sleepUntil(inputs: Record<string, unknown>, entry: StepExecution): Date {
  if (typeof inputs.Timestamp === 'string') {
    const at = Date.parse(inputs.Timestamp);
    if (Number.isNaN(at)) throw new ActionFailure(`Timestamp ${inputs.Timestamp} is not an ISO 8601 timestamp`);
    return new Date(at);
  }
  const seconds = typeof inputs.Duration === 'string' ? isoDurationSeconds(inputs.Duration) : undefined;
  if (seconds === undefined || seconds < 0) throw new ActionFailure(`Duration ${String(inputs.Duration)} is not an ISO 8601 duration`);
  return new Date(Date.parse(entry.startedAt!) + seconds * 1000);
}

interface ApprovalState {
  decisions: { approver: string; decision: string; at: string; comment?: string }[];
  /** The approval request went to NotificationArn (staged with the write that set this). */
  notified?: boolean;
}

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?$/;

/**
 * aws:approve: on its first run an attempt asks for the approval request to be sent to `NotificationArn` (once: the
 * request is staged in the outbox by the same write that records it as asked); then it takes Approve and Reject
 * signals from listed approvers (anyone else's is refused and recorded; the CLI refuses them first), succeeds once
 * `MinRequiredApprovals` approved, and fails `Rejected by …` at the first rejection, as AWS does.
 */
async function approve(turn: Turn, step: RunbookStep, entry: StepExecution, inputs: Record<string, unknown>, now: Date): Promise<ActionResult> {
  const state = structuredClone((entry.actionState ?? { decisions: [] }) as unknown as ApprovalState);
  const approvers = Array.isArray(inputs.Approvers) ? (inputs.Approvers as unknown[]).filter((a): a is string => typeof a === 'string') : [];
  const ex = turn.execution;
  if (!state.notified && typeof inputs.NotificationArn === 'string' && inputs.NotificationArn !== '') {
    if (!SNS_TOPIC_ARN.test(inputs.NotificationArn)) throw new ActionFailure(`NotificationArn ${inputs.NotificationArn} is not an SNS topic ARN`);
    turn.notifications.push(approvalRequest(ex, step, entry, inputs, approvers, inputs.NotificationArn));
    state.notified = true;
  }
  for (;;) {
    const signal = takeSignal(turn, 'Approve') ?? takeSignal(turn, 'Reject');
    if (!signal) break;
    if (!isApprover(signal.approver, approvers, ex.accountId)) {
      // Only a signal written around the CLI gets here; it counts for nothing and is kept for the operator to see.
      await turn.deps.store.recordRefusal({
        at: now.toISOString(),
        documentName: ex.documentName,
        triggeredBy: signal.approver,
        reason: notAnApproverMessage(signal.approver, step.name, approvers, ex.executionId),
      });
      continue;
    }
    if (!state.decisions.some((d) => d.approver === signal.approver)) {
      state.decisions.push({ approver: signal.approver, decision: signal.kind === 'Approve' ? 'Approved' : 'Rejected', at: signal.at, ...(signal.comment ? { comment: signal.comment } : {}) });
    }
  }
  const decisions = state.decisions.map((d) => ({ ...d }));
  if (state.decisions.some((d) => d.decision === 'Rejected')) {
    entry.outputs = { ApprovalStatus: 'Rejected', ApproverDecisions: decisions };
    throw new ActionFailure(`Rejected by ${state.decisions.filter((d) => d.decision === 'Rejected').map((d) => d.approver).join(', ')}`);
  }
  const needed = typeof inputs.MinRequiredApprovals === 'number' ? inputs.MinRequiredApprovals : 1;
  if (state.decisions.length >= needed) return { kind: 'done', outputs: { ApprovalStatus: 'Approved', ApproverDecisions: decisions } };
  return { kind: 'waiting', nextCheckAt: farCheck(step, entry, now), state: state as unknown as JsonValue };
}

/** The SNS message that asks the approvers to decide: what, who, and the commands that decide. */
function approvalRequest(ex: Turn['execution'], step: RunbookStep, entry: StepExecution, inputs: Record<string, unknown>, approvers: string[], topicArn: string) {
  const needed = typeof inputs.MinRequiredApprovals === 'number' ? inputs.MinRequiredApprovals : 1;
  const message = typeof inputs.Message === 'string' ? inputs.Message : undefined;
  const text = [
    `Runbook ${ex.documentName} (execution ${ex.executionId}) is waiting for approval at step ${step.name}.`,
    ...(message ? ['', message, ''] : []),
    `Approvers: ${approvers.join(', ')} (${needed} approval${needed === 1 ? '' : 's'} needed; one denial rejects the step).`,
    `Approve: opsauto runbook approve ${ex.executionId} [--comment TEXT]`,
    `Deny:    opsauto runbook deny ${ex.executionId} [--comment TEXT]`,
    `Status:  opsauto runbook status ${ex.executionId}`,
  ].join('\n');
  return {
    detailType: 'Runbook Approval Requested',
    detail: { ExecutionId: ex.executionId, StepName: step.name, Attempt: entry.attempt, Approvers: approvers, MinRequiredApprovals: needed, ...(message ? { Message: message } : {}) },
    notification: {
      topicArn,
      // SNS subjects: at most 100 characters.
      subject: `Approval needed: ${ex.documentName} at ${step.name}`.slice(0, 100),
      message: text,
      ...(ex.assumeRole ? { roleArn: ex.assumeRole } : {}),
    },
  };
}

/** A child runbook: started once (its ID comes from the step's idempotency token), then waited on until it ends. */
async function executeAutomation(turn: Turn, _step: RunbookStep, entry: StepExecution, inputs: Record<string, unknown>, now: Date): Promise<ActionResult> {
  const { deps } = turn;
  const ex = turn.execution;
  let childId = (entry.actionState as { childId?: string } | null | undefined)?.childId;
  if (!childId) {
    const name = String(inputs.DocumentName);
    const loaded = await deps.loadRunbook(name, typeof inputs.DocumentVersion === 'string' ? inputs.DocumentVersion : undefined);
    const { execution } = await startExecution(
      {
        documentName: loaded.name,
        documentVersion: loaded.version,
        runbook: loaded.runbook,
        parameters: (inputs.RuntimeParameters ?? {}) as Record<string, unknown>,
        accountId: ex.accountId,
        region: ex.region,
        idempotencyKey: actionContext(turn, entry).idempotencyToken,
        parentExecutionId: ex.executionId,
        triggeredBy: `runbook:${ex.executionId}`,
        // A child acts with its parent's role: a runbook cannot widen its own permissions by calling another.
        roleArn: ex.assumeRole,
      },
      deps,
    );
    childId = execution.executionId;
    await deps.dispatch([childId]);
    return { kind: 'waiting', nextCheckAt: new Date(now.getTime() + turn.options.parentCheckMs), state: { childId } };
  }
  while (takeSignal(turn, 'ChildEnded'));
  const child = await deps.store.get(childId);
  if (!child) throw new ActionFailure(`child execution ${childId} is gone`);
  if (!isTerminal(child.execution.status)) {
    return { kind: 'waiting', nextCheckAt: new Date(now.getTime() + turn.options.parentCheckMs), state: { childId } };
  }
  const outputs = { ExecutionId: childId, Status: child.execution.status, Output: Object.entries(child.execution.outputs ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`) };
  if (child.execution.status !== 'Success' && child.execution.status !== 'CompletedWithSuccess') {
    entry.outputs = outputs;
    throw new ActionFailure(`child execution ${childId} ended ${child.execution.status}${child.execution.failureMessage ? `: ${child.execution.failureMessage}` : ''}`);
  }
  return { kind: 'done', outputs };
}
