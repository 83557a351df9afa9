import { describe, expect, it } from 'vitest';
import {
  cronFields,
  formatInZone,
  InvalidScheduleExpressionError,
  isTimeZone,
  nextRuns,
  parseScheduleExpression,
  type ScheduleExpression,
} from '@opsauto/core/schedule-expression.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The next `count` fire times after `from`, as ISO strings. */
function fires(schedule: ScheduleExpression, from: string, count: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = schedule.nextAfter(at);
    if (!next) break;
    out.push(next.toISOString());
    at = next;
  }
  return out;
}

function next(expression: string, from: string, timezone?: string): string | undefined {
  return parseScheduleExpression(expression, timezone).nextAfter(new Date(from))?.toISOString();
}

function rejection(expression: string, timezone?: string): InvalidScheduleExpressionError {
  try {
    parseScheduleExpression(expression, timezone);
  } catch (error) {
    if (error instanceof InvalidScheduleExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${expression} to be rejected`);
}

// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html (rate-based schedules)
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html ("If the value is equal to 1,
// then the unit must be singular. If the value is greater than 1, the unit must be plural.")
describe('rate(value unit)', () => {
  it('fires every period from the start, which defaults to the Unix epoch', () => {
    expect(next('rate(5 minutes)', '2026-03-08T10:02:30Z')).toBe('2026-03-08T10:05:00.000Z');
    expect(next('rate(5 minutes)', '2026-03-08T10:05:00Z')).toBe('2026-03-08T10:10:00.000Z');
    expect(next('rate(1 minute)', '2026-03-08T10:05:59.999Z')).toBe('2026-03-08T10:06:00.000Z');
    expect(next('rate(1 hour)', '2026-03-08T10:05:00Z')).toBe('2026-03-08T11:00:00.000Z');
    expect(next('rate(2 hours)', '2026-03-08T10:05:00Z')).toBe('2026-03-08T12:00:00.000Z');
    expect(next('rate(1 day)', '2026-03-08T10:05:00Z')).toBe('2026-03-09T00:00:00.000Z');
  });

  it('takes its phase from the start: the start itself is the first fire time', () => {
    const start = new Date('2026-01-01T09:00:07Z');
    const schedule = parseScheduleExpression('rate(3 days)', 'UTC', start);
    expect(schedule.nextAfter(new Date('2025-06-01T00:00:00Z'))?.toISOString()).toBe('2026-01-01T09:00:07.000Z');
    expect(fires(schedule, '2026-01-01T09:00:07Z', 3)).toEqual([
      '2026-01-04T09:00:07.000Z',
      '2026-01-07T09:00:07.000Z',
      '2026-01-10T09:00:07.000Z',
    ]);
  });

  // https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst: "days represents a 24-hour duration on
  // the clock ... EventBridge Scheduler evaluates the rate expression 24 hours after the schedule's last invocation."
  it('counts days as 24 hours, also across a daylight saving change in the time zone', () => {
    const start = new Date('2026-03-07T14:00:00Z'); // 09:00 EST
    const schedule = parseScheduleExpression('rate(1 day)', 'America/New_York', start);
    expect(fires(schedule, '2026-03-07T14:00:00Z', 2)).toEqual(['2026-03-08T14:00:00.000Z', '2026-03-09T14:00:00.000Z']);
  });

  it.each([
    ['rate(1 minutes)', 'singular'],
    ['rate(5 minute)', 'plural'],
    ['rate(1 hours)', 'singular'],
    ['rate(5 hour)', 'plural'],
    ['rate(1 days)', 'singular'],
    ['rate(2 day)', 'plural'],
    ['rate(0 minutes)', 'positive whole number'],
    ['rate(-5 minutes)', 'positive whole number'],
    ['rate(1.5 hours)', 'positive whole number'],
    ['rate(5 weeks)', "unit 'weeks'"],
    ['rate(5 seconds)', "unit 'seconds'"],
    ['rate(5)', 'value and a unit'],
    ['rate()', 'value and a unit'],
    ['rate(5 minutes now)', 'value and a unit'],
  ])('rejects %s', (expression, problem) => {
    const error = rejection(expression);
    expect(error.code).toBe('ValidationException');
    expect(error.message).toContain(expression);
    expect(error.message).toContain(problem);
  });
});

// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html (one-time schedules: at(yyyy-mm-ddThh:mm:ss),
// "in the time zone, that you specify")
describe('at(yyyy-mm-ddThh:mm:ss)', () => {
  it('fires once, at the wall-clock time in the time zone', () => {
    const utc = parseScheduleExpression('at(2026-07-01T09:30:00)');
    expect(utc.nextAfter(new Date('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-07-01T09:30:00.000Z');
    expect(utc.nextAfter(new Date('2026-07-01T09:29:59.999Z'))?.toISOString()).toBe('2026-07-01T09:30:00.000Z');
    expect(utc.nextAfter(new Date('2026-07-01T09:30:00Z'))).toBeUndefined();

    expect(next('at(2026-07-01T09:30:00)', '2026-01-01T00:00:00Z', 'Europe/Berlin')).toBe('2026-07-01T07:30:00.000Z');
    expect(next('at(2026-01-15T09:30:00)', '2026-01-01T00:00:00Z', 'Europe/Berlin')).toBe('2026-01-15T08:30:00.000Z');
    expect(next('at(2026-07-01T09:30:45)', '2026-01-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-07-01T04:00:45.000Z');
  });

  // AWS documents DST for cron only (see the cron DST tests); a one-time schedule is read the same way.
  it('follows the cron daylight saving rules: a time in the gap never comes, a repeated time fires the first time', () => {
    expect(next('at(2026-03-08T02:30:00)', '2026-01-01T00:00:00Z', 'America/New_York')).toBeUndefined();
    expect(next('at(2026-11-01T01:30:00)', '2026-01-01T00:00:00Z', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
  });

  it.each([
    ['at(2026-02-30T00:00:00)', 'day 30 does not exist'],
    ['at(2027-02-29T00:00:00)', 'day 29 does not exist'],
    ['at(2026-13-01T00:00:00)', 'month 13'],
    ['at(2026-01-01T24:00:00)', 'hour 24'],
    ['at(2026-01-01T10:60:00)', 'minute 60'],
    ['at(2026-01-01T10:00:60)', 'second 60'],
    ['at(2026-01-01 10:00:00)', 'yyyy-mm-ddThh:mm:ss'],
    ['at(2026-01-01T10:00)', 'yyyy-mm-ddThh:mm:ss'],
    ['at(2026-01-01T10:00:00Z)', 'yyyy-mm-ddThh:mm:ss'],
  ])('rejects %s', (expression, problem) => {
    expect(rejection(expression).message).toContain(problem);
  });

  it('accepts a leap day', () => {
    expect(next('at(2028-02-29T12:00:00)', '2028-01-01T00:00:00Z')).toBe('2028-02-29T12:00:00.000Z');
  });
});

// Fields, values and wildcards: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
describe('cron(minutes hours day-of-month month day-of-week year)', () => {
  it('runs the examples from the AWS cron reference', () => {
    // "Run at 10:00 am (UTC+0) every day"
    expect(fires(parseScheduleExpression('cron(0 10 * * ? *)'), '2026-03-08T10:00:00Z', 2)).toEqual([
      '2026-03-09T10:00:00.000Z',
      '2026-03-10T10:00:00.000Z',
    ]);
    // "Run at 12:15 pm (UTC+0) every day"
    expect(next('cron(15 12 * * ? *)', '2026-03-08T12:15:00Z')).toBe('2026-03-09T12:15:00.000Z');
    // "Run at 6:00 pm (UTC+0) every Monday through Friday": Friday 2026-03-13, then Monday 2026-03-16
    expect(fires(parseScheduleExpression('cron(0 18 ? * MON-FRI *)'), '2026-03-13T17:00:00Z', 2)).toEqual([
      '2026-03-13T18:00:00.000Z',
      '2026-03-16T18:00:00.000Z',
    ]);
    // "Run at 8:00 am (UTC+0) every 1st day of the month"
    expect(next('cron(0 8 1 * ? *)', '2026-03-01T08:00:00Z')).toBe('2026-04-01T08:00:00.000Z');
    // "Run every 15 minutes"
    expect(fires(parseScheduleExpression('cron(0/15 * * * ? *)'), '2026-03-08T10:50:00Z', 2)).toEqual([
      '2026-03-08T11:00:00.000Z',
      '2026-03-08T11:15:00.000Z',
    ]);
    // "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)"
    expect(next('cron(0/5 8-17 ? * MON-FRI *)', '2026-03-13T17:55:00Z')).toBe('2026-03-16T08:00:00.000Z');
    expect(next('cron(0/5 8-17 ? * MON-FRI *)', '2026-03-16T17:52:00Z')).toBe('2026-03-16T17:55:00.000Z');
  });

  it('steps with / from the start value: 1/10 is the 1st, 11th, 21st... minute', () => {
    expect(fires(parseScheduleExpression('cron(1/10 * * * ? *)'), '2026-03-08T10:00:00Z', 3)).toEqual([
      '2026-03-08T10:01:00.000Z',
      '2026-03-08T10:11:00.000Z',
      '2026-03-08T10:21:00.000Z',
    ]);
    expect(next('cron(*/20 * * * ? *)', '2026-03-08T10:41:00Z')).toBe('2026-03-08T11:00:00.000Z');
    expect(fires(parseScheduleExpression('cron(0 0 1 1/4 ? *)'), '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-05-01T00:00:00.000Z',
      '2026-09-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
    expect(fires(parseScheduleExpression('cron(10-40/15 9 * * ? *)'), '2026-03-08T09:00:00Z', 4)).toEqual([
      '2026-03-08T09:10:00.000Z',
      '2026-03-08T09:25:00.000Z',
      '2026-03-08T09:40:00.000Z',
      '2026-03-09T09:10:00.000Z',
    ]);
  });

  it('reads month and day names in any case, in lists and ranges', () => {
    // Tuesday 2026-03-31, then Friday 2027-01-01 (only JAN and MAR, Monday to Friday)
    expect(fires(parseScheduleExpression('cron(0 9 ? jan,Mar mon-FRI *)'), '2026-03-30T12:00:00Z', 2)).toEqual([
      '2026-03-31T09:00:00.000Z',
      '2027-01-01T09:00:00.000Z',
    ]);
    expect(next('cron(0 9 ? * 1,7 *)', '2026-03-09T00:00:00Z')).toBe('2026-03-14T09:00:00.000Z'); // SUN=1, SAT=7
  });

  it('wraps a range whose start is after its end (hours 22-1, FRI-MON)', () => {
    expect(fires(parseScheduleExpression('cron(0 22-1 * * ? *)'), '2026-03-08T12:00:00Z', 5)).toEqual([
      '2026-03-08T22:00:00.000Z',
      '2026-03-08T23:00:00.000Z',
      '2026-03-09T00:00:00.000Z',
      '2026-03-09T01:00:00.000Z',
      '2026-03-09T22:00:00.000Z',
    ]);
    // Wednesday 2026-03-11 -> Friday 13, Saturday 14, Sunday 15, Monday 16
    expect(fires(parseScheduleExpression('cron(0 12 ? * FRI-MON *)'), '2026-03-11T00:00:00Z', 5)).toEqual([
      '2026-03-13T12:00:00.000Z',
      '2026-03-14T12:00:00.000Z',
      '2026-03-15T12:00:00.000Z',
      '2026-03-16T12:00:00.000Z',
      '2026-03-20T12:00:00.000Z',
    ]);
  });

  it('stops when its years are over, and never passes 2199', () => {
    expect(fires(parseScheduleExpression('cron(0 0 1 1 ? 2027-2028)'), '2026-06-01T00:00:00Z', 5)).toEqual([
      '2027-01-01T00:00:00.000Z',
      '2028-01-01T00:00:00.000Z',
    ]);
    expect(next('cron(0 0 1 1 ? 2020)', '2026-01-01T00:00:00Z')).toBeUndefined();
    expect(next('cron(0 0 31 12 ? *)', '2199-12-31T00:00:00Z')).toBeUndefined();
    expect(next('cron(0 0 1 1 ? *)', '1900-06-01T00:00:00Z')).toBe('1970-01-01T00:00:00.000Z');
  });

  it('returns undefined for a date that never exists, without hanging', () => {
    // A search that did not stop would hang here (and the test time out): no clock is read.
    expect(next('cron(0 0 31 2 ? *)', '2026-01-01T00:00:00Z')).toBeUndefined();
    expect(next('cron(0 0 30 FEB ? *)', '2026-01-01T00:00:00Z', 'Europe/London')).toBeUndefined();
  });

  it('finds a leap day years away', () => {
    expect(fires(parseScheduleExpression('cron(0 12 29 2 ? *)'), '2026-01-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T12:00:00.000Z',
      '2032-02-29T12:00:00.000Z',
    ]);
  });

  it('uses the start as a lower bound', () => {
    const schedule = parseScheduleExpression('cron(0 10 * * ? *)', 'UTC', new Date('2026-05-01T10:00:00Z'));
    expect(schedule.nextAfter(new Date('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(schedule.nextAfter(new Date('2026-05-01T10:00:00Z'))?.toISOString()).toBe('2026-05-02T10:00:00.000Z');
  });
});

// "The L wildcard in the Day-of-month or Day-of-week fields specifies the last day of the month or week."
// "The W wildcard in the Day-of-month field specifies a weekday ... 3W specifies the weekday closest to the third day."
// "3#2 is the second Tuesday of the month: the 3 refers to Tuesday because it is the third day of each week, and the 2
//  refers to the second day of that type within the month."
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
describe('cron L, W and #', () => {
  it('L in day-of-month is the last day of the month, leap years included', () => {
    const lastDay = parseScheduleExpression('cron(0 0 L * ? *)');
    expect(fires(lastDay, '2027-01-31T00:00:00Z', 3)).toEqual([
      '2027-02-28T00:00:00.000Z',
      '2027-03-31T00:00:00.000Z',
      '2027-04-30T00:00:00.000Z',
    ]);
    expect(fires(lastDay, '2028-01-31T00:00:00Z', 2)).toEqual(['2028-02-29T00:00:00.000Z', '2028-03-31T00:00:00.000Z']);
  });

  it('L at the end of February in a time zone', () => {
    expect(next('cron(0 0 L * ? *)', '2027-02-01T00:00:00Z', 'Asia/Tokyo')).toBe('2027-02-27T15:00:00.000Z');
    expect(next('cron(0 0 L * ? *)', '2028-02-01T00:00:00Z', 'Asia/Tokyo')).toBe('2028-02-28T15:00:00.000Z');
  });

  it('nW is the weekday nearest day n, without leaving the month', () => {
    const third = parseScheduleExpression('cron(0 9 3W * ? *)');
    // 2026-01-03 is a Saturday -> Friday the 2nd; 2026-05-03 is a Sunday -> Monday the 4th; 2026-02-03 is a Tuesday.
    expect(third.nextAfter(new Date('2025-12-31T00:00:00Z'))?.toISOString()).toBe('2026-01-02T09:00:00.000Z');
    expect(third.nextAfter(new Date('2026-01-02T09:00:00Z'))?.toISOString()).toBe('2026-02-03T09:00:00.000Z');
    expect(third.nextAfter(new Date('2026-04-30T00:00:00Z'))?.toISOString()).toBe('2026-05-04T09:00:00.000Z');
    // 2026-08-01 is a Saturday: 1W moves forward to Monday the 3rd, not back into July.
    expect(next('cron(0 9 1W * ? *)', '2026-07-15T00:00:00Z')).toBe('2026-08-03T09:00:00.000Z');
    // 2026-05-31 is a Sunday: 31W moves back to Friday the 29th, not into June; a 30-day month has no day 31.
    expect(next('cron(0 9 31W * ? *)', '2026-05-01T00:00:00Z')).toBe('2026-05-29T09:00:00.000Z');
    expect(next('cron(0 9 31W * ? *)', '2026-06-01T00:00:00Z')).toBe('2026-07-31T09:00:00.000Z');
  });

  it('LW is the last weekday of the month', () => {
    // 2026-10-31 is a Saturday, 2027-01-31 a Sunday, 2027-02-28 a Sunday, 2027-03-31 a Wednesday.
    expect(next('cron(0 9 LW * ? *)', '2026-10-01T00:00:00Z')).toBe('2026-10-30T09:00:00.000Z');
    expect(fires(parseScheduleExpression('cron(0 9 LW * ? *)'), '2027-01-01T00:00:00Z', 3)).toEqual([
      '2027-01-29T09:00:00.000Z',
      '2027-02-26T09:00:00.000Z',
      '2027-03-31T09:00:00.000Z',
    ]);
  });

  it('n#k is the k-th weekday n of the month (3#2 = second Tuesday)', () => {
    expect(fires(parseScheduleExpression('cron(0 9 ? * 3#2 *)'), '2026-02-01T00:00:00Z', 3)).toEqual([
      '2026-02-10T09:00:00.000Z',
      '2026-03-10T09:00:00.000Z',
      '2026-04-14T09:00:00.000Z',
    ]);
    // First Monday, with a name: 2026-06-01 is a Monday.
    expect(next('cron(0 9 ? * MON#1 *)', '2026-05-05T00:00:00Z')).toBe('2026-06-01T09:00:00.000Z');
    // A fifth Friday is skipped in months without one: 2026-01-30, then 2026-05-29.
    expect(fires(parseScheduleExpression('cron(0 9 ? * 6#5 *)'), '2026-01-01T00:00:00Z', 2)).toEqual([
      '2026-01-30T09:00:00.000Z',
      '2026-05-29T09:00:00.000Z',
    ]);
  });

  it('nL in day-of-week is the last weekday n of the month; L alone is Saturday, the last day of the week', () => {
    // Last Friday: 2026-02-27, 2026-03-27, 2026-04-24.
    expect(fires(parseScheduleExpression('cron(15 10 ? * 6L 2026-2027)'), '2026-02-01T00:00:00Z', 3)).toEqual([
      '2026-02-27T10:15:00.000Z',
      '2026-03-27T10:15:00.000Z',
      '2026-04-24T10:15:00.000Z',
    ]);
    // Wednesday 2026-03-11 -> Saturday 14, Saturday 21.
    expect(fires(parseScheduleExpression('cron(0 9 ? * L *)'), '2026-03-11T00:00:00Z', 2)).toEqual([
      '2026-03-14T09:00:00.000Z',
      '2026-03-21T09:00:00.000Z',
    ]);
  });
});

// https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst (AWS official): "EventBridge Scheduler
// automatically adjusts your schedule for Daylight Saving Time. When the time shifts forward in Spring, your schedule
// invocation gets skipped if the cron expression falls on a non-existent date and time. When the time shifts back in
// the Fall, your schedule runs only once and doesn't repeat its invocation."
// See also the daylight saving section of https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html.
// AWS does not say which of the two occurrences runs in the fall; this evaluator runs the first (the earlier instant).
describe('cron in a time zone across daylight saving changes', () => {
  describe('America/New_York', () => {
    const ny = 'America/New_York';

    it('2026 spring (8 March, 02:00 EST -> 03:00 EDT): 02:30 does not exist that day and is skipped', () => {
      expect(fires(parseScheduleExpression('cron(30 2 * * ? *)', ny), '2026-03-07T00:00:00Z', 2)).toEqual([
        '2026-03-07T07:30:00.000Z', // 02:30 EST
        '2026-03-09T06:30:00.000Z', // 02:30 EDT, 8 March skipped
      ]);
      expect(fires(parseScheduleExpression('cron(0 9 * * ? *)', ny), '2026-03-07T00:00:00Z', 2)).toEqual([
        '2026-03-07T14:00:00.000Z',
        '2026-03-08T13:00:00.000Z',
      ]);
    });

    it('2026 autumn (1 November, 02:00 EDT -> 01:00 EST): 01:30 happens twice and runs once, the first time', () => {
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', ny), '2026-10-31T12:00:00Z', 2)).toEqual([
        '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) does not run
        '2026-11-02T06:30:00.000Z',
      ]);
      // Hourly: 01:00 EDT runs, the repeated 01:00 EST does not, then 02:00 EST.
      expect(fires(parseScheduleExpression('cron(0 * * * ? *)', ny), '2026-11-01T04:30:00Z', 2)).toEqual([
        '2026-11-01T05:00:00.000Z',
        '2026-11-01T07:00:00.000Z',
      ]);
    });

    it('2027 spring (14 March) and autumn (7 November)', () => {
      expect(fires(parseScheduleExpression('cron(30 2 * * ? *)', ny), '2027-03-13T00:00:00Z', 2)).toEqual([
        '2027-03-13T07:30:00.000Z',
        '2027-03-15T06:30:00.000Z',
      ]);
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', ny), '2027-11-06T12:00:00Z', 2)).toEqual([
        '2027-11-07T05:30:00.000Z',
        '2027-11-08T06:30:00.000Z',
      ]);
    });

    it('every minute: no gap in UTC in spring; in autumn the repeated hour does not run again', () => {
      const everyMinute = parseScheduleExpression('cron(* * * * ? *)', ny);
      expect(fires(everyMinute, '2026-03-08T06:58:00Z', 2)).toEqual(['2026-03-08T06:59:00.000Z', '2026-03-08T07:00:00.000Z']);
      expect(fires(everyMinute, '2026-11-01T05:58:00Z', 2)).toEqual(['2026-11-01T05:59:00.000Z', '2026-11-01T07:00:00.000Z']);
      // Asked from inside the repeated hour (01:20 EST), the next run is 02:00 EST.
      expect(everyMinute.nextAfter(new Date('2026-11-01T06:20:00Z'))?.toISOString()).toBe('2026-11-01T07:00:00.000Z');
    });
  });

  describe('Europe/London', () => {
    const london = 'Europe/London';

    it('2026 spring (29 March, 01:00 GMT -> 02:00 BST): 01:30 is skipped', () => {
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', london), '2026-03-28T00:00:00Z', 2)).toEqual([
        '2026-03-28T01:30:00.000Z',
        '2026-03-30T00:30:00.000Z',
      ]);
    });

    it('2026 autumn (25 October, 02:00 BST -> 01:00 GMT): 01:30 runs once, at 01:30 BST', () => {
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', london), '2026-10-24T12:00:00Z', 2)).toEqual([
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
    });

    it('2027 spring (28 March) and autumn (31 October)', () => {
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', london), '2027-03-27T00:00:00Z', 2)).toEqual([
        '2027-03-27T01:30:00.000Z',
        '2027-03-29T00:30:00.000Z',
      ]);
      expect(fires(parseScheduleExpression('cron(30 1 * * ? *)', london), '2027-10-30T12:00:00Z', 2)).toEqual([
        '2027-10-31T00:30:00.000Z',
        '2027-11-01T01:30:00.000Z',
      ]);
      // A time outside the changed hour keeps its wall-clock time: 09:00 GMT, then 09:00 BST.
      expect(fires(parseScheduleExpression('cron(0 9 * * ? *)', london), '2027-03-27T00:00:00Z', 2)).toEqual([
        '2027-03-27T09:00:00.000Z',
        '2027-03-28T08:00:00.000Z',
      ]);
    });
  });

  describe('Europe/Berlin', () => {
    const berlin = 'Europe/Berlin';

    it('2027 spring (28 March, 02:00 CET -> 03:00 CEST): 02:30 does not exist that day and is skipped', () => {
      expect(fires(parseScheduleExpression('cron(30 2 * * ? *)', berlin), '2027-03-26T12:00:00Z', 3)).toEqual([
        '2027-03-27T01:30:00.000Z', // 02:30 CET
        '2027-03-29T00:30:00.000Z', // 02:30 CEST; Sunday 28 March has no 02:30
        '2027-03-30T00:30:00.000Z',
      ]);
      // Hourly at :30: 01:30 CET, then 03:30 CEST, one hour of UTC later (02:30 never shows on the clock).
      expect(fires(parseScheduleExpression('cron(30 * * * ? *)', berlin), '2027-03-28T00:00:00Z', 2)).toEqual([
        '2027-03-28T00:30:00.000Z',
        '2027-03-28T01:30:00.000Z',
      ]);
    });

    it('2027 autumn (31 October, 03:00 CEST -> 02:00 CET): 02:30 happens twice and runs once, the first time', () => {
      expect(fires(parseScheduleExpression('cron(30 2 * * ? *)', berlin), '2027-10-30T12:00:00Z', 2)).toEqual([
        '2027-10-31T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30Z) does not run
        '2027-11-01T01:30:00.000Z',
      ]);
      // Hourly at :30: 01:30 CEST, 02:30 CEST, (02:30 CET skipped), 03:30 CET.
      expect(fires(parseScheduleExpression('cron(30 * * * ? *)', berlin), '2027-10-30T23:00:00Z', 3)).toEqual([
        '2027-10-30T23:30:00.000Z',
        '2027-10-31T00:30:00.000Z',
        '2027-10-31T02:30:00.000Z',
      ]);
    });
  });

  it('Asia/Seoul keeps no daylight saving time: 09:00 KST is 00:00 UTC every day of the year', () => {
    const runs = nextRuns('cron(0 9 * * ? *)', 'Asia/Seoul', new Date('2026-12-31T12:00:00Z'), 365);
    expect(runs).toHaveLength(365);
    expect(runs[0]?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(runs.at(-1)?.toISOString()).toBe('2027-12-31T00:00:00.000Z');
    for (const run of runs) expect(run.toISOString().slice(11)).toBe('00:00:00.000Z');
    // The same wall time in Berlin moves in UTC with its clocks, which is what Seoul's does not do.
    expect(next('cron(0 9 * * ? *)', '2027-01-15T00:00:00Z', 'Europe/Berlin')).toBe('2027-01-15T08:00:00.000Z');
    expect(next('cron(0 9 * * ? *)', '2027-07-15T00:00:00Z', 'Europe/Berlin')).toBe('2027-07-15T07:00:00.000Z');
  });

  it('every weekday at 09:00 and 17:00 Asia/Seoul across a month end', () => {
    const office = parseScheduleExpression('cron(0 9,17 ? * MON-FRI *)', 'Asia/Seoul');
    // Thursday 29 July 2027 (KST) to Monday 2 August: Saturday 31 July and Sunday 1 August have no runs.
    expect(fires(office, '2027-07-28T15:00:00Z', 6)).toEqual([
      '2027-07-29T00:00:00.000Z', // Thu 09:00 KST
      '2027-07-29T08:00:00.000Z', // Thu 17:00 KST
      '2027-07-30T00:00:00.000Z', // Fri
      '2027-07-30T08:00:00.000Z',
      '2027-08-02T00:00:00.000Z', // Mon
      '2027-08-02T08:00:00.000Z',
    ]);
    // Thursday 30 September to Friday 1 October: the month changes on a weekday, and 17:00 KST on the 30th is
    // 08:00 UTC the same day while 09:00 KST on the 1st is 00:00 UTC on the 1st.
    expect(fires(office, '2027-09-30T07:00:00Z', 3)).toEqual([
      '2027-09-30T08:00:00.000Z',
      '2027-10-01T00:00:00.000Z',
      '2027-10-01T08:00:00.000Z',
    ]);
  });

  it('office hours cron(0 8 ? * MON-FRI *) in Europe/Berlin across the March 2027 change', () => {
    const office = parseScheduleExpression('cron(0 8 ? * MON-FRI *)', 'Europe/Berlin');
    expect(fires(office, '2027-03-25T12:00:00Z', 3)).toEqual([
      '2027-03-26T07:00:00.000Z', // Friday, 08:00 CET
      '2027-03-29T06:00:00.000Z', // Monday, 08:00 CEST (clocks changed Sunday 28 March)
      '2027-03-30T06:00:00.000Z',
    ]);
  });
});

describe('time zones', () => {
  it('defaults to UTC and accepts any IANA name', () => {
    expect(next('cron(0 9 * * ? *)', '2026-07-01T00:00:00Z')).toBe('2026-07-01T09:00:00.000Z');
    expect(next('cron(0 9 * * ? *)', '2026-07-01T00:00:00Z', 'UTC')).toBe('2026-07-01T09:00:00.000Z');
    expect(next('cron(0 9 * * ? *)', '2026-07-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-07-01T03:30:00.000Z');
    expect(next('cron(0 9 * * ? *)', '2026-07-01T00:00:00Z', 'Australia/Sydney')).toBe('2026-07-01T23:00:00.000Z');
  });

  it('evaluates the day fields on the local calendar', () => {
    // 23:30 on Friday 13 March 2026 in Los Angeles is Saturday 06:30Z; a Friday schedule runs then.
    expect(next('cron(30 23 ? * FRI *)', '2026-03-13T00:00:00Z', 'America/Los_Angeles')).toBe('2026-03-14T06:30:00.000Z');
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Berlinn', ''])('rejects the time zone %j', (timezone) => {
    const error = rejection('cron(0 9 * * ? *)', timezone);
    expect(error.code).toBe('ValidationException');
    expect(error.message).toContain('ScheduleExpressionTimezone');
  });
});

// The one time zone check: the parser's, the config's and the CLI's.
describe('isTimeZone', () => {
  it.each(['UTC', 'Etc/UTC', 'GMT', 'Asia/Seoul', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Calcutta', 'US/Eastern', 'Etc/GMT+5'])(
    'accepts %s, a name or link of the IANA database',
    (name) => {
      expect(isTimeZone(name)).toBe(true);
      expect(() => parseScheduleExpression('cron(0 9 * * ? *)', name)).not.toThrow();
    },
  );

  it('accepts every canonical name Intl lists', () => {
    const names = Intl.supportedValuesOf('timeZone');
    expect(names.length).toBeGreaterThan(300);
    expect(names.filter((name) => !isTimeZone(name))).toEqual([]);
  });

  it.each([
    ['Mars/Olympus_Mons', 'for example America/New_York'],
    ['Europe/Berlinn', 'for example America/New_York'],
    ['', 'for example America/New_York'],
    [' Asia/Seoul', 'for example America/New_York'],
    ['+09:00', 'for example America/New_York'],
    ['-05:00', 'for example America/New_York'],
    ['KST', 'for example America/New_York'],
    ['asia/seoul', 'did you mean Asia/Seoul?'],
    ['utc', 'did you mean UTC?'],
  ])('refuses %j, and so does the parser', (name, problem) => {
    expect(isTimeZone(name)).toBe(false);
    const error = rejection('cron(0 9 * * ? *)', name);
    expect(error.code).toBe('ValidationException');
    expect(error.message).toContain(`Invalid ScheduleExpressionTimezone ${name}: not an IANA time zone name (`);
    expect(error.message).toContain(problem);
  });

  it('refuses what is not a string', () => {
    expect(isTimeZone(undefined as unknown as string)).toBe(false);
    expect(isTimeZone(9 as unknown as string)).toBe(false);
  });
});

describe('nextRuns', () => {
  it('lists the next fire times strictly after the instant, in order', () => {
    // Friday 5 March 2027 10:00 KST: the next two are Monday and Tuesday 09:00 KST.
    expect(nextRuns('cron(0 9 ? * MON-FRI *)', 'Asia/Seoul', new Date('2027-03-05T01:00:00Z'), 2).map((d) => d.toISOString())).toEqual([
      '2027-03-08T00:00:00.000Z',
      '2027-03-09T00:00:00.000Z',
    ]);
    expect(nextRuns('cron(0 9 * * ? *)', 'UTC', new Date('2027-03-05T09:00:00Z'), 1)[0]?.toISOString()).toBe('2027-03-06T09:00:00.000Z');
    expect(nextRuns('cron(0 9 * * ? *)', undefined, new Date('2027-03-05T00:00:00Z'), 0)).toEqual([]);
  });

  it('stops when the schedule ends, and takes a rate schedule\'s start', () => {
    expect(nextRuns('cron(0 0 1 1 ? 2027-2028)', 'UTC', new Date('2026-06-01T00:00:00Z'), 5)).toHaveLength(2);
    expect(nextRuns('at(2027-03-01T09:00:00)', 'Asia/Seoul', new Date('2027-01-01T00:00:00Z'), 3).map((d) => d.toISOString())).toEqual([
      '2027-03-01T00:00:00.000Z',
    ]);
    const start = new Date('2027-01-01T00:00:07Z');
    expect(nextRuns('rate(12 hours)', 'UTC', new Date('2027-01-01T00:00:07Z'), 2, start).map((d) => d.toISOString())).toEqual([
      '2027-01-01T12:00:07.000Z',
      '2027-01-02T00:00:07.000Z',
    ]);
  });

  it('refuses a bad count or date, and a bad expression with the parser\'s error', () => {
    expect(() => nextRuns('rate(5 minutes)', 'UTC', new Date(), -1)).toThrow(RangeError);
    expect(() => nextRuns('rate(5 minutes)', 'UTC', new Date(), 1.5)).toThrow(/count must be a whole number/);
    expect(() => nextRuns('rate(5 minutes)', 'UTC', new Date('nope'), 1)).toThrow(RangeError);
    expect(() => nextRuns('cron(0 24 * * ? *)', 'UTC', new Date(), 1)).toThrow(InvalidScheduleExpressionError);
    expect(() => nextRuns('cron(0 9 * * ? *)', 'Asia/Soeul', new Date(), 1)).toThrow(/ScheduleExpressionTimezone Asia\/Soeul/);
  });
});

describe('formatInZone', () => {
  it('shows the local time with its offset and the zone name', () => {
    expect(formatInZone(new Date('2027-03-01T00:00:00Z'), 'Asia/Seoul')).toBe('2027-03-01T09:00+09:00 Asia/Seoul');
    expect(formatInZone(new Date('2027-03-07T03:00:00Z'), 'UTC')).toBe('2027-03-07T03:00+00:00 UTC');
    expect(formatInZone(new Date('2027-01-01T00:00:00Z'), 'America/St_Johns')).toBe('2026-12-31T20:30-03:30 America/St_Johns');
    expect(formatInZone(new Date('2027-01-01T00:00:30.900Z'), 'Etc/UTC')).toBe('2027-01-01T00:00:30+00:00 Etc/UTC');
  });

  it('follows daylight saving: either side of the Berlin changes of 2027', () => {
    expect(formatInZone(new Date('2027-03-28T00:59:00Z'), 'Europe/Berlin')).toBe('2027-03-28T01:59+01:00 Europe/Berlin');
    expect(formatInZone(new Date('2027-03-28T01:00:00Z'), 'Europe/Berlin')).toBe('2027-03-28T03:00+02:00 Europe/Berlin');
    // 02:30 twice on 31 October: the offset tells them apart.
    expect(formatInZone(new Date('2027-10-31T00:30:00Z'), 'Europe/Berlin')).toBe('2027-10-31T02:30+02:00 Europe/Berlin');
    expect(formatInZone(new Date('2027-10-31T01:30:00Z'), 'Europe/Berlin')).toBe('2027-10-31T02:30+01:00 Europe/Berlin');
  });

  it('writes an offset with seconds when the zone had one (Seoul local mean time, 1900)', () => {
    expect(formatInZone(new Date('1900-01-01T00:00:00Z'), 'Asia/Seoul')).toBe('1900-01-01T08:27:52+08:27:52 Asia/Seoul');
  });

  it('refuses an unknown zone or an invalid date', () => {
    expect(() => formatInZone(new Date(), 'Asia/Soeul')).toThrow(/Unknown time zone Asia\/Soeul/);
    expect(() => formatInZone(new Date('nope'), 'UTC')).toThrow(RangeError);
  });
});

describe('cronFields', () => {
  it('gives the values each field selects, as the evaluator runs them', () => {
    expect(cronFields('cron(0/20 9,17 ? * MON-FRI *)')).toEqual({
      minutes: [0, 20, 40],
      hours: [9, 17],
      day: { kind: 'weekdays', weekdays: [2, 3, 4, 5, 6] },
      months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      years: [],
    });
    expect(cronFields('cron(0 22-1 L 1/4 ? 2027-2028)')).toMatchObject({ hours: [0, 1, 22, 23], day: { kind: 'lastDay' }, months: [1, 5, 9], years: [2027, 2028] });
    expect(cronFields('cron(0 2 ? * 3#2 *)').day).toEqual({ kind: 'nthWeekday', weekday: 3, nth: 2 });
  });

  it('refuses what is not a valid cron expression', () => {
    expect(() => cronFields('rate(5 minutes)')).toThrow(InvalidScheduleExpressionError);
    expect(() => cronFields('cron(0 9 * * * *)')).toThrow(/one of day-of-month and day-of-week/);
  });
});

describe('invalid expressions', () => {
  it.each([
    ['cron(0 9 * * ?)', '6 fields'],
    ['cron(0 9 * * ? * *)', '6 fields'],
    ['cron()', '6 fields'],
    ['cron(0 9 * * * *)', "one of day-of-month and day-of-week must be '?'"],
    ['cron(0 9 1 * MON *)', "one of day-of-month and day-of-week must be '?'"],
    ['cron(0 9 ? * ? *)', "cannot both be '?'"],
    ['cron(60 9 * * ? *)', "minutes field '60'"],
    ['cron(? 9 * * ? *)', "minutes field '?'"],
    ['cron(0 24 * * ? *)', "hours field '24'"],
    ['cron(0 9 0 * ? *)', "day-of-month field '0'"],
    ['cron(0 9 32 * ? *)', "day-of-month field '32'"],
    ['cron(0 9 * 13 ? *)', "month field '13'"],
    ['cron(0 9 * FOO ? *)', "month field 'FOO'"],
    ['cron(0 9 ? * 0 *)', "day-of-week field '0'"],
    ['cron(0 9 ? * 8 *)', "day-of-week field '8'"],
    ['cron(0 9 ? * MON/2 *)', "day-of-week field 'MON/2'"],
    ['cron(0 9 ? * 3#2,6#3 *)', "day-of-week field '3#2,6#3'"],
    ['cron(0 9 ? * 3#6 *)', "day-of-week field '3#6'"],
    ['cron(0 9 ? * 2,6L *)', "day-of-week field '2,6L'"],
    ['cron(0 9 1,L * ? *)', "day-of-month field '1,L'"],
    ['cron(0 9 1-15W * ? *)', "day-of-month field '1-15W'"],
    ['cron(0 9 * * ? 1969)', "year field '1969'"],
    ['cron(0 9 * * ? 2200)', "year field '2200'"],
    ['cron(0 9 * * ? 2030-2027)', "year field '2030-2027'"],
    ['cron(0/0 9 * * ? *)', "minutes field '0/0'"],
    ['cron(1-2-3 9 * * ? *)', "minutes field '1-2-3'"],
    ['cron(0,,5 9 * * ? *)', "minutes field '0,,5'"],
    ['cron(0 9 * JAN-DECEMBER ? *)', "month field 'JAN-DECEMBER'"],
    ['every day at 9', 'at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)'],
    ['Cron(0 9 * * ? *)', 'cron(fields)'],
    ['', 'cron(fields)'],
  ])('rejects %s, naming the problem', (expression, problem) => {
    const error = rejection(expression);
    expect(error).toBeInstanceOf(InvalidScheduleExpressionError);
    expect(error.code).toBe('ValidationException');
    expect(error.message).toContain(problem);
  });

  it('says what the allowed range is', () => {
    expect(rejection('cron(60 9 * * ? *)').message).toMatch(/minutes field '60'.*out of range 0-59/);
    expect(rejection('cron(0 9 ? * 9 *)').message).toMatch(/day-of-week field '9'.*out of range 1-7/);
  });
});

describe('performance', () => {
  it('computes 366 consecutive daily fire times, each 24 hours after the last, for a UTC schedule', () => {
    const daily = parseScheduleExpression('cron(30 6 * * ? *)');
    const times = fires(daily, '2027-12-31T12:00:00Z', 366).map((iso) => Date.parse(iso));
    expect(times).toHaveLength(366);
    expect(new Date(times[0]).toISOString()).toBe('2028-01-01T06:30:00.000Z');
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(DAY);
    expect(new Date(times.at(-1) as number).toISOString()).toBe('2028-12-31T06:30:00.000Z'); // 2028 is a leap year
  });

  it.each(['UTC', 'Europe/Berlin'])('steps by field: 1,000 daily fire times in %s, one a day', (timezone) => {
    const daily = parseScheduleExpression('cron(0 8 * * ? *)', timezone);
    let at = new Date('2026-01-01T00:00:00Z');
    for (let i = 0; i < 1000; i++) at = daily.nextAfter(at) ?? at;
    expect(at.getUTCFullYear()).toBe(2028); // 1,000 days on
  });

  it('finds a sparse schedule (once a year), a hundred years of it', () => {
    const yearly = parseScheduleExpression('cron(0 0 1 JAN ? *)', 'America/New_York');
    const times = fires(yearly, '2026-06-01T00:00:00Z', 100);
    expect(times).toHaveLength(100);
    expect(times.at(-1)).toBe('2126-01-01T05:00:00.000Z');
  });
});
