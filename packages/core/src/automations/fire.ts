import type { Clock } from '../clock.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { executionIdFor, startExecution, type EngineDeps } from '../runbooks/engine/index.js';
import type { ExecutionStore } from '../runbooks/execution.js';
import { planStart, type ExecutionPlan, type StartInput, type StartPorts } from '../runbooks/start.js';
import { MAX_TARGET_VALUES } from '../runbooks/targets.js';
import type { Automation } from './automation.js';
import { automationStart, configEvaluation, firingKey, type Firing } from './firing.js';
import { planNightResize, type ResizableInstance } from './night-resize.js';
import { planOfficeHours, type OfficeHoursSkip, type ScheduledResource } from './office-hours.js';
import { opsItemContext, type FollowUpStore, type OpsItemPort } from './ops-items.js';
import { isSucceeded, isTerminal } from '../runbooks/execution.js';
import type { RemediationStore } from './remediation.js';

/** What one start of a firing came to (`group` names it when a firing starts several: `stop-ec2`, `resize:i-…`). */
export type FiringResult = { automation: string; group?: string } & (
  | { executionId: string; created: boolean }
  | { plan: ExecutionPlan }
  | { skipped: string }
  | { refused: string }
  /** A resource an operator has to repair, reported on an OpsItem (`opsItemId`; none on a dry run). */
  | { reported: string; resource: string; opsItemId?: string }
);

/** Reads the resources office hours and night resize act on. */
export interface AutomationInventory {
  /** EC2 instances, RDS instances and Aurora clusters tagged `key=value`, not terminated or deleted. */
  scheduled(tag: { key: string; value: string }, kinds: readonly ('ec2' | 'rds')[]): Promise<ScheduledResource[]>;
  /** EC2 instances carrying any of `tagKeys`, not terminated. */
  resizable(tagKeys: readonly string[]): Promise<ResizableInstance[]>;
}

/** The last check of an automation that checks periods: when it ran and what it left to retry. */
export interface AutomationCheck {
  at: string;
  retryIds: string[];
  /** Start executions of this check (and earlier ones still running), read at the next check for failures. */
  starts?: { executionId: string; ids: string[] }[];
  /** Resources whose own start execution failed, with why: not started again before the next start of the period. */
  failed?: Record<string, string>;
  /** Resources reported on an OpsItem, for as long as they still need an operator: reported once, not at every check. */
  reported?: string[];
}

export interface AutomationCheckStore {
  /** Records this check and returns the one before it (undefined for the first). */
  swap(automation: string, check: AutomationCheck): Promise<AutomationCheck | undefined>;
}

export interface FireDeps extends StartPorts {
  store: ExecutionStore;
  remediations: RemediationStore;
  dispatch: EngineDeps['dispatch'];
  clock: Clock;
  newId(): string;
  /** Office hours and night resize only: the resources of a region, in each of `regions` (default: `region`). */
  inventory?: (region: string) => AutomationInventory;
  regions?: readonly string[];
  checks?: AutomationCheckStore;
  /** OpsItem-triggered automations only: the item is read, told of the execution, and settled when it ends. */
  opsItems?: OpsItemPort;
  followUps?: FollowUpStore;
}

/** One start a firing asks for, with the group it belongs to (several starts per firing for periodic checks). */
interface Start {
  group?: string;
  /** Where the execution runs (its steps' region): default the deps' region. */
  region?: string;
  input: StartInput;
  /** Office hours: the resources a start group's execution starts, to learn at the next check whether it failed. */
  starting?: string[];
}

/**
 * One firing of an automation. A runbook automation starts one execution of its runbook as its role (in
 * `deps.policy`), keyed by the firing (a schedule time, an event, a Config evaluation) so that a duplicate or retried
 * delivery starts nothing new; a Config remediation is recorded by rule and resource first, and an evaluation older
 * than one already remediated (a late event) starts nothing. Office hours and night resize read their resources and
 * start one execution per action (stop EC2, start RDS, ...; one per resized instance), each keyed by the firing and
 * its group. Targets that match nothing end quietly (`skipped`); a start the policy or the runbook refuses is
 * recorded where `opsauto runbook refusals` shows it (`refused`). Executions are dispatched to the worker.
 */
export async function fireAutomation(automation: Automation, firing: Firing, deps: FireDeps, options: { dryRun?: boolean } = {}): Promise<FiringResult[]> {
  const name = automation.name;
  let starts: Start[];
  let reports: FiringResult[] = [];
  if (automation.officeHours) ({ starts, reports } = await officeHoursStarts(automation, firing, deps, options));
  else if (automation.nightResize) starts = await nightResizeStarts(automation, firing, deps);
  else {
    let input: StartInput;
    try {
      firing = await withOpsItem(automation, firing, deps);
      input = automationStart(automation, firing);
    } catch (e) {
      // A start that cannot be formed (a parameter takes {{ event.… }} that this event, or a run by hand, lacks) is
      // refused for good, as a start the policy refuses: kept where `opsauto runbook refusals` shows it.
      if (!(e instanceof ValidationError)) throw e;
      const triggeredBy = firing.kind === 'manual' ? `automation:${name} (run by ${firing.by})` : `automation:${name}`;
      return [{ automation: name, ...(await refuse(e, { documentName: automation.runbook!, triggeredBy, idempotencyKey: firingKey(automation, firing) }, deps, options)) }];
    }
    starts = [{ input }];
  }
  if (starts.length === 0) return reports.length > 0 ? reports : [{ automation: name, skipped: 'nothing to change' }];
  const results: FiringResult[] = [...reports];
  for (const { group, region, input } of starts) {
    results.push({ automation: name, ...(group ? { group } : {}), ...(await startOne(automation, firing, input, region ? { ...deps, region } : deps, options)) });
  }
  return results;
}

/** A start refused for good (asking again would be refused again): kept where `opsauto runbook refusals` shows it. */
async function refuse(e: Error, start: { documentName: string; triggeredBy: string; idempotencyKey?: string }, deps: FireDeps, options: { dryRun?: boolean }): Promise<{ refused: string }> {
  if (!options.dryRun) await deps.store.recordRefusal({ at: deps.clock.now().toISOString(), ...start, reason: e.message.slice(0, 1000) });
  return { refused: e.message };
}

type Outcome = { executionId: string; created: boolean } | { plan: ExecutionPlan } | { skipped: string } | { refused: string };

async function startOne(automation: Automation, firing: Firing, input: StartInput, deps: FireDeps, options: { dryRun?: boolean }): Promise<Outcome> {
  let planned;
  try {
    planned = await planStart(input, deps);
  } catch (e) {
    if (e instanceof ValidationError && e.field === 'targets') return { skipped: e.message };
    if (!(e instanceof ValidationError || e instanceof ForbiddenError || e instanceof NotFoundError)) throw e;
    return refuse(e, { documentName: input.documentName, triggeredBy: input.triggeredBy!, idempotencyKey: input.idempotencyKey }, deps, options);
  }
  if (options.dryRun) return { plan: planned.plan };
  const evaluation = firing.kind === 'event' ? configEvaluation(firing.event) : undefined;
  if (evaluation) {
    const { rule, resourceType, resourceId, evaluatedAt } = evaluation;
    const claim = await deps.remediations.record({ rule, resourceType, resourceId, evaluatedAt, automation: automation.name, executionId: executionIdFor(input.idempotencyKey!), recordedAt: deps.clock.now().toISOString() });
    if (claim === 'superseded') return { skipped: `a later evaluation of ${evaluation.rule} for ${evaluation.resourceId} was remediated already` };
  }
  const opsItem = opsItemOf(firing);
  if (opsItem) {
    // Claimed before the start, so that however the execution ends its item is settled, and that no second
    // remediation of the item starts while this one runs.
    const executionId = executionIdFor(input.idempotencyKey!);
    const claim = await need(deps.followUps, 'a follow-up store').claim({ executionId, automation: automation.name, opsItemId: opsItem.id, region: deps.region });
    if (!claim.claimed) return { skipped: `OpsItem ${opsItem.id} is being remediated by execution ${claim.executionId}` };
  }
  const { execution, created } = await startExecution(planned.request, deps);
  // A replay whose dispatch was lost dispatches again: the worker runs an execution once whatever the count.
  if (created || execution.status === 'Pending') await deps.dispatch([execution.executionId]);
  if (opsItem && created) await deps.opsItems!.update(opsItem.id, deps.region, { note: `${automation.name}: execution ${execution.executionId} started` });
  return { executionId: execution.executionId, created };
}

/** The OpsItem a firing remediates, as withOpsItem put it into its event. */
function opsItemOf(firing: Firing): { id: string } | undefined {
  const event = firing.kind === 'event' || firing.kind === 'manual' ? firing.event : undefined;
  const item = (event as { opsItem?: { id?: unknown } } | undefined)?.opsItem;
  return typeof item?.id === 'string' ? { id: item.id } : undefined;
}

/**
 * For an OpsItem-triggered automation, the firing with the item read into its event (`event.opsItem`): from the
 * `OpsItem Update` event's `ops-item-id`, or the `opsItem.id` a run by hand names.
 *
 * @throws ValidationError when the item does not exist (a refusal: asking again would be refused again).
 */
async function withOpsItem(automation: Automation, firing: Firing, deps: FireDeps): Promise<Firing> {
  if (!('opsItems' in automation.trigger) || firing.kind === 'schedule') return firing;
  const event = firing.event ?? {};
  const id = (event as { detail?: { 'ops-item-id'?: unknown } }).detail?.['ops-item-id'] ?? (event as { opsItem?: { id?: unknown } }).opsItem?.id;
  if (typeof id !== 'string') return firing;
  const item = await need(deps.opsItems, 'OpsCenter').get(id, deps.region);
  if (!item) throw new ValidationError(`OpsItem ${id} does not exist in ${deps.region}`, 'opsItem');
  return { ...firing, event: { ...event, opsItem: opsItemContext(item) } } as Firing;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is needed to fire this automation`);
  return value;
}

/** When the firing happened: a schedule's time, an event's, or now. */
function firedAt(firing: Firing, clock: Clock): Date {
  if (firing.kind === 'schedule') return firing.scheduledTime;
  return clock.now();
}

/**
 * A start of `documentName` over `values` of `parameter` in `region` (at most MAX_TARGET_VALUES a start: chunks
 * beyond), grouped as `<region>/<group>`.
 */
function targetStarts(automation: Automation, key: string, region: string, group: string, documentName: string, parameter: string, values: string[], parameters: Record<string, unknown> = {}): Start[] {
  const starts: Start[] = [];
  for (let i = 0; i < values.length; i += MAX_TARGET_VALUES) {
    const chunk = values.slice(i, i + MAX_TARGET_VALUES);
    const suffix = values.length > MAX_TARGET_VALUES ? `:${i / MAX_TARGET_VALUES}` : '';
    starts.push({
      group: `${region}/${group}${suffix}`,
      region,
      input: {
        documentName,
        parameters,
        targets: [{ Key: 'ParameterValues', Values: chunk }],
        targetParameterName: parameter,
        ...(automation.maxConcurrency ? { maxConcurrency: automation.maxConcurrency } : {}),
        ...(automation.maxErrors ? { maxErrors: automation.maxErrors } : {}),
        idempotencyKey: `${key}:${region}:${group}${suffix}`,
        triggeredBy: `automation:${automation.name}`,
      },
    });
  }
  return starts;
}

/**
 * RDS-EVENT-0154 (an instance AWS started after 7 days stopped) and RDS-EVENT-0153 (a cluster): the resource to
 * act on now, whatever `enforce` says.
 */
function restartedByAws(firing: Firing): string[] {
  if (firing.kind !== 'event') return [];
  const detail = firing.event.detail as { EventID?: unknown; SourceIdentifier?: unknown } | undefined;
  return (detail?.EventID === 'RDS-EVENT-0154' || detail?.EventID === 'RDS-EVENT-0153') && typeof detail.SourceIdentifier === 'string' ? [detail.SourceIdentifier] : [];
}

const regionsOf = (deps: FireDeps) => deps.regions ?? [deps.region];

/**
 * EC2 instances a Start/StopInstances call (and aws:changeInstanceState's DescribeInstanceStatus, which takes at most
 * 100 instance IDs) acts on at once: one execution of the EC2 runbook per batch, its InstanceId list the batch.
 */
export const EC2_BATCH = 100;

/** Executions of `documentName` with `parameter` set to a batch of `ids` each, grouped as `<region>/<group>[:n]`. */
function batchStarts(automation: Automation, key: string, region: string, group: string, documentName: string, parameter: string, ids: string[]): Start[] {
  const starts: Start[] = [];
  for (let i = 0; i < ids.length; i += EC2_BATCH) {
    const suffix = ids.length > EC2_BATCH ? `:${i / EC2_BATCH}` : '';
    starts.push({
      group: `${region}/${group}${suffix}`,
      region,
      input: {
        documentName,
        parameters: { [parameter]: ids.slice(i, i + EC2_BATCH) },
        idempotencyKey: `${key}:${region}:${group}${suffix}`,
        triggeredBy: `automation:${automation.name}`,
      },
    });
  }
  return starts;
}

/**
 * What the start executions of the checks before came to: resources whose own start failed (`failed`, not started
 * again before the next start of the period), resources of a failed batch (`isolate`: started one per execution
 * next, so that one bad instance does not keep a hundred down), and starts still running (looked at next time).
 */
async function startOutcomes(previous: AutomationCheck | undefined, deps: FireDeps) {
  const failed: Record<string, string> = { ...previous?.failed };
  const isolate = new Set<string>();
  const running: NonNullable<AutomationCheck['starts']> = [];
  for (const start of previous?.starts ?? []) {
    const execution = (await deps.store.get(start.executionId))?.execution;
    if (!execution) continue;
    if (!isTerminal(execution.status)) running.push(start);
    else if (isSucceeded(execution.status)) continue;
    else if (start.ids.length === 1) failed[start.ids[0]] = `execution ${start.executionId} ended ${execution.status}${execution.failureMessage ? `: ${execution.failureMessage.slice(0, 300)}` : ''}`;
    else for (const id of start.ids) isolate.add(id);
  }
  return { failed, isolate, running };
}

async function officeHoursStarts(automation: Automation, firing: Firing, deps: FireDeps, options: { dryRun?: boolean }): Promise<{ starts: Start[]; reports: FiringResult[] }> {
  const office = automation.officeHours!;
  const inventory = need(deps.inventory, 'an inventory of resources');
  const now = firedAt(firing, deps.clock);
  const previous = options.dryRun ? undefined : await need(deps.checks, 'a check store').swap(automation.name, { at: now.toISOString(), retryIds: [] });
  const forceIds = [...restartedByAws(firing), ...(previous?.retryIds ?? [])];
  const outcomes = await startOutcomes(previous, deps);
  const wasReported = new Set(previous?.reported ?? []);
  const key = firingKey(automation, firing);
  const starts: Start[] = [];
  const reports: FiringResult[] = [];
  const next: AutomationCheck = { at: now.toISOString(), retryIds: [], starts: outcomes.running, failed: {}, reported: [] };
  for (const region of regionsOf(deps)) {
    const listed = await inventory(region).scheduled({ key: office.tag, value: office.value ?? automation.name }, office.resources);
    const resources = listed.map((r) => (outcomes.failed[r.id] && r.startFailure === undefined ? { ...r, startFailure: outcomes.failed[r.id] } : r));
    const plan = planOfficeHours(resources, office, { now, ...(previous ? { previousCheck: new Date(previous.at) } : {}), forceIds });
    next.retryIds.push(...plan.skipped.filter((s) => s.retry).map((s) => s.id));
    for (const s of plan.skipped.filter((s) => s.report)) {
      next.reported!.push(s.id);
      if (outcomes.failed[s.id]) next.failed![s.id] = outcomes.failed[s.id]!;
      if (wasReported.has(s.id)) continue;
      const opsItemId = options.dryRun ? undefined : await reportResource(automation, region, s, deps);
      reports.push({ automation: automation.name, group: `${region}/report:${s.id}`, reported: s.reason, resource: s.id, ...(opsItemId ? { opsItemId } : {}) });
    }
    const ids = (list: ScheduledResource[], kind: ScheduledResource['kind']) => list.filter((r) => r.kind === kind).map((r) => r.id);
    const stopped = plan.stop.filter((s) => !s.hibernate).map((s) => s.resource);
    const hibernated = plan.stop.filter((s) => s.hibernate).map((s) => s.resource);
    const group = (name: string, document: string, parameter: string, values: string[], parameters?: Record<string, unknown>) =>
      starts.push(...targetStarts(automation, key, region, name, document, parameter, values, parameters));
    // Starts: resources of a batch that failed last time go one per execution.
    const started = (name: string, kind: ScheduledResource['kind'], add: (group: string, ids: string[]) => void) => {
      const all = ids(plan.start, kind);
      add(name, all.filter((id) => !outcomes.isolate.has(id)));
      for (const id of all.filter((id) => outcomes.isolate.has(id))) add(`${name}:${id}`, [id]);
    };
    // EC2 takes many instances a call: batches. RDS takes one DB instance or cluster a call: one target each.
    starts.push(...batchStarts(automation, key, region, 'stop-ec2', 'AWS-StopEC2Instance', 'InstanceId', ids(stopped, 'ec2-instance')));
    starts.push(...batchStarts(automation, key, region, 'hibernate-ec2', 'opsauto-HibernateInstance', 'InstanceId', ids(hibernated, 'ec2-instance')));
    started('start-ec2', 'ec2-instance', (name, list) => starts.push(...tracked(batchStarts(automation, key, region, name, 'AWS-StartEC2Instance', 'InstanceId', list), list, EC2_BATCH)));
    group('stop-rds', 'AWS-StopRdsInstance', 'InstanceId', ids(stopped, 'rds-instance'));
    started('start-rds', 'rds-instance', (name, list) => starts.push(...tracked(targetStarts(automation, key, region, name, 'AWS-StartRdsInstance', 'InstanceId', list), list, MAX_TARGET_VALUES)));
    group('stop-aurora', 'AWS-StartStopAuroraCluster', 'ClusterName', ids(stopped, 'rds-cluster'), { Action: 'Stop' });
    started('start-aurora', 'rds-cluster', (name, list) => starts.push(...tracked(targetStarts(automation, key, region, name, 'AWS-StartStopAuroraCluster', 'ClusterName', list, { Action: 'Start' }), list, MAX_TARGET_VALUES)));
  }
  for (const s of starts) if (s.starting) next.starts!.push({ executionId: executionIdFor(s.input.idempotencyKey!), ids: s.starting });
  // What the next check needs: transitional resources to look at again (even when the automation does not
  // enforce), starts to learn the outcome of, failures not to retry, reports not to file again.
  const needed = next.retryIds.length + next.starts!.length + Object.keys(next.failed!).length + next.reported!.length > 0;
  if (needed && !options.dryRun) await deps.checks!.swap(automation.name, next);
  return { starts, reports };
}

/** Marks each start with the resources it starts: the `size`-long slices of `ids`, in the order the starts were made. */
function tracked(starts: Start[], ids: string[], size: number): Start[] {
  return starts.map((s, i) => ({ ...s, starting: ids.slice(i * size, (i + 1) * size) }));
}

/**
 * Files an OpsItem for a resource an operator has to repair, one per resource for as long as it is open
 * (OpsCenter's dedup string). Without OpsCenter in the deps the report stays in the firing's results.
 */
async function reportResource(automation: Automation, region: string, skip: OfficeHoursSkip, deps: FireDeps): Promise<string | undefined> {
  if (!deps.opsItems) return undefined;
  const arn =
    skip.kind === 'ec2-instance' ? `arn:aws:ec2:${region}:${deps.accountId}:instance/${skip.id}` : `arn:aws:rds:${region}:${deps.accountId}:${skip.kind === 'rds-cluster' ? 'cluster' : 'db'}:${skip.id}`;
  return deps.opsItems.file(region, {
    title: `${automation.name}: ${skip.id} could not be started`,
    description: `Office hours (${automation.name}) could not start ${skip.kind} ${skip.id} in ${region}: ${skip.reason}. Repair the cause (a KMS key of its volumes, capacity, its storage), then start it by hand or let the next start of the period do it.`,
    dedupString: `opsauto:office-hours:${automation.name}:${skip.id}`,
    resourceArn: arn,
    category: 'Availability',
    severity: '2',
    data: { automation: automation.name, resourceId: skip.id },
  });
}

async function nightResizeStarts(automation: Automation, firing: Firing, deps: FireDeps): Promise<Start[]> {
  const night = automation.nightResize!;
  const inventory = need(deps.inventory, 'an inventory of resources');
  const key = firingKey(automation, firing);
  const starts: Start[] = [];
  for (const region of regionsOf(deps)) {
    const plan = planNightResize(await inventory(region).resizable([night.nightTypeTag, night.dayTypeTag]), night, firedAt(firing, deps.clock));
    for (const r of plan.resize) {
      starts.push({
        group: `${region}/resize:${r.id}`,
        region,
        input: {
          documentName: 'opsauto-ResizeInstance',
          parameters: { InstanceId: r.id, InstanceType: r.to, DayTypeTag: night.dayTypeTag, RecordDayType: r.recordDayType ?? '' },
          idempotencyKey: `${key}:${region}:resize:${r.id}`,
          triggeredBy: `automation:${automation.name}`,
        },
      });
    }
  }
  return starts;
}
