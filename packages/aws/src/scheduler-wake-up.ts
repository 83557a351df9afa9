import { createHash } from 'node:crypto';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient, UpdateScheduleCommand, type CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import type { AwsClients } from './clients.js';
import { isAwsError } from './errors.js';

export interface SchedulerWakeUpOptions {
  /** The function each wake-up invokes (`arn:aws:lambda:<region>:<account>:function:<name>`). */
  functionArn: string;
  /** The role EventBridge Scheduler assumes to invoke it (`lambda:InvokeFunction` on `functionArn`). */
  roleArn: string;
  /** Put before each key to name its schedule (`opsauto-prod-wake-`), so the stage's schedules are told apart. */
  namePrefix: string;
  /**
   * The clock wake-up times are compared with; default the system clock. A wake-up is never set less than a second
   * ahead of it: AWS accepts a one-time schedule in the past, but nothing documents that it ever fires.
   */
  now?: () => Date;
}

/** Schedule names: 1-64 characters of `[0-9a-zA-Z-_.]`. */
const MAX_NAME = 64;
const VALID_NAME = /^[0-9a-zA-Z\-_.]+$/;
const NOT_ALLOWED = /[^0-9a-zA-Z\-_.]/g;

/**
 * Wakes a worker Lambda up at a precise time with an EventBridge Scheduler one-time schedule per key (an
 * execution ID): `at()` in UTC, rounded up to the second so it never fires early, `ActionAfterCompletion: DELETE`
 * so a schedule is gone once it has fired. The function receives `{"executionId": key, "wakeAt": "<ISO time>"}`.
 * Scheduling a key again moves its one wake-up; cancelling a key that has none is not an error.
 *
 * @example
 * const wakeUp = new SchedulerWakeUp(clients, { functionArn, roleArn, namePrefix: 'opsauto-prod-wake-' });
 * await wakeUp.schedule(execution.executionId, new Date(Date.now() + 10 * 60_000));
 * await wakeUp.cancel(execution.executionId); // the execution finished early
 */
export class SchedulerWakeUp {
  private readonly now: () => Date;

  constructor(
    private readonly clients: AwsClients,
    private readonly options: SchedulerWakeUpOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Sets the key's wake-up at `at` (or a second from now, if `at` is sooner): creates its schedule, or updates the
   * one that exists.
   *
   * @example
   * await wakeUp.schedule('0f8fad5b-d9cb-469f-a165-70867728950e', new Date('2026-11-22T10:00:00.250Z')); // fires at 10:00:01
   */
  async schedule(key: string, at: Date): Promise<void> {
    if (!Number.isFinite(at.getTime())) throw new RangeError(`wake-up time for ${key} is not a valid date`);
    const fireMs = Math.max(ceilToSecond(at.getTime()), ceilToSecond(this.now().getTime() + 1000));
    const input: CreateScheduleCommandInput = {
      Name: this.nameOf(key),
      ScheduleExpression: `at(${new Date(fireMs).toISOString().slice(0, 19)})`,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: this.options.functionArn, RoleArn: this.options.roleArn, Input: JSON.stringify({ executionId: key, wakeAt: at.toISOString() }) },
      ActionAfterCompletion: 'DELETE',
    };
    const scheduler = this.clients.get(SchedulerClient);
    // The schedule can vanish between a ConflictException and the update (it fired and deleted itself): start over.
    for (let attempt = 1; ; attempt++) {
      try {
        await scheduler.send(new CreateScheduleCommand(input));
        return;
      } catch (e) {
        if (!isAwsError(e, 'ConflictException')) throw e;
      }
      try {
        await scheduler.send(new UpdateScheduleCommand(input));
        return;
      } catch (e) {
        if (!isAwsError(e, 'ResourceNotFoundException') || attempt >= 3) throw e;
      }
    }
  }

  /**
   * Removes the key's wake-up, if it has one.
   *
   * @example
   * await wakeUp.cancel('0f8fad5b-d9cb-469f-a165-70867728950e');
   */
  async cancel(key: string): Promise<void> {
    try {
      await this.clients.get(SchedulerClient).send(new DeleteScheduleCommand({ Name: this.nameOf(key) }));
    } catch (e) {
      if (!isAwsError(e, 'ResourceNotFoundException')) throw e;
    }
  }

  /**
   * `namePrefix + key` when that is a valid schedule name; otherwise its allowed characters, cut to fit, with a hash
   * of the key at the end, so that two keys never share a schedule.
   */
  nameOf(key: string): string {
    const name = `${this.options.namePrefix}${key}`;
    if (name.length <= MAX_NAME && VALID_NAME.test(name)) return name;
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
    return `${name.replace(NOT_ALLOWED, '-').slice(0, MAX_NAME - hash.length - 1)}-${hash}`;
  }
}

function ceilToSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}
