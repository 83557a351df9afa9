import { randomUUID } from 'node:crypto';
import type { VirtualClock } from './clock.js';
import { matchesEventPattern, validateEventPattern, type EventPattern } from '@opsauto/core/event-pattern.js';
import type { LambdaRuntime } from './lambda.js';

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface RuleRegistration {
  name: string;
  pattern: EventPattern;
  /** Function names invoked asynchronously with each matching event. */
  targets: string[];
  /**
   * The region whose default bus holds the rule. Absent: the rule sees the events of every region, which is how
   * the local stage has always run (one process stands in for the jobs of every region). Set it to behave as
   * one deployed stack does: a rule sees only its own region's events.
   */
  region?: string;
  /** The account whose bus holds the rule; absent: every account. */
  account?: string;
  /**
   * The name of the bus that holds the rule (created with CreateEventBus); absent: the default bus. A rule sees only
   * the events put on its own bus, as in EventBridge.
   */
  bus?: string;
}

/** The name of every account and region's default bus. */
export const DEFAULT_BUS = 'default';

/** A target as a rule created through the EventBridge API keeps it: where it goes and what it receives. */
export interface BusTarget {
  id: string;
  arn: string;
  /** The target's input for one event (the event itself, or what Input / InputPath / InputTransformer make). */
  input(event: BusEvent): unknown;
}

/** A rule created through the EventBridge API (PutRule / PutTargets), kept by the events service in the store. */
export interface ApiRule {
  name: string;
  pattern: EventPattern;
  targets: BusTarget[];
}

/** The API rules of one account and region's default bus, enabled and with an event pattern. */
export type ApiRuleSource = (account: string, region: string) => ApiRule[];

/** `arn:aws:lambda:us-east-1:000000000000:function:name[:qualifier]` -> `name`; other ARNs -> undefined. */
export function lambdaFunctionName(arn: string): string | undefined {
  return /^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?$/.exec(arn)?.[1];
}

/**
 * The event buses of every region, the default one and those created with CreateEventBus: rules with event
 * patterns, delivering matching events to functions with Lambda's asynchronous invocation (and its retries). An
 * event reaches only the rules of the bus it was put on. Keeps the last events for the control API.
 *
 * Two kinds of rules: the stage's (`putRule`, in memory, see `RuleRegistration.region`) and the ones created
 * through the EventBridge API, which the events service persists and hands over as an `ApiRuleSource`; those are
 * scoped to their account and region, as in AWS.
 */
export class EventBus {
  private readonly rules = new Map<string, RuleRegistration>();
  private apiRules: ApiRuleSource = () => [];
  /**
   * Matched events whose target is not a function (SNS, SQS …): recorded here rather than delivered, since
   * localcloud runs only functions.
   */
  readonly undelivered: { rule: string; targetId: string; arn: string; eventId: string }[] = [];
  readonly recent: (BusEvent & { matchedRules: string[]; eventBusName: string })[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly lambda: LambdaRuntime,
  ) {}

  putRule(rule: RuleRegistration): void {
    validateEventPattern(rule.pattern);
    this.rules.set(rule.name, rule);
  }

  listRules(): RuleRegistration[] {
    return [...this.rules.values()];
  }

  /** Where the rules created through the EventBridge API come from (the events service sets it at start). */
  useApiRules(source: ApiRuleSource): void {
    this.apiRules = source;
  }

  /**
   * Publishes one event on `bus` (default: the default bus; AWS services publish there): stamps id and time, then
   * delivers it to the targets of every matching rule of that bus.
   */
  publish(entry: { source: string; detailType: string; detail: unknown; resources?: string[]; account: string; region: string; time?: Date; bus?: string }): BusEvent {
    const bus = entry.bus ?? DEFAULT_BUS;
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.detailType,
      source: entry.source,
      account: entry.account,
      time: (entry.time ?? this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: entry.region,
      resources: entry.resources ?? [],
      detail: entry.detail,
    };
    const stage = [...this.rules.values()].filter(
      (r) =>
        (r.bus ?? DEFAULT_BUS) === bus &&
        (r.region === undefined || r.region === event.region) &&
        (r.account === undefined || r.account === event.account) &&
        matchesEventPattern(r.pattern, event),
    );
    // Rules created through the API live on the default bus (see the events service).
    const api = bus === DEFAULT_BUS ? this.apiRules(event.account, event.region).filter((r) => matchesEventPattern(r.pattern, event)) : [];
    this.record(event, [...stage.map((r) => r.name), ...api.map((r) => r.name)], bus);
    for (const rule of stage) {
      for (const target of rule.targets) this.lambda.invokeAsync(target, event, `rule ${rule.name}`);
    }
    for (const rule of api) this.deliver(rule.name, rule.targets, event);
    return event;
  }

  /**
   * Delivers an event to one rule's targets without pattern matching: the `Scheduled Event` of a rule with a
   * schedule expression.
   */
  deliverScheduled(rule: string, targets: BusTarget[], event: BusEvent): void {
    this.record(event, [rule], DEFAULT_BUS);
    this.deliver(rule, targets, event);
  }

  private deliver(rule: string, targets: BusTarget[], event: BusEvent): void {
    for (const target of targets) {
      const fn = lambdaFunctionName(target.arn);
      // A function ARN that names no registered function still goes to the Lambda runtime: its failure is retried
      // and then kept with the other failures, as an undeliverable event would be in AWS.
      if (fn) this.lambda.invokeAsync(fn, target.input(event), `rule ${rule}`);
      else {
        this.undelivered.push({ rule, targetId: target.id, arn: target.arn, eventId: event.id });
        if (this.undelivered.length > 500) this.undelivered.splice(0, this.undelivered.length - 500);
      }
    }
  }

  private record(event: BusEvent, matchedRules: string[], eventBusName: string): void {
    this.recent.push({ ...event, matchedRules, eventBusName });
    if (this.recent.length > 500) this.recent.splice(0, this.recent.length - 500);
  }
}
