/**
 * Amazon EventBridge (awsJson1_1, `AWSEvents.*`): custom buses (CreateEventBus, DescribeEventBus, ListEventBuses,
 * DeleteEventBus), PutEvents on any bus of the account and region, and rules with targets (PutRule, DescribeRule,
 * ListRules, EnableRule, DisableRule, DeleteRule, PutTargets, ListTargetsByRule, RemoveTargets). Rules created
 * through this API live on the default bus only (a custom bus's rules are the stage's, registered in memory);
 * they are kept per account and region and delivered by the same EventBus as the stage's rules. Bus policies are
 * not modelled: localcloud checks no permissions.
 */
import { InvalidScheduleExpressionError, parseScheduleExpression } from '@opsauto/core/schedule-expression.js';
import { DEFAULT_BUS } from '../bus.js';
import { AwsError, validation } from '../errors.js';
import { InvalidEventPatternError, validateEventPattern } from '@opsauto/core/event-pattern.js';
import { pageAfter } from './filters.js';
import { apiRules, armSchedule, eventsState, isJsonPath, ruleArn, type RuleRecord, type TargetRecord } from './events-rules.js';
import type { RequestContext, ServiceDefinition } from './types.js';

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: number;
  EventBusName?: string;
}

/** What EventBridge accepts in one PutEvents request, summed over its entries (see `entrySize`). */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
const MAX_TARGETS_PER_RULE = 5;
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]{1,64}$/;

/**
 * An entry's size as EventBridge counts it against the request limit: 14 bytes for a Time, then the UTF-8 bytes of
 * Source, DetailType, Detail and each resource
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 */
export function entrySize(e: PutEventsEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  return (e.Time !== undefined ? 14 : 0) + bytes(e.Source) + bytes(e.DetailType) + bytes(e.Detail) + (e.Resources ?? []).reduce((n, r) => n + bytes(r), 0);
}

// --- buses ---------------------------------------------------------------------------------------------------

/** A bus created with CreateEventBus. */
interface BusRecord {
  name: string;
  arn: string;
  description?: string;
  createdAt: number;
}

/** Kept as a list, not keyed by name: a bus name is caller data and must never walk an object's prototype. */
const busesState = (ctx: Pick<RequestContext, 'store' | 'account' | 'region'>) =>
  ctx.store.scope<{ buses: BusRecord[] }>('event-buses', ctx.account, ctx.region, () => ({ buses: [] }));

const busArn = (ctx: RequestContext, name: string) => `arn:aws:events:${ctx.region}:${ctx.account}:event-bus/${name}`;
const BUS_NAME = /^[\/.\-_A-Za-z0-9]{1,256}$/;

/** A bus name or ARN as requests give it -> its name (absent: the default bus). */
function busName(ctx: RequestContext, given: string | undefined): string {
  if (given === undefined || given === DEFAULT_BUS) return DEFAULT_BUS;
  const prefix = `arn:aws:events:${ctx.region}:${ctx.account}:event-bus/`;
  return given.startsWith(prefix) ? given.slice(prefix.length) : given;
}

function findBus(ctx: RequestContext, name: string): BusRecord | undefined {
  return busesState(ctx).buses.find((b) => b.name === name);
}

/** The bus a PutEvents entry names, which must exist in the caller's account and region: its name. */
function existingBus(ctx: RequestContext, given: string | undefined): string {
  const name = busName(ctx, given);
  if (name !== DEFAULT_BUS && !findBus(ctx, name)) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
  return name;
}

/**
 * Rules through the API are on the default bus only (see the header): a custom bus is refused with a message that
 * says so, a bus that does not exist as EventBridge refuses it.
 */
function checkBus(ctx: RequestContext, given: string | undefined): void {
  const name = existingBus(ctx, given);
  if (name !== DEFAULT_BUS) throw validation(`localcloud keeps rules created through the API on the default bus only, not on ${name}.`);
}

function checkBusName(name: unknown): string {
  if (typeof name !== 'string' || !BUS_NAME.test(name)) {
    throw validation(`1 validation error detected: Value '${String(name).slice(0, 300)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+ and have length between 1 and 256`);
  }
  return name;
}

function createEventBus(input: { Name?: unknown; Description?: unknown; EventSourceName?: unknown }, ctx: RequestContext) {
  const name = checkBusName(input.Name);
  if (name === DEFAULT_BUS) throw validation('Event bus name must not be default.');
  if (input.EventSourceName !== undefined) throw validation('localcloud does not model partner event sources.');
  // Only partner buses (named after their event source) may contain `/`.
  if (name.includes('/')) throw validation(`Event bus name must not contain '/'.`);
  if (input.Description !== undefined && (typeof input.Description !== 'string' || input.Description.length > 512)) {
    throw validation(`1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512`);
  }
  if (findBus(ctx, name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
  const bus: BusRecord = { name, arn: busArn(ctx, name), createdAt: ctx.clock.nowMs(), ...(typeof input.Description === 'string' ? { description: input.Description } : {}) };
  busesState(ctx).buses.push(bus);
  ctx.store.changed();
  return { EventBusArn: bus.arn, ...(bus.description !== undefined ? { Description: bus.description } : {}) };
}

function busOut(bus: BusRecord) {
  const time = bus.createdAt / 1000;
  return { Name: bus.name, Arn: bus.arn, ...(bus.description !== undefined ? { Description: bus.description } : {}), CreationTime: time, LastModifiedTime: time };
}

function describeEventBus(input: { Name?: unknown }, ctx: RequestContext) {
  if (input.Name !== undefined && typeof input.Name !== 'string') checkBusName(input.Name);
  const name = busName(ctx, input.Name as string | undefined);
  if (name === DEFAULT_BUS) return { Name: DEFAULT_BUS, Arn: busArn(ctx, DEFAULT_BUS) };
  const bus = findBus(ctx, name);
  if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
  return busOut(bus);
}

function listEventBuses(input: { NamePrefix?: string; NextToken?: string; Limit?: number }, ctx: RequestContext) {
  const all = [{ name: DEFAULT_BUS, arn: busArn(ctx, DEFAULT_BUS) }, ...busesState(ctx).buses]
    .filter((b) => input.NamePrefix === undefined || b.name.startsWith(input.NamePrefix))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { page, nextToken } = pageAfter(all, (b) => b.name, limit(input.Limit), input.NextToken, invalidToken);
  return { EventBuses: page.map((b) => ('createdAt' in b ? busOut(b) : { Name: b.name, Arn: b.arn })), ...(nextToken ? { NextToken: nextToken } : {}) };
}

function deleteEventBus(input: { Name?: unknown }, ctx: RequestContext) {
  const name = checkBusName(input.Name);
  if (name === DEFAULT_BUS) throw validation('Cannot delete event bus default.');
  // Deleting a bus that is not there succeeds, as in EventBridge.
  const state = busesState(ctx);
  state.buses = state.buses.filter((b) => b.name !== name);
  ctx.store.changed();
  return {};
}

/** Why one PutEvents entry is refused (its ErrorCode and ErrorMessage), or undefined when it is accepted. */
function entryProblem(ctx: RequestContext, e: PutEventsEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
  const invalid = (parameter: string, reason: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}` });
  if (!e.Source) return invalid('Source', 'Source is a required argument.');
  if (!e.DetailType) return invalid('DetailType', 'DetailType is a required argument.');
  if (e.Detail === undefined || e.Detail === '') return invalid('Detail', 'Detail is a required argument.');
  if (e.Source.length > 256) return invalid('Source', 'Provided Source must not exceed 256 characters.');
  if (e.DetailType.length > 128) return invalid('DetailType', 'Provided DetailType must not exceed 128 characters.');
  // Only AWS services publish with an `aws.` source.
  if (e.Source.startsWith('aws.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Not authorized for the source.` };
  if (e.EventBusName !== undefined) {
    try {
      existingBus(ctx, e.EventBusName);
    } catch (err) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: (err as Error).message };
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  return undefined;
}

function putEvents(input: { Entries?: PutEventsEntry[] }, ctx: RequestContext) {
  const entries = input.Entries ?? [];
  if (entries.length < 1 || entries.length > 10) {
    throw validation(`1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10, Member must have length greater than or equal to 1`);
  }
  if (entries.reduce((n, e) => n + entrySize(e), 0) > PUT_EVENTS_MAX_BYTES) {
    throw validation('Total size of the entries in the request is over the limit.');
  }
  let failed = 0;
  const results = entries.map((e) => {
    const problem = entryProblem(ctx, e);
    if (problem) {
      failed++;
      return problem;
    }
    const event = ctx.bus.publish({
      source: e.Source!,
      detailType: e.DetailType!,
      detail: JSON.parse(e.Detail!) as unknown,
      resources: e.Resources,
      account: ctx.account,
      region: ctx.region,
      time: e.Time !== undefined ? new Date(e.Time * 1000) : undefined,
      bus: busName(ctx, e.EventBusName),
    });
    return { EventId: event.id };
  });
  return { FailedEntryCount: failed, Entries: results };
}

// --- rules ---------------------------------------------------------------------------------------------------

function checkRuleName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    throw validation(`1 validation error detected: Value '${String(name)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64`);
  }
  return name;
}

function findRule(ctx: RequestContext, name: string): RuleRecord {
  const rule = eventsState(ctx.store, ctx.account, ctx.region).rules[name];
  if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus default.`);
  return rule;
}

function ruleOut(rule: RuleRecord) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
    ...(rule.scheduleExpression !== undefined ? { ScheduleExpression: rule.scheduleExpression } : {}),
    State: rule.state,
    ...(rule.description !== undefined ? { Description: rule.description } : {}),
    ...(rule.roleArn !== undefined ? { RoleArn: rule.roleArn } : {}),
    EventBusName: 'default',
  };
}

interface PutRuleInput {
  Name?: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State?: string;
  Description?: string;
  RoleArn?: string;
  EventBusName?: string;
}

function putRule(input: PutRuleInput, ctx: RequestContext) {
  const name = checkRuleName(input.Name);
  checkBus(ctx, input.EventBusName);
  if (input.EventPattern === undefined && input.ScheduleExpression === undefined) {
    throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
  }
  let pattern: RuleRecord['pattern'];
  if (input.EventPattern !== undefined) {
    try {
      const parsed = JSON.parse(input.EventPattern) as unknown;
      validateEventPattern(parsed);
      pattern = parsed;
    } catch (e) {
      const reason = e instanceof InvalidEventPatternError ? e.message : 'Event pattern is not valid. Reason: Filter is not an object';
      throw new AwsError('InvalidEventPatternException', reason);
    }
  }
  if (input.ScheduleExpression !== undefined) {
    // Rules take rate() and cron() only; at() belongs to EventBridge Scheduler.
    try {
      if (!/^(rate|cron)\(/.test(input.ScheduleExpression)) throw new InvalidScheduleExpressionError('not rate() or cron()');
      parseScheduleExpression(input.ScheduleExpression);
    } catch (e) {
      if (!(e instanceof InvalidScheduleExpressionError)) throw e;
      throw validation('Parameter ScheduleExpression is not valid.');
    }
  }
  const state = input.State ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED') {
    throw validation(`1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`);
  }
  if (input.Description !== undefined && input.Description.length > 512) {
    throw validation(`1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512`);
  }
  const rules = eventsState(ctx.store, ctx.account, ctx.region).rules;
  const existing = rules[name];
  // PutRule on an existing rule replaces its settings and keeps its targets.
  const rule: RuleRecord = {
    name,
    arn: ruleArn(ctx.region, ctx.account, name),
    ...(input.EventPattern !== undefined ? { eventPattern: input.EventPattern, pattern } : {}),
    ...(input.ScheduleExpression !== undefined ? { scheduleExpression: input.ScheduleExpression } : {}),
    state,
    ...(input.Description !== undefined ? { description: input.Description } : {}),
    ...(input.RoleArn !== undefined ? { roleArn: input.RoleArn } : {}),
    createdAt: existing?.scheduleExpression === input.ScheduleExpression ? (existing?.createdAt ?? ctx.clock.nowMs()) : ctx.clock.nowMs(),
    targets: existing?.targets ?? [],
  };
  rules[name] = rule;
  armSchedule(ctx, ctx.account, ctx.region, rule);
  return { RuleArn: rule.arn };
}

function setState(state: RuleRecord['state']) {
  return (input: { Name?: string; EventBusName?: string }, ctx: RequestContext) => {
    checkBus(ctx, input.EventBusName);
    const rule = findRule(ctx, checkRuleName(input.Name));
    rule.state = state;
    armSchedule(ctx, ctx.account, ctx.region, rule);
    return {};
  };
}

function limit(value: number | undefined): number {
  if (value === undefined) return 100;
  if (!Number.isInteger(value) || value < 1 || value > 100) {
    throw validation(`1 validation error detected: Value '${value}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100, Member must have value greater than or equal to 1`);
  }
  return value;
}

const invalidToken = () => validation('The NextToken provided is invalid.');

function listRules(input: { NamePrefix?: string; EventBusName?: string; NextToken?: string; Limit?: number }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const rules = Object.values(eventsState(ctx.store, ctx.account, ctx.region).rules)
    .filter((r) => input.NamePrefix === undefined || r.name.startsWith(input.NamePrefix))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { page, nextToken } = pageAfter(rules, (r) => r.name, limit(input.Limit), input.NextToken, invalidToken);
  return { Rules: page.map(ruleOut), ...(nextToken ? { NextToken: nextToken } : {}) };
}

function checkTarget(t: TargetRecord): void {
  if (typeof t.Id !== 'string' || !TARGET_ID.test(t.Id)) {
    throw validation(`1 validation error detected: Value '${String(t.Id)}' at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
  }
  if (typeof t.Arn !== 'string' || !/^arn:aws[\w-]*:[a-z0-9-]+:/.test(t.Arn)) {
    throw validation(`Parameter ${String(t.Arn)} is not valid. Reason: Provided Arn is not in correct format.`);
  }
  const inputs = [t.Input, t.InputPath, t.InputTransformer].filter((x) => x !== undefined).length;
  if (inputs > 1) throw validation(`Only one of Input, InputPath, or InputTransformer must be provided for target ${t.Id}.`);
  if (t.Input !== undefined) {
    try {
      JSON.parse(t.Input);
    } catch {
      throw validation(`Input for target ${t.Id} is not valid JSON text.`);
    }
  }
  if (t.InputPath !== undefined && !isJsonPath(t.InputPath)) throw validation(`InputPath for target ${t.Id} is not a valid JsonPath.`);
  for (const path of Object.values(t.InputTransformer?.InputPathsMap ?? {})) {
    if (!isJsonPath(path)) throw validation(`InputPathsMap for target ${t.Id} has an invalid JsonPath: ${path}.`);
  }
}

function putTargets(input: { Rule?: string; EventBusName?: string; Targets?: TargetRecord[] }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const targets = input.Targets ?? [];
  if (targets.length < 1 || targets.length > 10) {
    throw validation(`1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10, Member must have length greater than or equal to 1`);
  }
  targets.forEach(checkTarget);
  const rule = findRule(ctx, checkRuleName(input.Rule, 'rule'));
  const ids = new Set([...rule.targets.map((t) => t.Id), ...targets.map((t) => t.Id)]);
  if (ids.size > MAX_TARGETS_PER_RULE) throw new AwsError('LimitExceededException', `The requested resource exceeds the maximum number allowed.`);
  for (const t of targets) {
    // A target Id already on the rule is replaced, as PutTargets updates targets in place.
    const kept = rule.targets.filter((old) => old.Id !== t.Id);
    rule.targets = [...kept, structuredClone(t)];
  }
  return { FailedEntryCount: 0, FailedEntries: [] };
}

function listTargetsByRule(input: { Rule?: string; EventBusName?: string; NextToken?: string; Limit?: number }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const rule = findRule(ctx, checkRuleName(input.Rule, 'rule'));
  const { page, nextToken } = pageAfter(rule.targets, (t) => t.Id, limit(input.Limit), input.NextToken, invalidToken);
  return { Targets: page, ...(nextToken ? { NextToken: nextToken } : {}) };
}

function removeTargets(input: { Rule?: string; EventBusName?: string; Ids?: string[]; Force?: boolean }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const rule = findRule(ctx, checkRuleName(input.Rule, 'rule'));
  const ids = input.Ids ?? [];
  if (ids.length < 1 || ids.length > 100) {
    throw validation(`1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1`);
  }
  // Ids the rule does not have are ignored, as EventBridge does.
  rule.targets = rule.targets.filter((t) => !ids.includes(t.Id));
  return { FailedEntryCount: 0, FailedEntries: [] };
}

function deleteRule(input: { Name?: string; EventBusName?: string; Force?: boolean }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const name = checkRuleName(input.Name);
  const rules = eventsState(ctx.store, ctx.account, ctx.region).rules;
  const rule = rules[name];
  // Deleting a rule that is not there succeeds, as in EventBridge.
  if (!rule) return {};
  if (rule.targets.length > 0) throw validation("Rule can't be deleted since it has targets.");
  delete rules[name];
  return {};
}

function describeRule(input: { Name?: string; EventBusName?: string }, ctx: RequestContext) {
  checkBus(ctx, input.EventBusName);
  const rule = findRule(ctx, checkRuleName(input.Name));
  return { ...ruleOut(rule), CreatedBy: ctx.account };
}

export const events: ServiceDefinition = {
  name: 'events',
  protocol: 'json',
  targetPrefix: 'AWSEvents',
  operations: {
    CreateEventBus: createEventBus,
    DescribeEventBus: describeEventBus,
    ListEventBuses: listEventBuses,
    DeleteEventBus: deleteEventBus,
    PutEvents: putEvents,
    PutRule: putRule,
    DescribeRule: describeRule,
    ListRules: listRules,
    EnableRule: setState('ENABLED'),
    DisableRule: setState('DISABLED'),
    DeleteRule: deleteRule,
    PutTargets: putTargets,
    ListTargetsByRule: listTargetsByRule,
    RemoveTargets: removeTargets,
  },
  start(rt) {
    rt.bus.useApiRules((account, region) => apiRules(rt.store, account, region));
    for (const { account, region, state } of rt.store.all<{ rules: Record<string, RuleRecord> }>('events')) {
      for (const rule of Object.values(state.rules)) armSchedule(rt, account, region, rule);
    }
  },
};
