import { describe, expect, it } from 'vitest';
import { describeSchedule } from '@opsauto/core/schedule-description.js';
import { InvalidScheduleExpressionError, nextRuns } from '@opsauto/core/schedule-expression.js';

describe('describeSchedule', () => {
  it.each([
    // The shipped automations (issue 10).
    ['cron(0 9 ? * MON-FRI *)', 'Asia/Seoul', 'at 09:00, Monday to Friday (Asia/Seoul)'],
    ['cron(0 17 ? * MON-FRI *)', 'Asia/Seoul', 'at 17:00, Monday to Friday (Asia/Seoul)'],
    ['cron(0 22,7 ? * * *)', 'Asia/Seoul', 'at 07:00 and 22:00, every day (Asia/Seoul)'],
    ['cron(0 3 ? * SUN *)', 'UTC', 'at 03:00 on Sunday (UTC)'],
    ['cron(0 2 ? * 3#2 *)', 'Asia/Seoul', 'at 02:00 on the second Tuesday of the month (Asia/Seoul)'],
    ['cron(0 2 ? * TUE *)', 'Asia/Seoul', 'at 02:00 on Tuesday (Asia/Seoul)'],
    // Clock times.
    ['cron(0 10 * * ? *)', 'UTC', 'at 10:00, every day (UTC)'],
    ['cron(15 12 * * ? *)', 'Europe/Berlin', 'at 12:15, every day (Europe/Berlin)'],
    ['cron(0 9,17 ? * MON-FRI *)', 'Asia/Seoul', 'at 09:00 and 17:00, Monday to Friday (Asia/Seoul)'],
    ['cron(0,30 9 ? * MON *)', 'UTC', 'at 09:00 and 09:30 on Monday (UTC)'],
    ['cron(0 */4 * * ? *)', 'UTC', 'at 00:00, 04:00, 08:00, 12:00, 16:00 and 20:00, every day (UTC)'],
    ['cron(0 0/5 * * ? *)', 'UTC', 'at 00:00, 05:00, 10:00, 15:00 and 20:00, every day (UTC)'],
    // A wrapping hour range is listed, not called "from 22:00 to 01:00" (its 00:00 and 01:00 belong to the same date).
    ['cron(0 22-1 ? * MON *)', 'UTC', 'at 00:00, 01:00, 22:00 and 23:00 on Monday (UTC)'],
    // Frequencies.
    ['cron(* * * * ? *)', 'UTC', 'every minute (UTC)'],
    ['cron(0/5 * * * ? *)', 'UTC', 'every 5 minutes (UTC)'],
    ['cron(*/15 * * * ? *)', 'UTC', 'every 15 minutes (UTC)'],
    ['cron(0,15,30,45 * * * ? *)', 'UTC', 'every 15 minutes (UTC)'],
    ['cron(0 * * * ? *)', 'UTC', 'every hour (UTC)'],
    ['cron(30 * * * ? *)', 'UTC', 'every hour at minute 30 (UTC)'],
    ['cron(0 */2 * * ? *)', 'UTC', 'every 2 hours (UTC)'],
    ['cron(0/5 8-17 ? * MON-FRI *)', 'UTC', 'every 5 minutes from 08:00 to 17:55, Monday to Friday (UTC)'],
    ['cron(0 9-17 ? * MON-FRI *)', 'Asia/Seoul', 'every hour from 09:00 to 17:00, Monday to Friday (Asia/Seoul)'],
    ['cron(* 9 * * ? *)', 'UTC', 'every minute from 09:00 to 09:59 (UTC)'],
    // Days of the week.
    ['cron(0 12 ? * FRI-MON *)', 'UTC', 'at 12:00, Friday to Monday (UTC)'],
    ['cron(0 12 ? * SAT,SUN *)', 'UTC', 'at 12:00 on Saturday and Sunday (UTC)'],
    ['cron(0 9 ? * 2,4,6 *)', 'UTC', 'at 09:00 on Monday, Wednesday and Friday (UTC)'],
    ['cron(0 9 ? * * *)', 'UTC', 'at 09:00, every day (UTC)'],
    // L alone in day-of-week is 7, Saturday.
    ['cron(0 9 ? * L *)', 'UTC', 'at 09:00 on Saturday (UTC)'],
    ['cron(15 10 ? * 6L *)', 'UTC', 'at 10:15 on the last Friday of the month (UTC)'],
    ['cron(0 9 ? * MON#1 *)', 'UTC', 'at 09:00 on the first Monday of the month (UTC)'],
    ['cron(0 9 ? * 6#5 *)', 'UTC', 'at 09:00 on the fifth Friday of the month (UTC)'],
    // Days of the month, L and W.
    ['cron(0 0 L * ? *)', 'UTC', 'at 00:00 on the last day of the month (UTC)'],
    ['cron(0 9 LW * ? *)', 'UTC', 'at 09:00 on the last weekday (Monday to Friday) of the month (UTC)'],
    ['cron(0 9 15W * ? *)', 'UTC', 'at 09:00 on the weekday (Monday to Friday) nearest the 15th of the month (UTC)'],
    ['cron(0 9 1W * ? *)', 'UTC', 'at 09:00 on the weekday (Monday to Friday) nearest the 1st of the month (UTC)'],
    ['cron(0 8 1 * ? *)', 'UTC', 'at 08:00 on the 1st of the month (UTC)'],
    ['cron(0 9 1,15 * ? *)', 'UTC', 'at 09:00 on the 1st and 15th of the month (UTC)'],
    ['cron(0 9 2,3,22,23 * ? *)', 'UTC', 'at 09:00 on the 2nd, 3rd, 22nd and 23rd of the month (UTC)'],
    ['cron(0 9 11,12,13 * ? *)', 'UTC', 'at 09:00 from the 11th to the 13th of the month (UTC)'],
    ['cron(0 9 1-7 * ? *)', 'UTC', 'at 09:00 from the 1st to the 7th of the month (UTC)'],
    // Months and years.
    ['cron(0 0 L 2 ? *)', 'UTC', 'at 00:00 on the last day of February (UTC)'],
    ['cron(0 2 ? NOV 3#2 *)', 'UTC', 'at 02:00 on the second Tuesday of November (UTC)'],
    ['cron(0 8 1 1/3 ? *)', 'UTC', 'at 08:00 on the 1st of the month in January, April, July and October (UTC)'],
    ['cron(0 9 * 4-9 ? *)', 'UTC', 'at 09:00, every day from April to September (UTC)'],
    ['cron(0 9 ? JAN,MAR MON-FRI *)', 'UTC', 'at 09:00, Monday to Friday in January and March (UTC)'],
    ['cron(0/30 * * DEC ? *)', 'UTC', 'every 30 minutes in December (UTC)'],
    ['cron(0 0 1 1 ? 2027,2029)', 'UTC', 'at 00:00 on the 1st of January, only in 2027 and 2029 (UTC)'],
    ['cron(0 0 1 1 ? 2027-2030)', 'UTC', 'at 00:00 on the 1st of January, only from 2027 to 2030 (UTC)'],
    // at() and rate(): rate is elapsed time and names no zone.
    ['at(2027-03-01T09:30:00)', 'Asia/Seoul', 'once, at 09:30 on 2027-03-01 (Asia/Seoul)'],
    ['at(2027-03-01T09:30:15)', 'UTC', 'once, at 09:30:15 on 2027-03-01 (UTC)'],
    ['rate(5 minutes)', 'UTC', 'every 5 minutes'],
    ['rate(1 minute)', 'Asia/Seoul', 'every minute'],
    ['rate(1 hour)', 'UTC', 'every hour'],
    ['rate(12 hours)', 'UTC', 'every 12 hours'],
    ['rate(1 day)', 'UTC', 'every day'],
    ['rate(7 days)', 'UTC', 'every 7 days'],
  ])('%s in %s reads "%s"', (expression, timezone, words) => {
    expect(describeSchedule(expression, timezone)).toBe(words);
  });

  it('evaluates in UTC when no time zone is given, and says so', () => {
    expect(describeSchedule('cron(0 3 ? * SUN *)')).toBe('at 03:00 on Sunday (UTC)');
  });

  it('names the zone as it was written (a link stays a link)', () => {
    expect(describeSchedule('cron(0 9 * * ? *)', 'Asia/Calcutta')).toBe('at 09:00, every day (Asia/Calcutta)');
    expect(describeSchedule('cron(0 9 * * ? *)', 'Etc/UTC')).toBe('at 09:00, every day (Etc/UTC)');
  });

  it.each([
    // 0/7 is 0, 7, ..., 56 and then 0 again, four minutes later: not "every 7 minutes".
    'cron(0/7 * * * ? *)',
    // 5/15 is :05, :20, :35, :50; no short phrase.
    'cron(5/15 * * * ? *)',
    // Every other day of the month restarts on the 1st: 31 then 1.
    'cron(0 9 1/2 * ? *)',
    // Some months have no 31st, and 31W skips them: no short phrase says so.
    'cron(0 9 31W * ? *)',
    // Too many times to list, no run, no even step.
    'cron(0 1,3,4,9,13,17,21 * * ? *)',
    'cron(0 9 ? JAN,MAR,MAY,JUL,SEP MON *)',
    'cron(0 0 1 1 ? 2027,2029,2031,2033)',
  ])('gives %s back as written, with its zone, rather than words it cannot make exact', (expression) => {
    expect(describeSchedule(expression, 'Europe/Berlin')).toBe(`${expression} (Europe/Berlin)`);
  });

  it('"every N minutes" and "every N hours" are said only when the gaps are all N', () => {
    for (const [expression, gap] of [
      ['cron(0/5 * * * ? *)', 5],
      ['cron(*/20 * * * ? *)', 20],
      ['cron(0 */2 * * ? *)', 120],
      ['cron(0 */3 * * ? *)', 180],
    ] as const) {
      expect(describeSchedule(expression)).toMatch(/^every \d+ (minutes|hours) \(UTC\)$/);
      const runs = nextRuns(expression, 'UTC', new Date('2027-03-01T00:00:00Z'), 100).map((d) => d.getTime());
      for (let i = 1; i < runs.length; i++) expect(runs[i] - runs[i - 1]).toBe(gap * 60_000);
    }
    // The counter-example: 0/7 has a gap of 4 minutes at every hour.
    const sevens = nextRuns('cron(0/7 * * * ? *)', 'UTC', new Date('2027-03-01T00:00:00Z'), 10).map((d) => d.getTime());
    expect(sevens[8] - sevens[7]).toBe(4 * 60_000); // 00:56 -> 01:00
  });

  it.each([
    ['cron(0 24 * * ? *)', undefined, "hours field '24'"],
    ['cron(0 9 * * * *)', undefined, "one of day-of-month and day-of-week must be '?'"],
    ['rate(1 minutes)', undefined, 'singular'],
    ['every day at 9', undefined, 'cron(fields)'],
    ['cron(0 9 * * ? *)', 'Asia/Soeul', 'Invalid ScheduleExpressionTimezone Asia/Soeul'],
    ['rate(5 minutes)', 'Mars/Base', 'Invalid ScheduleExpressionTimezone Mars/Base'],
  ])('refuses %s (zone %s) with the parser\'s error', (expression, timezone, problem) => {
    let error: unknown;
    try {
      describeSchedule(expression, timezone);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidScheduleExpressionError);
    expect((error as Error).message).toContain(problem);
  });
});
