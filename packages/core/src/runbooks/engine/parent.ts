import { isTerminal, type Execution, type ExecutionStatus, type RateCounters } from '../execution.js';
import type { ParameterValue } from '../values.js';
import type { EngineDeps } from './deps.js';
import { executionIdFor } from './start.js';
import { signalExecution } from './signals.js';
import { beginCurrentStep, createWithEvents, newTurn, save, setStatus, takeSignal, type RunOutcome, type Turn } from './turn.js';

// Rate control: a parent runs its runbook once per target, each run a child execution, at most concurrencyLimit at
// a time, and stops launching once more than errorLimit have failed. The parent starts the first children; after
// that each child, as it ends, hands its slot to the next target itself: one write records its end and reserves the
// next target (while the parent is read beside it), one creates the next child already claimed, and the same worker
// runs it. The parent only wakes to end, or every parentCheckMs to recover children that were lost.

/** A child created this recently and not yet picked up is on its way (its dispatch is in flight), not lost. */
const RECONCILE_GRACE_MS = 60_000;

const succeeded = (status: ExecutionStatus) => status === 'Success' || status === 'CompletedWithSuccess';

/** Whether a maintenance window's cutoff has passed: no target may be launched any more. */
const pastDeadline = (deadline: string | undefined, now: Date) => deadline !== undefined && now.getTime() >= Date.parse(deadline);

/**
 * Tells the parent that a child ended. A rate-controlled child hands its slot on: with `turn` (a worker that may go
 * on), the next child is created claimed and returned for this worker to run; without, it is dispatched. The last
 * child to end wakes the parent. A child of an aws:executeAutomation step wakes its parent at once.
 */
export async function reportToParent(ex: Execution, turn: Pick<Turn, 'deps' | 'deadline' | 'options'>): Promise<Execution | undefined> {
  const { deps } = turn;
  if (!ex.parentExecutionId || !isTerminal(ex.status)) return undefined;
  const ended = { kind: 'ChildEnded' as const, at: deps.clock.now().toISOString(), executionId: ex.executionId };
  if (ex.targetIndex === undefined) {
    await signalExecution(ex.parentExecutionId, ended, deps);
    return undefined;
  }
  const outcome = succeeded(ex.status) ? 'succeeded' : 'failed';
  let counters: RateCounters & { reserved?: number };
  let parent: { execution: Execution; signals: { kind: string }[] } | undefined;
  if (ex.parentRate && !pastDeadline(ex.parentRate.launchDeadline, deps.clock.now())) {
    [counters, parent] = await Promise.all([deps.store.finishAndReserveTarget(ex.parentExecutionId, ex.targetIndex, outcome, ex.parentRate), deps.store.get(ex.parentExecutionId)]);
  } else {
    counters = await deps.store.finishTarget(ex.parentExecutionId, ex.targetIndex, outcome);
  }
  let next: Execution | undefined;
  if (counters.reserved !== undefined && parent?.execution.rateControl) {
    // A cancel that came between the reservation and the parent's stopTargets: the child starts only to be cancelled.
    const cancelling = parent.execution.status === 'Cancelling' || parent.signals.some((s) => s.kind === 'Cancel');
    const inline = !cancelling && turn.deadline.getTime() - deps.clock.now().getTime() >= turn.options.inlineHandoffMinMs;
    next = await startChild(parent.execution, counters.reserved, deps, inline ? turn : undefined);
    if (cancelling) await signalExecution(executionIdFor(`${parent.execution.executionId}/target/${counters.reserved}`), { kind: 'Cancel', at: deps.clock.now().toISOString() }, deps);
  }
  // The last child to end wakes the parent to end it (a signal, so that the parent's wait for its next check gives way).
  if (counters.reserved === undefined && counters.running === 0) await signalExecution(ex.parentExecutionId, ended, deps);
  return next;
}

/**
 * Creates the child of target `index`. With `claim`, it is created already claimed by this worker (InProgress, its
 * first step begun, the lease held) and returned to be run now; otherwise created Pending and dispatched.
 */
async function startChild(parent: Execution, index: number, deps: EngineDeps, claim?: Pick<Turn, 'deadline' | 'options'>): Promise<Execution | undefined> {
  const child = childExecution(parent, index, deps);
  if (!claim) {
    const { created } = await deps.store.create(child);
    if (created) await deps.dispatch([child.executionId]);
    return undefined;
  }
  const turn = newTurn(child, [], deps, claim.deadline, claim.options);
  child.leaseUntil = new Date(claim.deadline.getTime() + claim.options.leaseMarginMs).toISOString();
  child.startedAt = child.createdAt;
  setStatus(turn, 'InProgress');
  beginCurrentStep(turn);
  if (await createWithEvents(turn)) return child;
  // It existed (an earlier, interrupted hand-off): whoever holds it, or the parent's check, runs it.
  await deps.dispatch([child.executionId]);
  return undefined;
}

/** Starts as many children as the parent's rate control allows now; returns their IDs (dispatched). */
async function launchTargets(parent: Execution, deps: EngineDeps): Promise<string[]> {
  const rate = parent.rateControl!;
  const ids: string[] = [];
  while (!pastDeadline(rate.launchDeadline, deps.clock.now())) {
    const index = await deps.store.reserveTarget(parent.executionId, { concurrencyLimit: rate.concurrencyLimit, errorLimit: rate.errorLimit, total: rate.targets.length });
    if (index === undefined) break;
    const child = childExecution(parent, index, deps);
    await deps.store.create(child);
    ids.push(child.executionId);
  }
  if (ids.length > 0) await deps.dispatch(ids);
  return ids;
}

/** The child execution of a parent's target `index` (its ID comes from the parent's and the index: created once). */
function childExecution(parent: Execution, index: number, deps: Pick<EngineDeps, 'clock'>): Execution {
  const rate = parent.rateControl!;
  const target = rate.targets[index];
  const declared = parent.runbook.parameters[rate.targetParameterName];
  const value: ParameterValue = declared && (declared.type === 'StringList' || declared.type.startsWith('List<')) ? [target] : target;
  return {
    executionId: executionIdFor(`${parent.executionId}/target/${index}`),
    documentName: parent.documentName,
    documentVersion: parent.documentVersion,
    runbook: parent.runbook,
    parameters: { ...parent.parameters, [rate.targetParameterName]: value },
    status: 'Pending',
    accountId: parent.accountId,
    region: parent.region,
    assumeRole: parent.assumeRole,
    createdAt: deps.clock.now().toISOString(),
    currentStep: parent.runbook.mainSteps[0]?.name,
    steps: [],
    parentExecutionId: parent.executionId,
    parentRate: { concurrencyLimit: rate.concurrencyLimit, errorLimit: rate.errorLimit, total: rate.targets.length, ...(rate.launchDeadline ? { launchDeadline: rate.launchDeadline } : {}) },
    target,
    targetIndex: index,
    triggeredBy: `runbook:${parent.executionId}`,
    version: 1,
  };
}

/**
 * A rate-controlled execution's turn: start the children the limits allow; end once none runs and none may start;
 * otherwise (a periodic check) create and dispatch children that were reserved but lost, and re-dispatch idle ones.
 */
export async function advanceParent(turn: Turn): Promise<RunOutcome> {
  const { deps } = turn;
  const ex = turn.execution;
  const rate = ex.rateControl!;
  while (takeSignal(turn, 'ChildEnded'));
  if (ex.status !== 'Cancelling' && takeSignal(turn, 'Cancel')) {
    setStatus(turn, 'Cancelling');
    await deps.store.stopTargets(ex.executionId);
    await save(turn);
  }
  if (ex.status !== 'Cancelling') await launchTargets(ex, deps);
  let counters = (await deps.store.get(ex.executionId))?.execution.counters ?? ex.counters!;
  if (counters.running > 0) {
    await reconcileChildren(turn, counters.launched);
    counters = (await deps.store.get(ex.executionId))?.execution.counters ?? counters;
  }
  ex.counters = counters;
  const now = deps.clock.now();
  const cutOff = counters.launched < rate.targets.length && pastDeadline(rate.launchDeadline, now);
  const stopped = counters.failed > rate.errorLimit || ex.status === 'Cancelling' || cutOff;
  if (counters.running === 0 && (counters.launched >= rate.targets.length || stopped)) {
    ex.endedAt = now.toISOString();
    ex.leaseUntil = undefined;
    ex.wakeAt = undefined;
    const status: ExecutionStatus =
      ex.status === 'Cancelling'
        ? 'Cancelled'
        : counters.failed > rate.errorLimit
          ? 'Failed'
          : cutOff
            ? 'TimedOut'
            : counters.failed > 0
              ? 'CompletedWithFailure'
              : 'Success';
    const failures = counters.failed > 0 ? `${counters.failed} of ${counters.launched} targets failed (MaxErrors ${rate.maxErrors})` : undefined;
    const cut = cutOff ? `the cutoff (${rate.launchDeadline}) came before ${rate.targets.length - counters.launched} of ${rate.targets.length} targets were launched` : undefined;
    if (failures || cut) ex.failureMessage = [failures, cut].filter(Boolean).join('; ');
    setStatus(turn, status);
    await save(turn);
    await reportToParent(ex, { deps, deadline: now, options: turn.options });
    return 'ended';
  }
  ex.wakeAt = new Date(now.getTime() + turn.options.parentCheckMs).toISOString();
  ex.leaseUntil = undefined;
  await save(turn);
  await deps.wakeUp(ex.executionId, new Date(ex.wakeAt));
  return 'waiting';
}

/** The safety net: every reserved target has a child, ended children are counted, unfinished idle ones get a worker. */
async function reconcileChildren(turn: Turn, launched: number): Promise<void> {
  const { deps } = turn;
  const ex = turn.execution;
  const now = deps.clock.now().getTime();
  const seen = new Set<number>();
  const redispatch: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.store.list({ parentExecutionId: ex.executionId, limit: 100, nextToken });
    for (const child of page.executions) {
      if (child.targetIndex === undefined) continue;
      seen.add(child.targetIndex);
      if (isTerminal(child.status)) await deps.store.finishTarget(ex.executionId, child.targetIndex, succeeded(child.status) ? 'succeeded' : 'failed');
      else if (Date.parse(child.createdAt) > now - RECONCILE_GRACE_MS && child.status === 'Pending') continue;
      else if (!child.leaseUntil || Date.parse(child.leaseUntil) < now) {
        if (ex.status === 'Cancelling') await deps.store.signal(child.executionId, { kind: 'Cancel', at: new Date(now).toISOString() });
        if (!child.wakeAt || Date.parse(child.wakeAt) <= now || ex.status === 'Cancelling') redispatch.push(child.executionId);
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  for (let index = 0; index < launched; index++) {
    if (seen.has(index)) continue;
    const child = childExecution(ex, index, deps);
    await deps.store.create(child);
    redispatch.push(child.executionId);
  }
  if (redispatch.length > 0) await deps.dispatch(redispatch);
}
