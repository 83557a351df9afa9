import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { isApprover, notAnApproverMessage } from '../approvers.js';
import { isTerminal, type Execution, type ExecutionSignal, type ExecutionStore, type StepExecution } from '../execution.js';

/** The signals an operator sends (ChildEnded is the engine's own). */
export type OperatorSignalKind = Exclude<ExecutionSignal['kind'], 'ChildEnded'>;

const VERB: Record<OperatorSignalKind, string> = { Cancel: 'cancel', Resume: 'resume', Approve: 'approve', Reject: 'deny' };

/** The step run that is running or waiting now, if any. */
export function runningStep(ex: Execution): StepExecution | undefined {
  const last = ex.steps.at(-1);
  return last && last.name === ex.currentStep && (last.status === 'InProgress' || last.status === 'Waiting') ? last : undefined;
}

/**
 * Whether an execution can act on an operator's signal now; refuses with a sentence saying why (ValidationError).
 * Cancel needs an execution that has not ended and is not being cancelled; Resume one at an aws:pause step; Approve
 * and Reject one at an aws:approve step, from one of its `Approvers` (ForbiddenError naming who may decide; the caller
 * records the refusal), once per approver. Returns the step the signal is for (none for Cancel).
 *
 * @example
 * checkSignal(execution, 'Resume'); // throws unless the execution is at an aws:pause step
 */
export function checkSignal(ex: Execution, kind: OperatorSignalKind, approver?: string): StepExecution | undefined {
  const id = ex.executionId;
  if (isTerminal(ex.status)) throw new ValidationError(`execution ${id} has already ended (${ex.status}): nothing to ${VERB[kind]}`, 'executionId');
  if (kind === 'Cancel') {
    if (ex.status === 'Cancelling') throw new ValidationError(`execution ${id} is already being cancelled`, 'executionId');
    return undefined;
  }
  const wanted = kind === 'Resume' ? 'aws:pause' : 'aws:approve';
  const open = runningStep(ex);
  if (open?.action !== wanted) {
    const where = ex.rateControl ? 'it runs its runbook on targets, each in a child execution' : open ? `it is at step ${open.name} (${open.action}, ${open.status})` : `it is ${ex.status}`;
    throw new ValidationError(`execution ${id} has no step waiting at ${wanted}: ${where}`, 'executionId');
  }
  if (kind !== 'Resume') {
    const approvers = Array.isArray(open.inputs?.Approvers) ? (open.inputs.Approvers as unknown[]).filter((a): a is string => typeof a === 'string') : [];
    if (approver === undefined || !isApprover(approver, approvers, ex.accountId)) {
      throw new ForbiddenError(notAnApproverMessage(approver ?? 'an unknown caller', open.name, approvers, id), 'approver');
    }
    const decided = ((open.actionState ?? null) as { decisions?: { approver: string; decision: string }[] } | null)?.decisions?.find((d) => d.approver === approver);
    if (decided) throw new ValidationError(`${approver} has already decided at step ${open.name} (${decided.decision})`, 'approver');
  }
  return open;
}

/** Sends a signal to an execution and asks for a worker to act on it. */
export async function signalExecution(executionId: string, signal: ExecutionSignal, deps: { store: ExecutionStore; dispatch(executionIds: string[]): Promise<void> }): Promise<void> {
  await deps.store.signal(executionId, signal);
  await deps.dispatch([executionId]);
}

/** What `sendOperatorSignal` needs: the store, a dispatcher to the worker, and the time. */
export interface OperatorSignalDeps {
  store: ExecutionStore;
  dispatch(executionIds: string[]): Promise<void>;
  now(): Date;
}

/**
 * An operator's signal, as the CLI and the console send it: the execution is read, `checkSignal` decides whether it
 * can take the signal now (a decision by someone who is not an approver is recorded as a refusal, then refused with
 * ForbiddenError), and the signal is stored and dispatched. `approver` is the decider's identity (an ARN), needed for
 * Approve and Reject. Returns the execution as read and the step the signal is for.
 *
 * @throws NotFoundError for an unknown execution; ValidationError when it cannot take the signal now.
 * @example
 * await sendOperatorSignal('exec-1', 'Approve', { approver: 'arn:aws:iam::123456789012:user/alice' }, deps);
 */
export async function sendOperatorSignal(
  executionId: string,
  kind: OperatorSignalKind,
  options: { approver?: string; comment?: string },
  deps: OperatorSignalDeps,
): Promise<{ execution: Execution; step: StepExecution | undefined; signal: ExecutionSignal }> {
  const loaded = await deps.store.get(executionId);
  if (!loaded) throw new NotFoundError(`no execution ${executionId}`);
  const ex = loaded.execution;
  const deciding = kind === 'Approve' || kind === 'Reject';
  let step: StepExecution | undefined;
  try {
    step = checkSignal(ex, kind, deciding ? options.approver : undefined);
  } catch (e) {
    // A decision from someone who may not decide is kept for the operator to see (`opsauto runbook refusals`).
    if (e instanceof ForbiddenError && deciding && options.approver !== undefined) {
      await deps.store.recordRefusal({ at: deps.now().toISOString(), documentName: ex.documentName, triggeredBy: options.approver, reason: e.message.slice(0, 1000) });
    }
    throw e;
  }
  const at = deps.now().toISOString();
  const signal: ExecutionSignal = deciding ? { kind, at, approver: options.approver ?? '', ...(options.comment ? { comment: options.comment } : {}) } : { kind, at };
  await signalExecution(executionId, signal, deps);
  return { execution: ex, step, signal };
}
