import { randomUUID } from 'node:crypto';
import type { VirtualClock } from './clock.js';
import { matchesEventPattern, validateEventPattern, type EventPattern } from './event-pattern.js';
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
}

/**
 * The default event bus of every region: rules with event patterns, delivering matching events to functions
 * with Lambda's asynchronous invocation (and its retries). Keeps the last events for the control API.
 */
export class EventBus {
  private readonly rules = new Map<string, RuleRegistration>();
  readonly recent: (BusEvent & { matchedRules: string[] })[] = [];

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

  /** Publishes one event: stamps id and time, then delivers it to every matching rule's targets. */
  publish(entry: { source: string; detailType: string; detail: unknown; resources?: string[]; account: string; region: string; time?: Date }): BusEvent {
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
    const matched = [...this.rules.values()].filter((r) => matchesEventPattern(r.pattern, event));
    this.recent.push({ ...event, matchedRules: matched.map((r) => r.name) });
    if (this.recent.length > 500) this.recent.splice(0, this.recent.length - 500);
    for (const rule of matched) {
      for (const target of rule.targets) this.lambda.invokeAsync(target, event, `rule ${rule.name}`);
    }
    return event;
  }
}
