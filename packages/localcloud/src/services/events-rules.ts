/**
 * The rules of EventBridge default buses created through the API: their persisted state, what a target receives
 * (Input, InputPath, InputTransformer) and the timers of rules with a schedule expression.
 */
import { randomUUID } from 'node:crypto';
import { parseScheduleExpression } from '@opsauto/core/schedule-expression.js';
import type { ApiRule, BusEvent, BusTarget } from '../bus.js';
import type { EventPattern } from '@opsauto/core/event-pattern.js';
import type { Store } from '../store.js';
import type { Runtime } from './filters.js';

/** A target as PutTargets received it (plain JSON, answered as is by ListTargetsByRule). */
export interface TargetRecord {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  [other: string]: unknown;
}

export interface RuleRecord {
  name: string;
  arn: string;
  eventPattern?: string;
  /** The parsed pattern, kept beside its text so the matcher's cache (by object identity) holds across events. */
  pattern?: EventPattern;
  scheduleExpression?: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  roleArn?: string;
  createdAt: number;
  targets: TargetRecord[];
  /** Epoch ms of the next fire of a scheduled rule; a timer fires only when this still names its time. */
  nextFireAt?: number;
}

export interface EventsState {
  rules: Record<string, RuleRecord>;
}

export const eventsState = (store: Store, account: string, region: string) => store.scope<EventsState>('events', account, region, () => ({ rules: {} }));

export const ruleArn = (region: string, account: string, name: string) => `arn:aws:events:${region}:${account}:rule/${name}`;

/**
 * A JSONPath of the simple form EventBridge takes in InputPath and InputPathsMap: `$`, `$.detail.state`,
 * `$.resources[0]`, `$.detail['key with space']`. Undefined when the path leads nowhere.
 */
export function readPath(event: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  const steps = [...path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g)];
  let value: unknown = event;
  for (const [, dotted, index, quoted] of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = dotted ?? quoted ?? Number(index);
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

export function isJsonPath(path: string): boolean {
  return /^\$((\.[^.[\]]+)|(\[\d+\])|(\['[^']*'\]))*$/.test(path);
}

/**
 * InputTransformer: each `<name>` of the template is replaced by the value its path reads. A string value goes
 * in as its text (the template supplies any quotes), anything else as JSON; the predefined `<aws.events.*>`
 * variables are offered too. The result is delivered as JSON when it parses, else as the string it is.
 */
function transform(event: BusEvent, rule: RuleRecord, transformer: NonNullable<TargetRecord['InputTransformer']>): unknown {
  const values: Record<string, unknown> = {
    'aws.events.rule-arn': rule.arn,
    'aws.events.rule-name': rule.name,
    'aws.events.event.ingestion-time': event.time,
    'aws.events.event': event,
    'aws.events.event.json': event,
  };
  for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {})) values[name] = readPath(event, path);
  const text = transformer.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    if (!(name in values)) return whole;
    const value = values[name];
    if (value === undefined) return 'null';
    return typeof value === 'string' ? value.replace(/["\\]/g, (c) => `\\${c}`) : JSON.stringify(value);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function busTarget(rule: RuleRecord, target: TargetRecord): BusTarget {
  return {
    id: target.Id,
    arn: target.Arn,
    input(event) {
      if (target.Input !== undefined) return JSON.parse(target.Input) as unknown;
      if (target.InputPath !== undefined) return readPath(event, target.InputPath) ?? null;
      if (target.InputTransformer) return transform(event, rule, target.InputTransformer);
      return event;
    },
  };
}

/** The enabled pattern rules of one account and region, as the bus matches them. */
export function apiRules(store: Store, account: string, region: string): ApiRule[] {
  const rules = store.all<EventsState>('events').find((s) => s.account === account && s.region === region)?.state.rules ?? {};
  return Object.values(rules)
    .filter((r) => r.state === 'ENABLED' && r.pattern)
    .map((r) => ({ name: r.name, pattern: r.pattern!, targets: r.targets.map((t) => busTarget(r, t)) }));
}

/**
 * Sets the next fire time of a scheduled rule and arms a timer for it. Safe to call again for the same rule
 * (at start, after a reset or a seed): a timer whose time is no longer the rule's `nextFireAt` does nothing.
 */
export function armSchedule(rt: Runtime, account: string, region: string, rule: RuleRecord): void {
  if (!rule.scheduleExpression || rule.state !== 'ENABLED') {
    delete rule.nextFireAt;
    return;
  }
  // A rate runs from the rule's creation, as EventBridge starts it when the rule is created.
  const schedule = parseScheduleExpression(rule.scheduleExpression, undefined, new Date(rule.createdAt));
  // Fires missed while localcloud was not running are skipped, not replayed in a burst at start.
  if (rule.nextFireAt === undefined || rule.nextFireAt < rt.clock.nowMs()) {
    rule.nextFireAt = schedule.nextAfter(rt.clock.now())?.getTime();
  }
  const at = rule.nextFireAt;
  if (at === undefined) return;
  const name = rule.name;
  rt.clock.at(at, () => {
    const current = eventsState(rt.store, account, region).rules[name];
    if (!current || current.nextFireAt !== at || current.state !== 'ENABLED') return;
    current.nextFireAt = schedule.nextAfter(new Date(at))?.getTime();
    rt.store.changed();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [current.arn],
      detail: {},
    };
    rt.bus.deliverScheduled(current.name, current.targets.map((t) => busTarget(current, t)), event);
    armSchedule(rt, account, region, current);
  });
}
