import { randomUUID } from 'node:crypto';
import { parseScheduleExpression, type ScheduleExpression } from '@opsauto/core/schedule-expression.js';
import { lambdaFunctionName } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { LambdaRuntime } from './lambda.js';

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

/** One fire of a schedule: what EventBridge Scheduler invokes, and as which schedule. */
export interface ScheduleFire {
  /** The schedule's name, as invocation records and logs show it (`schedule <name>`). */
  name: string;
  arn: string;
  /** A function name (stage schedules) or the target ARN (schedules created through the Scheduler API). */
  target: string;
  input?: string;
}

/** A schedule as `GET /_localcloud/health` lists it. */
export interface ScheduleListing extends ScheduleRegistration {
  /** `stage`: registered by the local stage (its manifest); `api`: created through the Scheduler API. */
  source: 'stage' | 'api';
  /** The next fire time, if any. */
  next?: string;
  arn?: string;
  account?: string;
  region?: string;
  state?: string;
}

/**
 * EventBridge Scheduler on the virtual clock. The stage's schedules (`add`, in memory: the stage registers them
 * again at every start) are armed here for their next fire time and re-armed after each; schedules created
 * through the Scheduler API are kept by the scheduler service in the store, which arms them itself and fires them
 * through `fire`, so both kinds invoke their targets the same way: asynchronously, with Lambda's retries.
 */
export class Scheduler {
  private readonly schedules = new Map<string, { registration: ScheduleRegistration; expression: ScheduleExpression; generation: number }>();
  private generation = 0;
  private apiSchedules: () => ScheduleListing[] = () => [];
  /** Fires whose target is not a Lambda function (SQS, SNS …): recorded rather than delivered. */
  readonly undelivered: { schedule: string; arn: string; time: string }[] = [];

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

  /** The stage's schedules, then the ones created through the API. */
  list(): ScheduleListing[] {
    const stage = [...this.schedules.values()].map(({ registration, expression }): ScheduleListing => ({
      ...registration,
      source: 'stage',
      next: expression.nextAfter(this.clock.now())?.toISOString(),
    }));
    return [...stage, ...this.apiSchedules()];
  }

  /** Where the schedules created through the Scheduler API are listed from (the scheduler service sets it). */
  useApiSchedules(source: () => ScheduleListing[]): void {
    this.apiSchedules = source;
  }

  /** Re-arms every schedule from now (after a reset cleared the clock's timers). */
  rearm(): void {
    for (const [name, entry] of this.schedules) {
      entry.generation = ++this.generation;
      this.arm(name, entry.generation, this.clock.now());
    }
  }

  /**
   * Invokes a schedule's target for its fire at `time`: the Input's `<aws.scheduler.*>` placeholders are filled in
   * and the function is invoked asynchronously. A Lambda function ARN names a function of the in-process runtime
   * (an unknown one fails there, is retried, then kept with the failures); any other ARN is recorded as undelivered.
   */
  fire(schedule: ScheduleFire, time: Date): void {
    const scheduledTime = time.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const text = (schedule.input ?? '{}')
      .replaceAll('<aws.scheduler.scheduled-time>', scheduledTime)
      .replaceAll('<aws.scheduler.execution-id>', randomUUID())
      .replaceAll('<aws.scheduler.schedule-arn>', schedule.arn)
      .replaceAll('<aws.scheduler.attempt-number>', '1');
    const fn = schedule.target.startsWith('arn:') ? lambdaFunctionName(schedule.target) : schedule.target;
    if (fn === undefined) {
      this.undelivered.push({ schedule: schedule.arn, arn: schedule.target, time: scheduledTime });
      if (this.undelivered.length > 500) this.undelivered.splice(0, this.undelivered.length - 500);
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(text) as unknown;
    } catch {
      // An Input that is not JSON reaches the function as the text it is.
      event = text;
    }
    this.lambda.invokeAsync(fn, event, `schedule ${schedule.name}`);
  }

  private arm(name: string, generation: number, after: Date): void {
    const entry = this.schedules.get(name);
    const next = entry?.expression.nextAfter(after);
    if (!entry || !next) return;
    this.clock.at(next, () => {
      // A schedule replaced or re-armed since this timer was set leaves the old timer without effect.
      if (this.schedules.get(name)?.generation !== generation) return;
      const arn = `arn:aws:scheduler:${this.region}:${this.account}:schedule/default/${name}`;
      this.fire({ name, arn, target: entry.registration.target, input: entry.registration.input }, next);
      this.arm(name, generation, next);
    });
  }
}
