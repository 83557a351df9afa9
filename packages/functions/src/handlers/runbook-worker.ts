import { ownAccountId } from '@opsauto/aws';
import { runbookWorkerEvent, type EngineDeps, type EngineOptions } from '@opsauto/core';
import type { Context } from 'aws-lambda';
import { resolve } from 'node:path';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';

/** The worker leaves this much of its Lambda time unused: the last save and its notifications must fit. */
const DEADLINE_MARGIN_MS = 30_000;
/** At most this many due executions are dispatched by one tick (the next tick takes the rest). */
const TICK_BATCH = 100;

let engine: (EngineDeps & { accountId: string }) | undefined;

/** The function's ARN without a version or alias: what a wake-up schedule invokes. */
function unqualified(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}

async function engineFor(context: Context): Promise<EngineDeps & { accountId: string }> {
  if (engine) return engine;
  const tableName = requireEnv('TABLE_NAME');
  const { runbookEngineAdapters } = await import('../runbook-engine.js');
  const adapters = runbookEngineAdapters(clients, {
    tableName,
    clock: systemClock,
    wakeUp: { functionArn: unqualified(context.invokedFunctionArn), roleArn: requireEnv('WAKE_UP_ROLE_ARN'), namePrefix: requireEnv('WAKE_UP_PREFIX') },
    pollIntervalMs: process.env.RUNBOOK_POLL_MS ? Number(process.env.RUNBOOK_POLL_MS) : undefined,
    onNotifyError: (e) => logger.warn('runbook status notification not sent', { errorName: (e as Error).name, errorMessage: (e as Error).message }),
    // The runbooks shipped with the function (`runbooks/`, copied into the bundle) before the account's documents.
    runbooks: { shippedDirectory: resolve(process.env.RUNBOOKS_DIR ?? 'runbooks') },
  });
  engine = { ...adapters, accountId: await ownAccountId(clients, context.invokedFunctionArn) };
  return engine;
}

function engineOptions(): EngineOptions {
  const inline = process.env.RUNBOOK_INLINE_WAIT_MS;
  return inline === undefined ? {} : { inlineWaitLimitMs: Number(inline) };
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
  const { ec2InstanceFinder, planStart, runExecution, startExecution } = await import('../runbook-engine.js');
  const deadline = () => new Date(systemClock.now().getTime() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  let executionIds: string[];
  if ('executionId' in event) executionIds = [event.executionId];
  else if (event['detail-type'] === 'Runbook Execution Dispatched') executionIds = event.detail.executionIds;
  else if (event['detail-type'] === 'Scheduled Event') {
    const due = await deps.store.listDue(systemClock.now(), TICK_BATCH);
    if (due.length > 0) await deps.dispatch(due);
    logger.info('runbook tick', { due: due.length });
    return { dispatched: due };
  } else {
    const region = process.env.AWS_REGION ?? event.region;
    const { request } = await planStart(
      { ...event.detail, idempotencyKey: event.detail.idempotencyKey ?? `event:${event.id}`, triggeredBy: `event:${event.source}` },
      { accountId: deps.accountId, region, loadRunbook: (name, version) => deps.loadRunbook(name, version), findInstances: ec2InstanceFinder(clients, region) },
    );
    const { execution, created } = await startExecution(request, deps);
    logger.info(created ? 'runbook execution started' : 'runbook execution already started', { executionId: execution.executionId, documentName: execution.documentName });
    executionIds = [execution.executionId];
  }
  const results = [];
  for (const id of executionIds) {
    const { outcome, execution } = await runExecution(id, deps, { deadline: deadline(), options: engineOptions() });
    logger.info('runbook execution turn', { executionId: id, outcome, status: execution?.status, currentStep: execution?.currentStep });
    results.push({ executionId: id, outcome, status: execution?.status });
  }
  return { results };
});
