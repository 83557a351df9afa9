import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { automationTriggerEvent, EXECUTION_STATUS_DETAIL_TYPE, RUNBOOK_EVENT_SOURCE, type Automation, type AutomationTriggerEvent, type Firing, type FiringResult } from '@opsauto/core';
import type { RunbookSource } from '@opsauto/aws';
import type * as AutomationEngine from '../automation-engine.js';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';

type Engine = typeof AutomationEngine;

let source: RunbookSource | undefined;

/** The automations an event fires, and how: by name (a schedule, a run by hand) or by pattern (any other event). */
export function firings(event: AutomationTriggerEvent, automations: readonly Automation[], engine: Pick<Engine, 'automationPatterns' | 'matchesEventPattern' | 'NotFoundError' | 'ValidationError'>) {
  const { NotFoundError, ValidationError } = engine;
  if ('automation' in event) {
    const automation = automations.find((a) => a.name === event.automation);
    if (!automation) throw new NotFoundError(`no automation is named ${event.automation} (the config declares ${automations.map((a) => a.name).join(', ') || 'none'})`);
    return [{ automation, firing: { kind: 'manual', requestId: event.requestId, by: event.by } as Firing }];
  }
  if (event['detail-type'] === 'Scheduled Event' && typeof (event.detail as { trigger?: unknown }).trigger === 'string') {
    const name = (event.detail as { trigger: string }).trigger;
    const automation = automations.find((a) => a.name === name);
    if (!automation) throw new NotFoundError(`no automation is named ${name}: a schedule of an automation no longer in the config`);
    const scheduledTime = new Date(event.time);
    if (Number.isNaN(scheduledTime.getTime())) throw new ValidationError(`the scheduled event's time ${event.time} is not a date`, 'time');
    return [{ automation, firing: { kind: 'schedule', scheduledTime } as Firing }];
  }
  return automations
    .filter((a) => a.enabled)
    .filter((a) => engine.automationPatterns(a).some((pattern) => engine.matchesEventPattern(pattern, event)))
    .map((automation) => ({ automation, firing: { kind: 'event', event } as Firing }));
}

/**
 * Automations' schedules, events and Config rules, and runs by hand (`{automation, requestId, by, dryRun}`): each
 * firing becomes runbook executions (fireAutomation), dispatched to the worker. The engine loads on the first event.
 */
export const handler = eventHandler(automationTriggerEvent, async (event, context) => {
  const engine = await import('../automation-engine.js');
  const config = loadConfig();
  const tableName = requireEnv('TABLE_NAME');
  const followUps = new engine.DynamoFollowUpStore(clients, tableName);
  const opsItems = engine.ssmOpsItems(clients);
  if (!('automation' in event) && event['detail-type'] === EXECUTION_STATUS_DETAIL_TYPE && event.source === RUNBOOK_EVENT_SOURCE) {
    // An execution ended: the OpsItem it remediates, if any, is resolved or opened again.
    const { ExecutionId } = event.detail as { ExecutionId?: unknown };
    if (typeof ExecutionId !== 'string') return { results: [] };
    const settled = await engine.settleFollowUp(ExecutionId, { followUps, opsItems, store: new engine.DynamoExecutionStore(clients, tableName) });
    if (settled) logger.info('OpsItem remediation settled', { executionId: ExecutionId, opsItemId: settled.opsItemId });
    return { results: [], settled: settled ?? null };
  }
  const region = process.env.AWS_REGION ?? config.regions[0];
  const accountId = await engine.ownAccountId(clients, context.invokedFunctionArn);
  source ??= new engine.RunbookSource(clients, { shippedDirectory: resolve(process.env.RUNBOOKS_DIR ?? 'runbooks') });
  const runbooks = source;
  const store = new engine.DynamoExecutionStore(clients, tableName);
  const remediations = new engine.DynamoRemediationStore(clients, tableName);
  const checks = new engine.DynamoAutomationCheckStore(clients, tableName);
  const dispatch = engine.eventBridgeDispatch(clients, requireEnv('EVENT_BUS_NAME'));
  const dryRun = 'automation' in event && event.dryRun;
  const results: FiringResult[] = [];
  for (const { automation, firing } of firings(event, config.automations, engine)) {
    const fired = await engine.fireAutomation(
      automation,
      firing,
      {
        accountId,
        region,
        policy: engine.automationStartPolicy(config, automation, accountId, tableName),
        loadRunbook: (name, version) => runbooks.load(name, version),
        findInstances: engine.ec2InstanceFinder(clients, region),
        findManagedNodes: engine.ssmManagedNodeFinder(clients, region),
        store,
        remediations,
        dispatch,
        clock: systemClock,
        newId: randomUUID,
        inventory: (r) => engine.awsAutomationInventory(clients, r),
        regions: config.regions,
        checks,
        opsItems,
        followUps,
      },
      { dryRun },
    );
    for (const result of fired) {
      if ('refused' in result) logger.warn('automation refused', { automation: result.automation, group: result.group, reason: result.refused.slice(0, 300) });
      else if ('reported' in result) logger.warn('resource reported on an OpsItem', { ...result });
      else if (!('plan' in result)) logger.info('automation fired', { ...result });
      if ('created' in result && result.created) count(METRIC_NAMES.executionsStarted);
    }
    results.push(...fired);
  }
  // A scheduled check that had nothing to do (every firing skipped) is `idle`: out of the local stage's log.
  const idle = !dryRun && results.every((r) => 'skipped' in r);
  return idle ? { results, idle: true } : { results };
});
