import { randomUUID } from 'node:crypto';
import { awsAutomationInventory, DynamoAutomationCheckStore, DynamoFollowUpStore, DynamoRemediationStore, ownAccountId, ssmOpsItems } from '@opsauto/aws';
import { ec2InstanceFinder, ssmManagedNodeFinder } from '@opsauto/aws/runbooks';
import {
  automationOf,
  describeSchedule,
  fireAutomation,
  formatInZone,
  NotFoundError,
  parseScheduleExpression,
  triggerSchedule,
  type Automation,
  type ExecutionSummary,
} from '@opsauto/core';
import { automationStartPolicy } from '@opsauto/functions';
import type { Command } from 'commander';
import { print } from '../output.js';
import type { GlobalOptions } from '../stage-context.js';
import { deciderIdentity, hint, localServing, printPlan, runbooks, runbookSource } from './runbook.js';

/**
 * An automation's trigger in words, as an operator reads it, with the RDS events that also fire office hours over RDS
 * (automationPatterns).
 */
export function triggerInWords(automation: Automation): string {
  const own = ownTriggerInWords(automation);
  return automation.officeHours?.resources.includes('rds') ? `${own}, and RDS starting a stopped instance or cluster again` : own;
}

function ownTriggerInWords(automation: Automation): string {
  const t = automation.trigger;
  if ('schedule' in t) return describeSchedule(t.schedule, t.timezone);
  if ('maintenanceWindow' in t) {
    const w = t.maintenanceWindow;
    return `window ${describeSchedule(w.schedule, w.timezone)}, for ${w.duration}, no new target in the last ${w.cutoff}`;
  }
  if ('configRules' in t) return `Config rule ${t.configRules.join(' or ')} finds a resource NON_COMPLIANT`;
  if ('opsItems' in t) return `an OpsItem of ${t.opsItems.source} set to ${t.opsItems.status.join(' or ')}`;
  const pattern = t.event as { source?: unknown; 'detail-type'?: unknown };
  return `event ${[pattern.source, pattern['detail-type']].filter(Boolean).map((v) => JSON.stringify(v)).join(' ')}`.trim();
}

/** The next time a timed automation fires, in its own time zone; '' for event-driven ones and disabled ones. */
export function nextRun(automation: Automation, now: Date): string {
  const schedule = triggerSchedule(automation.trigger);
  if (!schedule || !automation.enabled) return '';
  const next = parseScheduleExpression(schedule.expression, schedule.timezone).nextAfter(now);
  return next ? formatInZone(next, schedule.timezone) : 'never';
}

/** Pages of executions read to find each automation's last run (newest first). */
const LAST_RUN_PAGES = 5;

async function lastRuns(list: (token?: string) => Promise<{ executions: ExecutionSummary[]; nextToken?: string }>, names: string[]): Promise<Map<string, ExecutionSummary>> {
  const last = new Map<string, ExecutionSummary>();
  let token: string | undefined;
  for (let page = 0; page < LAST_RUN_PAGES && last.size < names.length; page++) {
    const { executions, nextToken } = await list(token);
    for (const ex of executions) {
      const name = automationOf(ex.triggeredBy);
      if (name && !last.has(name)) last.set(name, ex);
    }
    if (!nextToken) break;
    token = nextToken;
  }
  return last;
}

export function automationCommands(program: Command): void {
  const automations = program.command('automations');

  automations
    .command('list')
    .description('every automation of the config: its trigger in words, its next run in its own time zone, its last result')
    .action(async () => {
      const { ctx, store } = await runbooks(program);
      const now = ctx.clock.now();
      const last = await lastRuns((nextToken) => store.list({ limit: 100, nextToken }), ctx.config.automations.map((a) => a.name));
      const rows = ctx.config.automations.map((a) => {
        const run = last.get(a.name);
        return {
          name: a.name,
          runbook: a.runbook ?? (a.officeHours ? 'office hours' : 'night resize'),
          trigger: triggerInWords(a) + (a.enabled ? '' : ' (disabled)'),
          nextRun: nextRun(a, now),
          lastRun: run ? `${run.status} ${run.createdAt} ${run.executionId}` : '',
        };
      });
      print(rows, program, ['name', 'runbook', 'trigger', 'nextRun', 'lastRun']);
    });

  automations
    .command('run <name>')
    .description("run an automation now, as its trigger would: its runbook, parameters, targets and role")
    .option('--dry-run', 'print the plan (parameters, steps, targets and limits); start and change nothing')
    .action((name: string, opts: { dryRun?: boolean }) => runAutomation(program, name, { dryRun: opts.dryRun }));

  automations
    .command('remediations <resourceId>')
    .description("Config remediations of a resource: rule, evaluation time, execution and its status")
    .action(async (resourceId: string) => {
      const { ctx, store } = await runbooks(program);
      const records = await new DynamoRemediationStore(ctx.clients, ctx.tableName).listByResource(resourceId);
      const rows = await Promise.all(
        records.map(async (r) => ({ ...r, status: (await store.get(r.executionId))?.execution.status ?? 'not started' })),
      );
      print(rows, program, ['rule', 'resourceType', 'resourceId', 'evaluatedAt', 'automation', 'executionId', 'status', 'recordedAt']);
    });
}

/**
 * Fires an automation by hand, as its trigger would (its runbook, parameters, targets and role), and prints what each
 * start came to; exits 1 when a start is refused. `event` stands for what the run's `{{ event.… }}` read (an OpsItem
 * for `volumes remediate`); `region`, where a single-runbook automation runs (default the first configured).
 */
export async function runAutomation(program: Command, name: string, options: { dryRun?: boolean; event?: Record<string, unknown>; region?: string }): Promise<void> {
  const { ctx, store, dispatch } = await runbooks(program);
  const automation = ctx.config.automations.find((a) => a.name === name);
  if (!automation) throw new NotFoundError(`no automation is named ${name} (the config declares ${ctx.config.automations.map((a) => a.name).join(', ') || 'none'})`);
  const region = options.region ?? ctx.config.regions[0];
  const accountId = await ownAccountId(ctx.clients);
  const by = await deciderIdentity(ctx, undefined, accountId);
  const source = runbookSource(ctx);
  const results = await fireAutomation(
    automation,
    { kind: 'manual', requestId: randomUUID(), by, ...(options.event ? { event: options.event } : {}) },
    {
      accountId,
      region,
      policy: automationStartPolicy(ctx.config, automation, accountId, ctx.tableName),
      loadRunbook: (document, version) => source.load(document, version),
      findInstances: ec2InstanceFinder(ctx.clients, region),
      findManagedNodes: ssmManagedNodeFinder(ctx.clients, region),
      store,
      remediations: new DynamoRemediationStore(ctx.clients, ctx.tableName),
      dispatch,
      clock: ctx.clock,
      newId: randomUUID,
      inventory: (r) => awsAutomationInventory(ctx.clients, r),
      regions: ctx.config.regions,
      checks: new DynamoAutomationCheckStore(ctx.clients, ctx.tableName),
      opsItems: ssmOpsItems(ctx.clients),
      followUps: new DynamoFollowUpStore(ctx.clients, ctx.tableName),
    },
    { dryRun: options.dryRun },
  );
  const refused = results.filter((r) => 'refused' in r).length;
  const refusedError = () => new Error(`${refused} start(s) of automation ${name} refused (see above; opsauto runbook refusals keeps them)`);
  if (program.opts<GlobalOptions>().json) {
    print(results, program);
    if (refused > 0) throw refusedError();
    return;
  }
  for (const result of results) {
    const what = result.group ? `${name} (${result.group})` : name;
    if ('plan' in result) {
      console.log(`automation ${what} would start:`);
      const loaded = await source.load(result.plan.documentName, result.plan.documentVersion);
      printPlan(program, result.plan, await localServing(loaded.runbook, source));
    } else if ('refused' in result) {
      console.log(`automation ${what} refused: ${result.refused}`);
    } else if ('skipped' in result) {
      console.log(`automation ${what}: nothing to do (${result.skipped})`);
    } else if ('reported' in result) {
      console.log(`automation ${what}: ${result.resource} needs an operator: ${result.reported}${result.opsItemId ? ` (OpsItem ${result.opsItemId})` : ''}`);
    } else {
      console.log(`automation ${what} started execution ${result.executionId}; follow it: ${hint(program, `status ${result.executionId}`)}`);
    }
  }
  if (refused > 0) throw refusedError();
}
