/**
 * Amazon EventBridge Scheduler (restJson1, signing name `scheduler`), default schedule group only: CreateSchedule
 * (`POST /schedules/{Name}`), GetSchedule (`GET`), UpdateSchedule (`PUT`), DeleteSchedule (`DELETE`) and
 * ListSchedules (`GET /schedules`). Schedules are kept per account and region in the store and fire on the virtual
 * clock through the stage's Scheduler (../scheduler.ts), so a Lambda function ARN target invokes that function of
 * the in-process runtime, asynchronously and with Lambda's retries.
 *
 * AWS behaviour kept (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html and
 * AWS-recorded answers): names `^[0-9a-zA-Z-_.]+$` of 1-64 characters; missing members answered with the
 * "1 validation error detected" ValidationException; `Invalid Schedule Expression <expr>.`; `Schedule <name> already
 * exists.` (ConflictException) and `Schedule <name> does not exist.` (ResourceNotFoundException); an `at()` in the past
 * is accepted (it never fires); UpdateSchedule replaces the whole schedule (members left out go back to their
 * defaults); defaults ScheduleExpressionTimezone `UTC`, State `ENABLED`, ActionAfterCompletion `NONE`, RetryPolicy
 * 86400 s / 185 attempts; StartDate and EndDate are ignored by one-time schedules.
 *
 * ActionAfterCompletion `DELETE` deletes a one-time schedule once it has fired (a recurring one after its last fire
 * before its EndDate; without an EndDate never); `NONE` keeps it, still `ENABLED`, with no next fire time.
 */
import { InvalidScheduleExpressionError, parseScheduleExpression } from '@opsauto/core/schedule-expression.js';
import { AwsError, validation } from '../errors.js';
import type { Scheduler, ScheduleListing } from '../scheduler.js';
import type { Store } from '../store.js';
import { pageAfter, type Runtime } from './filters.js';
import type { RequestContext, RestRequest, ServiceDefinition } from './types.js';

const NAME = /^[0-9a-zA-Z-_.]+$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const DEFAULT_GROUP = 'default';
const DEFAULT_RETRY_POLICY = { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 };
/** How far in the past a recurring schedule's StartDate may lie. */
const START_DATE_GRACE_MS = 5 * 60_000;

/** A schedule as the store keeps it: the members GetSchedule answers (dates in epoch ms), and its next fire. */
export interface ScheduleRecord {
  Name: string;
  GroupName: string;
  Arn: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone: string;
  Description?: string;
  StartDate?: number;
  EndDate?: number;
  State: 'ENABLED' | 'DISABLED';
  KmsKeyArn?: string;
  Target: { Arn: string; RoleArn: string; Input?: string; [other: string]: unknown };
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  ActionAfterCompletion: 'NONE' | 'DELETE';
  ClientToken?: string;
  CreationDate: number;
  LastModificationDate: number;
  /** Epoch ms of the next fire; a timer fires only when this still names its time. */
  nextFireAt?: number;
}

interface SchedulerState {
  /** By `group/name`. */
  schedules: Record<string, ScheduleRecord>;
}

const schedulerState = (store: Store, account: string, region: string) => store.scope<SchedulerState>('scheduler', account, region, () => ({ schedules: {} }));

const isOneTime = (expression: string) => expression.startsWith('at(');

// --- validation ----------------------------------------------------------------------------------------------

/** Constraint violations, answered together as AWS's request validation does. */
class Violations {
  private readonly found: string[] = [];

  add(value: unknown, field: string, constraint: string): void {
    const shown = value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
    this.found.push(`Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`);
  }

  required(value: unknown, field: string): boolean {
    if (value !== undefined && value !== null) return true;
    this.add(value, field, 'Member must not be null');
    return false;
  }

  length(value: string | undefined, field: string, min: number, max: number): void {
    if (value === undefined) return;
    if (value.length < min) this.add(value, field, `Member must have length greater than or equal to ${min}`);
    if (value.length > max) this.add(value, field, `Member must have length less than or equal to ${max}`);
  }

  name(value: string | undefined, field: string): void {
    if (value === undefined) return;
    this.length(value, field, 1, 64);
    if (!NAME.test(value)) this.add(value, field, 'Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$');
  }

  oneOf(value: string | undefined, field: string, allowed: string[]): void {
    if (value !== undefined && !allowed.includes(value)) this.add(value, field, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }

  range(value: number | undefined, field: string, min: number, max: number): void {
    if (value === undefined) return;
    if (value < min) this.add(value, field, `Member must have value greater than or equal to ${min}`);
    if (value > max) this.add(value, field, `Member must have value less than or equal to ${max}`);
  }

  check(): void {
    const n = this.found.length;
    if (n > 0) throw validation(`${n} validation error${n > 1 ? 's' : ''} detected: ${this.found.join('; ')}`);
  }
}

const serialization = (message: string) => new AwsError('SerializationException', message);

function stringMember(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serialization(`${key} must be a string`);
  return value;
}

function numberMember(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw serialization(`${key} must be a number`);
  return value;
}

function objectMember(body: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw serialization(`${key} must be an object`);
  return value as Record<string, unknown>;
}

function jsonBody(request: RestRequest): Record<string, unknown> {
  if (request.body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    throw serialization('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw serialization('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** `/schedules/{Name}` -> Name. */
const nameOf = (request: RestRequest) => request.path.slice('/schedules/'.length);

/** Only the default group exists (CreateScheduleGroup is not emulated). */
function checkGroup(group: string): void {
  if (group !== DEFAULT_GROUP) throw new AwsError('ResourceNotFoundException', `Schedule group ${group} does not exist.`, 404);
}

const notFound = (name: string) => new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);

function findSchedule(ctx: RequestContext, group: string, name: string): ScheduleRecord {
  checkGroup(group);
  const record = schedulerState(ctx.store, ctx.account, ctx.region).schedules[`${group}/${name}`];
  if (!record) throw notFound(name);
  return record;
}

/** The members CreateSchedule and UpdateSchedule share, validated: everything of the record but its bookkeeping. */
type ScheduleSettings = Omit<ScheduleRecord, 'Arn' | 'CreationDate' | 'LastModificationDate' | 'nextFireAt' | 'ClientToken'> & { ClientToken?: string };

function scheduleSettings(request: RestRequest, ctx: RequestContext): ScheduleSettings {
  const body = jsonBody(request);
  const name = nameOf(request);
  const group = stringMember(body, 'GroupName') ?? DEFAULT_GROUP;
  const expression = stringMember(body, 'ScheduleExpression');
  const timezone = stringMember(body, 'ScheduleExpressionTimezone');
  const description = stringMember(body, 'Description');
  const state = stringMember(body, 'State');
  const action = stringMember(body, 'ActionAfterCompletion');
  const kmsKeyArn = stringMember(body, 'KmsKeyArn');
  const clientToken = stringMember(body, 'ClientToken');
  const startSeconds = numberMember(body, 'StartDate');
  const endSeconds = numberMember(body, 'EndDate');
  const target = objectMember(body, 'Target');
  const window = objectMember(body, 'FlexibleTimeWindow');

  const v = new Violations();
  v.name(name, 'name');
  v.name(group, 'groupName');
  if (v.required(expression, 'scheduleExpression')) v.length(expression, 'scheduleExpression', 1, 256);
  v.length(timezone, 'scheduleExpressionTimezone', 1, 50);
  v.length(description, 'description', 0, 512);
  v.oneOf(state, 'state', ['ENABLED', 'DISABLED']);
  v.oneOf(action, 'actionAfterCompletion', ['NONE', 'DELETE']);
  v.length(clientToken, 'clientToken', 1, 64);
  let targetArn: string | undefined;
  let roleArn: string | undefined;
  let input: string | undefined;
  let retry: Record<string, unknown> | undefined;
  if (v.required(target, 'target') && target) {
    targetArn = stringMember(target, 'Arn');
    roleArn = stringMember(target, 'RoleArn');
    input = stringMember(target, 'Input');
    retry = objectMember(target, 'RetryPolicy');
    if (v.required(targetArn, 'target.arn')) v.length(targetArn, 'target.arn', 1, 1600);
    if (v.required(roleArn, 'target.roleArn')) {
      v.length(roleArn, 'target.roleArn', 1, 1600);
      if (!ROLE_ARN.test(roleArn!)) v.add(roleArn, 'target.roleArn', 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\\d{12}:role\\/[\\w+=,.@\\/-]+$');
    }
    v.length(input, 'target.input', 1, 8192);
    if (retry) {
      v.range(numberMember(retry, 'MaximumEventAgeInSeconds'), 'target.retryPolicy.maximumEventAgeInSeconds', 60, 86400);
      v.range(numberMember(retry, 'MaximumRetryAttempts'), 'target.retryPolicy.maximumRetryAttempts', 0, 185);
    }
  }
  let mode: string | undefined;
  let maxWindow: number | undefined;
  if (v.required(window, 'flexibleTimeWindow') && window) {
    mode = stringMember(window, 'Mode');
    maxWindow = numberMember(window, 'MaximumWindowInMinutes');
    if (v.required(mode, 'flexibleTimeWindow.mode')) v.oneOf(mode, 'flexibleTimeWindow.mode', ['OFF', 'FLEXIBLE']);
    v.range(maxWindow, 'flexibleTimeWindow.maximumWindowInMinutes', 1, 1440);
  }
  v.check();

  if (mode === 'FLEXIBLE' && maxWindow === undefined) throw validation('MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.');
  const startDate = startSeconds === undefined ? undefined : Math.round(startSeconds * 1000);
  const endDate = endSeconds === undefined ? undefined : Math.round(endSeconds * 1000);
  try {
    // AWS refuses blanks around an expression and inside its parentheses (` rate(10 minutes)`, `rate( 10 minutes )`).
    if (/^\s|\s$|\(\s|\s\)/.test(expression!)) throw new InvalidScheduleExpressionError('blank around the expression');
    parseScheduleExpression(expression!, timezone, startDate === undefined ? undefined : new Date(startDate));
  } catch (e) {
    if (!(e instanceof InvalidScheduleExpressionError)) throw e;
    throw validation(e.message.startsWith('Invalid ScheduleExpressionTimezone') ? `Invalid ScheduleExpressionTimezone ${timezone}.` : `Invalid Schedule Expression ${expression}.`);
  }
  if (!isOneTime(expression!)) {
    if (startDate !== undefined && startDate < ctx.clock.nowMs() - START_DATE_GRACE_MS) throw validation('The StartDate you specify cannot be earlier than 5 minutes ago.');
    if (startDate !== undefined && endDate !== undefined && endDate <= startDate) throw validation('The EndDate you specify must be later than the StartDate.');
  }
  checkGroup(group);

  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: expression!,
    ScheduleExpressionTimezone: timezone ?? 'UTC',
    ...(description !== undefined ? { Description: description } : {}),
    ...(startDate !== undefined ? { StartDate: startDate } : {}),
    ...(endDate !== undefined ? { EndDate: endDate } : {}),
    State: (state ?? 'ENABLED') as ScheduleRecord['State'],
    ...(kmsKeyArn !== undefined ? { KmsKeyArn: kmsKeyArn } : {}),
    Target: { ...structuredClone(target!), Arn: targetArn!, RoleArn: roleArn!, RetryPolicy: { ...DEFAULT_RETRY_POLICY, ...(retry ?? {}) } },
    FlexibleTimeWindow: { Mode: mode as ScheduleRecord['FlexibleTimeWindow']['Mode'], ...(maxWindow !== undefined ? { MaximumWindowInMinutes: maxWindow } : {}) },
    ActionAfterCompletion: (action ?? 'NONE') as ScheduleRecord['ActionAfterCompletion'],
    ...(clientToken !== undefined ? { ClientToken: clientToken } : {}),
  };
}

// --- time ----------------------------------------------------------------------------------------------------

/** The first fire strictly after `afterMs` (epoch ms), or undefined: none left, or past a recurring schedule's EndDate. */
function nextFire(record: ScheduleRecord, afterMs: number): number | undefined {
  const oneTime = isOneTime(record.ScheduleExpression);
  // A rate runs from its StartDate, or from the schedule's creation ("immediately"); one-time schedules ignore both dates.
  const start = oneTime ? undefined : new Date(record.StartDate ?? record.CreationDate);
  const next = parseScheduleExpression(record.ScheduleExpression, record.ScheduleExpressionTimezone, start).nextAfter(new Date(afterMs))?.getTime();
  if (next === undefined || (!oneTime && record.EndDate !== undefined && next > record.EndDate)) return undefined;
  return next;
}

/** Sets the schedule's next fire from now (none when disabled); `arm` then sets its timer. */
function plan(record: ScheduleRecord, nowMs: number): void {
  if (record.State === 'ENABLED') record.nextFireAt = nextFire(record, nowMs);
  else delete record.nextFireAt;
}

/**
 * Arms a timer for the schedule's `nextFireAt`. Safe to call again for the same schedule (at start, after a seed): a
 * timer whose time is no longer the schedule's `nextFireAt` does nothing. A recurring fire missed while localcloud
 * was stopped is skipped, as scheduled EventBridge rules skip theirs; a one-time fire missed that way runs at once,
 * since it would otherwise never run.
 */
function arm(rt: Runtime, engine: Scheduler, account: string, region: string, record: ScheduleRecord): void {
  if (record.State !== 'ENABLED' || record.nextFireAt === undefined) return;
  if (record.nextFireAt < rt.clock.nowMs() && !isOneTime(record.ScheduleExpression)) record.nextFireAt = nextFire(record, rt.clock.nowMs());
  const at = record.nextFireAt;
  if (at === undefined) return;
  const key = `${record.GroupName}/${record.Name}`;
  rt.clock.at(at, () => {
    const schedules = schedulerState(rt.store, account, region).schedules;
    const current = schedules[key];
    if (!current || current.nextFireAt !== at || current.State !== 'ENABLED') return;
    engine.fire({ name: current.Name, arn: current.Arn, target: current.Target.Arn, input: current.Target.Input }, new Date(at));
    current.nextFireAt = nextFire(current, at);
    const completed = current.nextFireAt === undefined && (isOneTime(current.ScheduleExpression) || current.EndDate !== undefined);
    if (completed && current.ActionAfterCompletion === 'DELETE') delete schedules[key];
    else arm(rt, engine, account, region, current);
    rt.store.changed();
  });
}

// --- operations ----------------------------------------------------------------------------------------------

function restOperation({ method, path }: RestRequest): string | undefined {
  if (path === '/schedules' || path === '/schedules/') return method === 'GET' ? 'ListSchedules' : undefined;
  if (!/^\/schedules\/[^/]+$/.test(path)) return undefined;
  return ({ POST: 'CreateSchedule', GET: 'GetSchedule', PUT: 'UpdateSchedule', DELETE: 'DeleteSchedule' } as Record<string, string>)[method];
}

function scheduleOut(r: ScheduleRecord) {
  return {
    Arn: r.Arn,
    GroupName: r.GroupName,
    Name: r.Name,
    ScheduleExpression: r.ScheduleExpression,
    ScheduleExpressionTimezone: r.ScheduleExpressionTimezone,
    ...(r.StartDate !== undefined ? { StartDate: new Date(r.StartDate) } : {}),
    ...(r.EndDate !== undefined ? { EndDate: new Date(r.EndDate) } : {}),
    ...(r.Description !== undefined ? { Description: r.Description } : {}),
    State: r.State,
    CreationDate: new Date(r.CreationDate),
    LastModificationDate: new Date(r.LastModificationDate),
    ...(r.KmsKeyArn !== undefined ? { KmsKeyArn: r.KmsKeyArn } : {}),
    Target: r.Target,
    FlexibleTimeWindow: r.FlexibleTimeWindow,
    ActionAfterCompletion: r.ActionAfterCompletion,
  };
}

/** The query parameter `name` of a request, validated as a group name. */
function groupParam(request: RestRequest, param: string): string {
  const group = request.query.get(param) ?? DEFAULT_GROUP;
  const v = new Violations();
  v.name(group, 'groupName');
  v.check();
  return group;
}

function checkName(name: string): void {
  const v = new Violations();
  v.name(name, 'name');
  v.check();
}

/** The Scheduler API, firing its schedules through the stage's Scheduler `engine`. */
export function schedulerService(engine: Scheduler): ServiceDefinition {
  const createSchedule = (request: RestRequest, ctx: RequestContext) => {
    const settings = scheduleSettings(request, ctx);
    const schedules = schedulerState(ctx.store, ctx.account, ctx.region).schedules;
    const key = `${settings.GroupName}/${settings.Name}`;
    const existing = schedules[key];
    if (existing) {
      // A retried request (same ClientToken, which the SDK fills in) gets the schedule it created.
      if (settings.ClientToken !== undefined && existing.ClientToken === settings.ClientToken) return { ScheduleArn: existing.Arn };
      throw new AwsError('ConflictException', `Schedule ${settings.Name} already exists.`, 409);
    }
    const now = ctx.clock.nowMs();
    const record: ScheduleRecord = {
      ...settings,
      Arn: `arn:aws:scheduler:${ctx.region}:${ctx.account}:schedule/${settings.GroupName}/${settings.Name}`,
      CreationDate: now,
      LastModificationDate: now,
    };
    plan(record, now);
    schedules[key] = record;
    arm(ctx, engine, ctx.account, ctx.region, record);
    return { ScheduleArn: record.Arn };
  };

  const updateSchedule = (request: RestRequest, ctx: RequestContext) => {
    const settings = scheduleSettings(request, ctx);
    const existing = findSchedule(ctx, settings.GroupName, settings.Name);
    const now = ctx.clock.nowMs();
    // UpdateSchedule replaces every setting: what the request leaves out goes back to its default.
    const record: ScheduleRecord = { ...settings, Arn: existing.Arn, CreationDate: existing.CreationDate, LastModificationDate: now };
    if (existing.ClientToken !== undefined && record.ClientToken === undefined) record.ClientToken = existing.ClientToken;
    plan(record, now);
    schedulerState(ctx.store, ctx.account, ctx.region).schedules[`${record.GroupName}/${record.Name}`] = record;
    arm(ctx, engine, ctx.account, ctx.region, record);
    return { ScheduleArn: record.Arn };
  };

  const getSchedule = (request: RestRequest, ctx: RequestContext) => {
    const name = nameOf(request);
    const group = groupParam(request, 'groupName');
    checkName(name);
    return scheduleOut(findSchedule(ctx, group, name));
  };

  const deleteSchedule = (request: RestRequest, ctx: RequestContext) => {
    const name = nameOf(request);
    const group = groupParam(request, 'groupName');
    checkName(name);
    findSchedule(ctx, group, name);
    delete schedulerState(ctx.store, ctx.account, ctx.region).schedules[`${group}/${name}`];
    return {};
  };

  const listSchedules = (request: RestRequest, ctx: RequestContext) => {
    const q = request.query;
    const prefix = q.get('NamePrefix') ?? undefined;
    const state = q.get('State') ?? undefined;
    const maxParam = q.get('MaxResults');
    const maxResults = maxParam === null ? 100 : Number(maxParam);
    const group = q.get('ScheduleGroup') ?? undefined;
    const v = new Violations();
    v.name(prefix, 'namePrefix');
    v.oneOf(state, 'state', ['ENABLED', 'DISABLED']);
    if (!Number.isInteger(maxResults)) v.add(maxParam, 'maxResults', 'Member must be an integer');
    else v.range(maxResults, 'maxResults', 1, 100);
    if (group !== undefined) v.name(group, 'scheduleGroup');
    v.check();
    const records = Object.values(schedulerState(ctx.store, ctx.account, ctx.region).schedules)
      .filter((r) => (group === undefined || r.GroupName === group) && (prefix === undefined || r.Name.startsWith(prefix)) && (state === undefined || r.State === state))
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const { page, nextToken } = pageAfter(records, (r) => `${r.GroupName}/${r.Name}`, maxResults, q.get('NextToken') ?? undefined, () => validation('The NextToken provided is invalid.'));
    return {
      Schedules: page.map((r) => ({
        Arn: r.Arn,
        Name: r.Name,
        GroupName: r.GroupName,
        State: r.State,
        CreationDate: new Date(r.CreationDate),
        LastModificationDate: new Date(r.LastModificationDate),
        Target: { Arn: r.Target.Arn },
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  };

  return {
    name: 'scheduler',
    protocol: 'rest-json',
    restOperation,
    operations: {
      CreateSchedule: createSchedule,
      GetSchedule: getSchedule,
      UpdateSchedule: updateSchedule,
      DeleteSchedule: deleteSchedule,
      ListSchedules: listSchedules,
    },
    start(rt) {
      engine.useApiSchedules(() => apiListings(rt.store));
      for (const { account, region, state } of rt.store.all<SchedulerState>('scheduler')) {
        for (const record of Object.values(state.schedules)) arm(rt, engine, account, region, record);
      }
    },
  };
}

function apiListings(store: Store): ScheduleListing[] {
  return store.all<SchedulerState>('scheduler').flatMap(({ account, region, state }) =>
    Object.values(state.schedules).map((r) => ({
      source: 'api' as const,
      name: r.Name,
      expression: r.ScheduleExpression,
      timezone: r.ScheduleExpressionTimezone,
      target: r.Target.Arn,
      ...(r.Target.Input !== undefined ? { input: r.Target.Input } : {}),
      ...(r.nextFireAt !== undefined ? { next: new Date(r.nextFireAt).toISOString() } : {}),
      arn: r.Arn,
      account,
      region,
      state: r.State,
    })),
  );
}
