import { ownAccountId } from '@opsauto/aws';
import type { StagePolicy } from '../runbook-policy.js';
import { isSucceeded, runbookWorkerEvent, type ActionContext, type ActionRunner, type EngineDeps, type EngineOptions, type RunResult } from '@opsauto/core';
import type { Context } from 'aws-lambda';
import { resolve } from 'node:path';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES, milliseconds } from '../metrics.js';

/** The worker leaves this much of its Lambda time unused: the last save and its notifications must fit. */
const DEADLINE_MARGIN_MS = 30_000;
/** At most this many due executions are dispatched by one tick (the next tick takes the rest). */
const TICK_BATCH = 100;

type Worker = EngineDeps & { accountId: string; policy: StagePolicy };

let worker: Worker | undefined;

/** The function's ARN without a version or alias: what a wake-up schedule invokes. */
function unqualified(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}

async function engineFor(context: Context): Promise<Worker> {
  if (worker) return worker;
  const tableName = requireEnv('TABLE_NAME');
  const { ActionFailure, mayAssume, runbookEngineAdapters, runbookStartPolicy } = await import('../runbook-engine.js');
  const adapters = runbookEngineAdapters(clients, {
    tableName,
    clock: systemClock,
    executionTtlDays: loadConfig().runbooks.executionTtlDays,
    wakeUp: { functionArn: unqualified(context.invokedFunctionArn), roleArn: requireEnv('WAKE_UP_ROLE_ARN'), namePrefix: requireEnv('WAKE_UP_PREFIX') },
    pollIntervalMs: process.env.RUNBOOK_POLL_MS ? Number(process.env.RUNBOOK_POLL_MS) : undefined,
    eventBusName: process.env.EVENT_BUS_NAME || undefined,
    executeScriptFunction: process.env.EXECUTE_SCRIPT_FUNCTION || undefined,
    onPublishError: (e) => logger.warn('runbook events not published; they stay in the outbox for the tick', { errorName: (e as Error).name, errorMessage: (e as Error).message }),
    onNotificationDropped: (entry, e) => {
      count(METRIC_NAMES.notificationsFailed);
      logger.warn('approval request not sent to its NotificationArn, and not retried', { eventId: entry.id, topicArn: entry.notification?.topicArn, errorName: (e as Error).name, errorMessage: (e as Error).message });
    },
    // An approval request is published as the execution's role, checked as before every step.
    mayPublishAs: (role) => worker !== undefined && mayAssume(worker.policy, role),
    // The runbooks shipped with the function (`runbooks/`, copied into the bundle) before the account's documents.
    runbooks: { shippedDirectory: resolve(process.env.RUNBOOKS_DIR ?? 'runbooks') },
  });
  const accountId = await ownAccountId(clients, context.invokedFunctionArn);
  const policy = runbookStartPolicy(loadConfig(), accountId, tableName);
  worker = { ...adapters, accountId, policy, actions: asAllowedRole(adapters.actions, (role) => mayAssume(policy, role), ActionFailure) };
  return worker;
}

/**
 * The worker holds no permission to change anything itself: every step acts as its execution's role. A role that is
 * not the stage's own runbook role nor one the config allows is refused here, before STS is asked for it.
 */
function asAllowedRole(actions: ActionRunner, mayAssume: (roleArn: string) => boolean, Failure: new (message: string) => Error): ActionRunner {
  const check = (context: ActionContext) => {
    if (!context.assumeRole) throw new Failure('the execution has no role to run its steps as (it was not started through opsauto)');
    if (!mayAssume(context.assumeRole)) throw new Failure(`role ${context.assumeRole} is not one runbooks may run as here (runbooks.assumeRoles)`);
  };
  return {
    start: (action, inputs, context) => {
      check(context);
      return actions.start(action, inputs, context);
    },
    poll: (action, inputs, state, context) => {
      check(context);
      return actions.poll(action, inputs, state, context);
    },
  };
}

function engineOptions(): EngineOptions {
  const { maxStepTransitionsPerTurn, maxStepTransitionsPerExecution } = loadConfig().runbooks;
  const inline = process.env.RUNBOOK_INLINE_WAIT_MS;
  return { maxTransitionsPerTurn: maxStepTransitionsPerTurn, maxTransitionsPerExecution: maxStepTransitionsPerExecution, ...(inline === undefined ? {} : { inlineWaitLimitMs: Number(inline) }) };
}

/**
 * The runbook engine's worker. A `Runbook Execution Requested` event starts an execution (its event ID is the
 * idempotency key: a redelivered event starts nothing new) and runs it; `Runbook Execution Dispatched` runs the
 * executions it names; a wake-up (`{executionId}`, from EventBridge Scheduler) resumes one; the 5-minute tick
 * dispatches every execution that is due (a lost wake-up, a worker that died holding one).
 */
export const handler = eventHandler(runbookWorkerEvent, async (event, context) => {
  const deps = await engineFor(context);
  // Loaded on the first event, not at init: the engine, its YAML parser and the AWS adapters (runbook-engine.ts).
  const { continueExecution, ec2InstanceFinder, ForbiddenError, planStart, runExecution, startExecution } = await import('../runbook-engine.js');
  const deadline = () => new Date(systemClock.now().getTime() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  let executionIds: string[];
  if ('executionId' in event) executionIds = [event.executionId];
  else if (event['detail-type'] === 'Runbook Execution Dispatched') executionIds = event.detail.executionIds;
  else if (event['detail-type'] === 'Scheduled Event') {
    const due = await deps.store.listDue(systemClock.now(), TICK_BATCH);
    // A tick that finds nothing says nothing: it runs every few minutes.
    if (due.length > 0) {
      await deps.dispatch(due);
      logger.info('runbook tick', { due: due.length });
    }
    // `idle` keeps a tick that found nothing out of the local stage's log (about 288 lines a virtual day otherwise).
    return due.length > 0 ? { dispatched: due } : { dispatched: due, idle: true };
  } else {
    const region = process.env.AWS_REGION ?? event.region;
    let request;
    try {
      ({ request } = await planStart(
        { ...event.detail, idempotencyKey: event.detail.idempotencyKey ?? `event:${event.id}`, triggeredBy: `event:${event.source}` },
        {
          accountId: deps.accountId,
          region,
          policy: deps.policy,
          loadRunbook: (name, version) => deps.loadRunbook(name, version),
          findInstances: ec2InstanceFinder(clients, region),
        },
      ));
    } catch (e) {
      // Refused for good: retrying the event would be refused again.
      if (!(e instanceof ForbiddenError)) throw e;
      logger.warn('runbook start refused', { field: e.field, reason: e.message.slice(0, 300) });
      await deps.store.recordRefusal({
        at: systemClock.now().toISOString(),
        documentName: event.detail.documentName,
        triggeredBy: `event:${event.source}`,
        reason: e.message.slice(0, 1000),
        ...(event.detail.idempotencyKey ? { idempotencyKey: event.detail.idempotencyKey } : {}),
      });
      return { refused: e.message };
    }
    const { execution, created } = await startExecution(request, deps);
    if (created) count(METRIC_NAMES.executionsStarted);
    logger.info(created ? 'runbook execution started' : 'runbook execution already started', { executionId: execution.executionId, documentName: execution.documentName });
    executionIds = [execution.executionId];
  }
  const results = [];
  for (const id of executionIds) {
    let since = systemClock.now().getTime();
    let result: RunResult = await runExecution(id, deps, { deadline: deadline(), options: engineOptions() });
    results.push(logTurn(id, result, since));
    // A child that ended handed its slot to the next target: this worker runs it now.
    while (result.next) {
      const nextId = result.next.executionId;
      since = systemClock.now().getTime();
      result = await continueExecution(result.next, deps, { deadline: deadline(), options: engineOptions() });
      results.push(logTurn(nextId, result, since));
    }
  }
  return { results };
});

/** Executions that ended badly: ExecutionsFailed (a cancellation is an operator's choice, not a failure). */
const FAILED = new Set(['Failed', 'TimedOut', 'CompletedWithFailure']);

/**
 * Logs a turn and counts it: ExecutionsSucceeded / ExecutionsFailed when the execution ended, and StepDuration for
 * each step run that ended during the turn (ended at or after `since`, epoch ms), so that no step is counted twice.
 */
function logTurn(executionId: string, { outcome, execution }: RunResult, since: number) {
  logger.info('runbook execution turn', { executionId, outcome, status: execution?.status, currentStep: execution?.currentStep });
  for (const step of execution?.steps ?? []) {
    const ended = step.endedAt ? Date.parse(step.endedAt) : NaN;
    const started = step.startedAt ? Date.parse(step.startedAt) : NaN;
    if (ended >= since && Number.isFinite(started)) milliseconds(METRIC_NAMES.stepDuration, ended - started);
  }
  if (outcome === 'ended' && execution) {
    if (isSucceeded(execution.status)) count(METRIC_NAMES.executionsSucceeded);
    else if (FAILED.has(execution.status)) count(METRIC_NAMES.executionsFailed);
  }
  return { executionId, outcome, status: execution?.status };
}
