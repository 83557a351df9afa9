import { describe, expect, it } from 'vitest';
import { crossedBoundary, isInPeriod, isTimeZone, localDate, periodEdges, periodSchema, ValidationError, type Period } from '@opsauto/core';

const at = (iso: string) => new Date(iso);
const period = (over: Partial<Period> = {}): Period => ({ days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul', ...over });

describe('isInPeriod: Asia/Seoul (UTC+9, no daylight saving)', () => {
  const office = period();

  it('starts at 09:00 KST sharp and stops at 17:00 KST sharp (start inside, stop outside)', () => {
    // Monday 2026-03-02: 09:00 KST = 00:00Z, 17:00 KST = 08:00Z.
    expect(isInPeriod(office, at('2026-03-01T23:59:59.999Z'))).toBe(false);
    expect(isInPeriod(office, at('2026-03-02T00:00:00Z'))).toBe(true);
    expect(isInPeriod(office, at('2026-03-02T07:59:59.999Z'))).toBe(true);
    expect(isInPeriod(office, at('2026-03-02T08:00:00Z'))).toBe(false);
  });

  it('uses the Seoul day, not the UTC day: Monday 08:30 KST is still Sunday in UTC, Saturday 10:00 KST is outside', () => {
    expect(isInPeriod(office, at('2026-03-01T23:30:00Z'))).toBe(false); // Mon 08:30 KST
    expect(isInPeriod(office, at('2026-03-06T07:00:00Z'))).toBe(true); // Fri 16:00 KST
    expect(isInPeriod(office, at('2026-03-07T01:00:00Z'))).toBe(false); // Sat 10:00 KST
  });

  it('is the same UTC hour all year round (no DST): 09:00 KST is 00:00Z in January and in July', () => {
    expect(isInPeriod(office, at('2027-01-04T00:00:00Z'))).toBe(true);
    expect(isInPeriod(office, at('2027-07-05T00:00:00Z'))).toBe(true);
    expect(isInPeriod(office, at('2027-07-04T23:59:00Z'))).toBe(false);
  });
});

describe('isInPeriod: days', () => {
  it('accepts lists, ranges that wrap the week end, * and any case', () => {
    const sat = at('2026-03-07T03:00:00Z'); // Sat 12:00 KST
    const tue = at('2026-03-03T03:00:00Z'); // Tue 12:00 KST
    expect(isInPeriod(period({ days: 'FRI-MON' }), sat)).toBe(true);
    expect(isInPeriod(period({ days: 'FRI-MON' }), tue)).toBe(false);
    expect(isInPeriod(period({ days: 'mon,wed,fri' }), tue)).toBe(false);
    expect(isInPeriod(period({ days: 'MON, TUE' }), tue)).toBe(true);
    expect(isInPeriod(period({ days: 'SAT-SUN' }), sat)).toBe(true);
    expect(isInPeriod(period({ days: '*' }), sat)).toBe(true);
  });
});

describe('isInPeriod: overnight periods', () => {
  const fridayNight = period({ days: 'FRI', start: '22:00', stop: '07:00' });

  it('a FRI 22:00-07:00 period runs from Friday 22:00 to Saturday 07:00 across midnight, and not on Saturday night', () => {
    expect(isInPeriod(fridayNight, at('2026-03-06T12:59:00Z'))).toBe(false); // Fri 21:59 KST
    expect(isInPeriod(fridayNight, at('2026-03-06T13:00:00Z'))).toBe(true); // Fri 22:00
    expect(isInPeriod(fridayNight, at('2026-03-06T15:00:00Z'))).toBe(true); // Sat 00:00
    expect(isInPeriod(fridayNight, at('2026-03-06T21:59:00Z'))).toBe(true); // Sat 06:59
    expect(isInPeriod(fridayNight, at('2026-03-06T22:00:00Z'))).toBe(false); // Sat 07:00
    expect(isInPeriod(fridayNight, at('2026-03-07T13:30:00Z'))).toBe(false); // Sat 22:30: SAT is not a start day
    expect(isInPeriod(fridayNight, at('2026-03-07T16:00:00Z'))).toBe(false); // Sun 01:00
  });

  it('wraps the week: a SAT night covers Sunday 06:59, a SUN night covers Monday 03:00 but not Sunday 03:00', () => {
    expect(isInPeriod(period({ days: 'SAT', start: '22:00', stop: '07:00' }), at('2026-03-07T21:59:00Z'))).toBe(true); // Sun 06:59
    const sundayNight = period({ days: 'SUN', start: '22:00', stop: '07:00' });
    expect(isInPeriod(sundayNight, at('2026-03-08T18:00:00Z'))).toBe(true); // Mon 03:00
    expect(isInPeriod(sundayNight, at('2026-03-07T18:00:00Z'))).toBe(false); // Sun 03:00 (Saturday night)
  });

  it('a stop at 00:00 ends the period at midnight', () => {
    const late = period({ days: 'MON', start: '18:00', stop: '00:00' });
    expect(isInPeriod(late, at('2026-03-02T14:59:00Z'))).toBe(true); // Mon 23:59
    expect(isInPeriod(late, at('2026-03-02T15:00:00Z'))).toBe(false); // Tue 00:00
  });
});

describe('isInPeriod and crossedBoundary across daylight-saving changes', () => {
  it('Europe/Berlin office hours keep 09:00 local on both sides of 2027-03-28 (08:00Z before, 07:00Z after)', () => {
    const office = period({ timezone: 'Europe/Berlin' });
    expect(isInPeriod(office, at('2027-03-26T07:30:00Z'))).toBe(false); // Fri 08:30 CET
    expect(isInPeriod(office, at('2027-03-26T08:00:00Z'))).toBe(true); // Fri 09:00 CET
    expect(isInPeriod(office, at('2027-03-29T07:00:00Z'))).toBe(true); // Mon 09:00 CEST
    expect(isInPeriod(office, at('2027-03-29T06:59:00Z'))).toBe(false);
    expect(isInPeriod(office, at('2027-03-29T15:00:00Z'))).toBe(false); // Mon 17:00 CEST
  });

  it('Europe/Berlin 2027-03-28: a start at 02:30, inside the spring-forward gap, happens at 03:00 CEST (01:00Z)', () => {
    const p = period({ days: 'SUN', start: '02:30', stop: '05:00', timezone: 'Europe/Berlin' });
    expect(isInPeriod(p, at('2027-03-28T00:59:59Z'))).toBe(false); // 01:59:59 CET
    expect(isInPeriod(p, at('2027-03-28T01:00:00Z'))).toBe(true); // 03:00 CEST
    expect(isInPeriod(p, at('2027-03-28T02:59:00Z'))).toBe(true); // 04:59 CEST
    expect(isInPeriod(p, at('2027-03-28T03:00:00Z'))).toBe(false); // 05:00 CEST
    expect(crossedBoundary(p, at('2027-03-28T00:57:00Z'), at('2027-03-28T01:02:00Z'))).toBe(true);
    expect(crossedBoundary(p, at('2027-03-28T01:00:00Z'), at('2027-03-28T01:05:00Z'))).toBe(false);
  });

  it('Europe/Berlin 2027-03-28: a stop at 02:30, inside the gap, happens at 03:00 CEST too', () => {
    const p = period({ days: 'SUN', start: '01:00', stop: '02:30', timezone: 'Europe/Berlin' });
    expect(isInPeriod(p, at('2027-03-28T00:59:00Z'))).toBe(true); // 01:59 CET
    expect(isInPeriod(p, at('2027-03-28T01:00:00Z'))).toBe(false); // 03:00 CEST
  });

  it('Europe/Berlin 2027-10-31: a stop at 02:30 happens at the first 02:30 (CEST, 00:30Z), not again in the repeated hour', () => {
    const p = period({ days: 'SUN', start: '01:00', stop: '02:30', timezone: 'Europe/Berlin' });
    expect(isInPeriod(p, at('2027-10-30T23:00:00Z'))).toBe(true); // 01:00 CEST
    expect(isInPeriod(p, at('2027-10-31T00:29:00Z'))).toBe(true); // 02:29 CEST
    expect(isInPeriod(p, at('2027-10-31T00:30:00Z'))).toBe(false); // 02:30 CEST
    expect(isInPeriod(p, at('2027-10-31T01:15:00Z'))).toBe(false); // 02:15 CET, the wall clock's second pass
    expect(crossedBoundary(p, at('2027-10-31T00:27:00Z'), at('2027-10-31T00:32:00Z'))).toBe(true);
    expect(crossedBoundary(p, at('2027-10-31T01:00:00Z'), at('2027-10-31T01:45:00Z'))).toBe(false); // second 02:30 CET
  });

  it('Europe/Berlin 2027-10-31: office hours Monday after the change start at 09:00 CET (08:00Z)', () => {
    const office = period({ timezone: 'Europe/Berlin' });
    expect(isInPeriod(office, at('2027-10-29T07:00:00Z'))).toBe(true); // Fri 09:00 CEST
    expect(isInPeriod(office, at('2027-11-01T07:00:00Z'))).toBe(false); // Mon 08:00 CET
    expect(isInPeriod(office, at('2027-11-01T08:00:00Z'))).toBe(true);
    expect(crossedBoundary(office, at('2027-11-01T07:58:00Z'), at('2027-11-01T08:03:00Z'))).toBe(true);
    expect(crossedBoundary(office, at('2027-11-01T06:58:00Z'), at('2027-11-01T07:03:00Z'))).toBe(false);
  });

  it('America/New_York 2026-03-08: a start at 02:15 (in the gap) happens at 03:00 EDT (07:00Z); weekday hours shift an hour in UTC', () => {
    const p = period({ days: 'SUN', start: '02:15', stop: '04:00', timezone: 'America/New_York' });
    expect(isInPeriod(p, at('2026-03-08T06:59:00Z'))).toBe(false); // 01:59 EST
    expect(isInPeriod(p, at('2026-03-08T07:00:00Z'))).toBe(true); // 03:00 EDT
    expect(isInPeriod(p, at('2026-03-08T08:00:00Z'))).toBe(false); // 04:00 EDT
    expect(crossedBoundary(p, at('2026-03-08T06:56:00Z'), at('2026-03-08T07:01:00Z'))).toBe(true);
    const office = period({ timezone: 'America/New_York' });
    expect(isInPeriod(office, at('2026-03-06T13:30:00Z'))).toBe(false); // Fri 08:30 EST
    expect(isInPeriod(office, at('2026-03-09T13:30:00Z'))).toBe(true); // Mon 09:30 EDT
  });

  it('America/New_York 2026-11-01: an overnight SAT 22:00-01:30 stops at the first 01:30 (EDT, 05:30Z) only', () => {
    const p = period({ days: 'SAT', start: '22:00', stop: '01:30', timezone: 'America/New_York' });
    expect(isInPeriod(p, at('2026-11-01T02:00:00Z'))).toBe(true); // Sat 22:00 EDT
    expect(isInPeriod(p, at('2026-11-01T05:29:00Z'))).toBe(true); // Sun 01:29 EDT
    expect(isInPeriod(p, at('2026-11-01T05:30:00Z'))).toBe(false); // Sun 01:30 EDT
    expect(isInPeriod(p, at('2026-11-01T06:10:00Z'))).toBe(false); // Sun 01:10 EST (repeated hour)
    expect(crossedBoundary(p, at('2026-11-01T06:00:00Z'), at('2026-11-01T06:40:00Z'))).toBe(false);
    expect(crossedBoundary(p, at('2026-11-01T05:25:00Z'), at('2026-11-01T05:30:00Z'))).toBe(true);
  });

  it('America/New_York 2026-11-01: a start at 01:15 in the repeated hour happens at its first occurrence (05:15Z)', () => {
    const p = period({ days: 'SUN', start: '01:15', stop: '03:00', timezone: 'America/New_York' });
    expect(isInPeriod(p, at('2026-11-01T05:14:00Z'))).toBe(false);
    expect(isInPeriod(p, at('2026-11-01T05:15:00Z'))).toBe(true); // 01:15 EDT
    expect(isInPeriod(p, at('2026-11-01T06:05:00Z'))).toBe(true); // 01:05 EST: still inside, not restarted
    expect(crossedBoundary(p, at('2026-11-01T06:10:00Z'), at('2026-11-01T06:20:00Z'))).toBe(false); // 01:15 EST again: no boundary
  });
});

describe('crossedBoundary', () => {
  const office = period();

  it('counts a boundary at `to` but not at `from`: (from, to]', () => {
    const stop = at('2026-03-02T08:00:00Z'); // Mon 17:00 KST
    expect(crossedBoundary(office, at('2026-03-02T07:55:00Z'), stop)).toBe(true);
    expect(crossedBoundary(office, stop, at('2026-03-02T08:05:00Z'))).toBe(false);
  });

  it('is false between boundaries, on days not in the period, and when `to` is not after `from`', () => {
    expect(crossedBoundary(office, at('2026-03-02T01:00:00Z'), at('2026-03-02T07:00:00Z'))).toBe(false);
    expect(crossedBoundary(office, at('2026-03-07T00:00:00Z'), at('2026-03-07T23:00:00Z'))).toBe(false); // Saturday
    expect(crossedBoundary(office, at('2026-03-02T08:05:00Z'), at('2026-03-02T07:55:00Z'))).toBe(false);
  });

  it('sees the stop of an overnight period on the next day, across the week end', () => {
    const fridayNight = period({ days: 'FRI', start: '22:00', stop: '07:00' });
    expect(crossedBoundary(fridayNight, at('2026-03-06T21:58:00Z'), at('2026-03-06T22:03:00Z'))).toBe(true); // Sat 07:00 KST
    expect(crossedBoundary(fridayNight, at('2026-03-07T21:58:00Z'), at('2026-03-07T22:03:00Z'))).toBe(false); // Sun 07:00
  });

  it('is true over a long gap between checks (days without a check) that spans a boundary', () => {
    expect(crossedBoundary(office, at('2026-03-06T09:00:00Z'), at('2026-03-09T01:00:00Z'))).toBe(true); // Fri evening to Mon 10:00
    expect(crossedBoundary(office, at('2026-01-01T00:00:00Z'), at('2026-03-01T00:00:00Z'))).toBe(true);
  });
});

describe('periodEdges', () => {
  it('gives EventBridge Scheduler 6-field crons for starts and stops, in the period time zone', () => {
    expect(periodEdges(period())).toEqual({ start: 'cron(0 9 ? * MON-FRI *)', stop: 'cron(0 17 ? * MON-FRI *)', timezone: 'Asia/Seoul' });
    expect(periodEdges(period({ start: '07:30', stop: '18:45' }))).toMatchObject({ start: 'cron(30 7 ? * MON-FRI *)', stop: 'cron(45 18 ? * MON-FRI *)' });
  });

  it('puts an overnight stop on the following days, wrapping SAT to SUN', () => {
    expect(periodEdges(period({ days: 'FRI', start: '22:00', stop: '07:00' }))).toMatchObject({ start: 'cron(0 22 ? * FRI *)', stop: 'cron(0 7 ? * SAT *)' });
    expect(periodEdges(period({ days: 'MON-FRI', start: '22:00', stop: '07:00' })).stop).toBe('cron(0 7 ? * TUE-SAT *)');
    expect(periodEdges(period({ days: 'SAT', start: '20:00', stop: '00:00' })).stop).toBe('cron(0 0 ? * SUN *)');
    expect(periodEdges(period({ days: '*', start: '22:00', stop: '07:00' }))).toMatchObject({ start: 'cron(0 22 ? * * *)', stop: 'cron(0 7 ? * * *)' });
  });

  it('writes wrapped ranges and lists in SUN..SAT order', () => {
    expect(periodEdges(period({ days: 'FRI-MON' })).start).toBe('cron(0 9 ? * SUN-MON,FRI-SAT *)');
    expect(periodEdges(period({ days: 'wed,mon,fri' })).start).toBe('cron(0 9 ? * MON,WED,FRI *)');
  });
});

describe('periodSchema and validation', () => {
  const problems = (p: unknown) => periodSchema.safeParse(p).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('accepts the shipped office hours', () => {
    expect(problems(period())).toEqual([]);
  });

  it('names every problem at once: a bad day, a bad time, an unknown time zone', () => {
    const found = problems({ days: 'MON-FUN', start: '24:00', stop: '9:00', timezone: 'Mars/Olympus' });
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^days: .*"MON-FUN" is not a day name/);
    expect(found[1]).toMatch(/^start: must be a 24-hour time HH:MM/);
    expect(found[2]).toMatch(/^stop: must be a 24-hour time/);
    expect(found[3]).toBe('timezone: "Mars/Olympus" is not an IANA time zone such as Asia/Seoul or Europe/Berlin');
  });

  it('refuses a period that starts and stops at the same time, and empty days', () => {
    expect(problems(period({ start: '09:00', stop: '09:00' }))).toEqual(['stop: must differ from start (a period cannot start and stop at the same time)']);
    expect(problems(period({ days: '' }))[0]).toMatch(/^days: .*at least one day/);
    expect(problems(period({ days: 'MON-TUE-WED' }))[0]).toMatch(/^days: /);
  });

  it('the functions throw a ValidationError naming the field', () => {
    const bad = period({ timezone: 'Asia/Seol' });
    expect(() => isInPeriod(bad, new Date())).toThrow(ValidationError);
    expect(() => crossedBoundary(bad, new Date(0), new Date())).toThrow(/timezone: "Asia\/Seol" is not an IANA time zone/);
    try {
      periodEdges(period({ days: 'MONDAY' }));
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).field).toBe('days');
    }
  });
});

describe('isTimeZone and localDate', () => {
  it('knows IANA names and aliases, not offsets, invented names or wrong case', () => {
    for (const tz of ['Asia/Seoul', 'Europe/Berlin', 'America/New_York', 'UTC', 'US/Eastern']) expect(isTimeZone(tz), tz).toBe(true);
    for (const tz of ['+09:00', 'Mars/Olympus', 'asia/seoul', '', 'KST']) expect(isTimeZone(tz), tz).toBe(false);
  });

  it('gives the local calendar date in the time zone', () => {
    expect(localDate(at('2026-03-01T15:30:00Z'), 'Asia/Seoul')).toBe('2026-03-02');
    expect(localDate(at('2026-03-01T15:30:00Z'), 'America/New_York')).toBe('2026-03-01');
    expect(() => localDate(at('2026-03-01T15:30:00Z'), 'Nowhere/City')).toThrow(ValidationError);
  });
});
