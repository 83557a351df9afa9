import { randomUUID } from 'node:crypto';
import type { VirtualClock } from './clock.js';
import type { LambdaRuntime } from './lambda.js';
import { parseScheduleExpression, type ScheduleExpression } from './schedule-expression.js';

export interface ScheduleRegistration {
  name: string;
  /** `cron(...)`, `rate(...)` or `at(...)`, as EventBridge Scheduler takes them. */
  expression: string;
  /** IANA time zone the expression is read in (default UTC). */
  timezone?: string;
  /** Function invoked asynchronously at each fire time. */
  target: string;
  /**
   * The target's Input. As in EventBridge Scheduler, `<aws.scheduler.scheduled-time>`,
   * `<aws.scheduler.execution-id>`, `<aws.scheduler.schedule-arn>` and `<aws.scheduler.attempt-number>` are replaced.
   * Default `{}`.
   */
  input?: string;
}

/**
 * EventBridge Scheduler on the virtual clock: each schedule is armed for its next fire time, fires by invoking
 * its target asynchronously (with Lambda's retries), and re-arms itself for the following one.
 */
export class Scheduler {
  private readonly schedules = new Map<string, { registration: ScheduleRegistration; expression: ScheduleExpression; generation: number }>();
  private generation = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly lambda: LambdaRuntime,
    private readonly account: string,
    private readonly region: string,
  ) {}

  add(registration: ScheduleRegistration): void {
    const expression = parseScheduleExpression(registration.expression, registration.timezone);
    const entry = { registration, expression, generation: ++this.generation };
    this.schedules.set(registration.name, entry);
    this.arm(registration.name, entry.generation, this.clock.now());
  }

  list(): (ScheduleRegistration & { next?: string })[] {
    return [...this.schedules.values()].map(({ registration, expression }) => ({ ...registration, next: expression.nextAfter(this.clock.now())?.toISOString() }));
  }

  /** Re-arms every schedule from now (after a reset cleared the clock's timers). */
  rearm(): void {
    for (const [name, entry] of this.schedules) {
      entry.generation = ++this.generation;
      this.arm(name, entry.generation, this.clock.now());
    }
  }

  private arm(name: string, generation: number, after: Date): void {
    const entry = this.schedules.get(name);
    const next = entry?.expression.nextAfter(after);
    if (!entry || !next) return;
    this.clock.at(next, () => {
      // A schedule replaced or re-armed since this timer was set leaves the old timer without effect.
      if (this.schedules.get(name)?.generation !== generation) return;
      const arn = `arn:aws:scheduler:${this.region}:${this.account}:schedule/default/${name}`;
      const input = (entry.registration.input ?? '{}')
        .replaceAll('<aws.scheduler.scheduled-time>', next.toISOString().replace(/\.\d{3}Z$/, 'Z'))
        .replaceAll('<aws.scheduler.execution-id>', randomUUID())
        .replaceAll('<aws.scheduler.schedule-arn>', arn)
        .replaceAll('<aws.scheduler.attempt-number>', '1');
      this.lambda.invokeAsync(entry.registration.target, JSON.parse(input) as unknown, `schedule ${name}`);
      this.arm(name, generation, next);
    });
  }
}
