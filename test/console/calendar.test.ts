import { describe, expect, it } from 'vitest';
import { buildCalendar, calendarDays } from '../../packages/console/src/calendar.js';

describe('buildCalendar', () => {
  it('lays 30 days out as whole weeks from Monday, padding days outside the range', () => {
    // 2026-12-03 is a Thursday.
    const weeks = buildCalendar('2026-12-03T15:00:00Z', 30, []);
    expect(weeks.every((w) => w.length === 7)).toBe(true);
    expect(weeks[0][0]).toEqual({ date: '2026-11-30', inRange: false, deadlines: [] });
    expect(weeks[0][3]).toEqual({ date: '2026-12-03', inRange: true, deadlines: [] });
    const days = weeks.flat();
    expect(days.filter((d) => d.inRange)).toHaveLength(30);
    expect(days.filter((d) => d.inRange).at(-1)?.date).toBe('2027-01-01');
    expect(days.at(-1)?.date).toBe('2027-01-03');
    expect(weeks).toHaveLength(5);
  });

  it('puts each deadline on its UTC day, earliest first, and leaves out those outside the range or with a bad time', () => {
    const deadlines = [
      { name: '/b', kind: 'expiry', at: '2026-12-10T18:00:00Z' },
      { name: '/a', kind: 'reminder', at: '2026-12-10T06:00:00Z' },
      { name: '/today-early', kind: 'expiry', at: '2026-12-03T01:00:00Z' },
      { name: '/past', kind: 'expiry', at: '2026-12-02T23:59:59Z' },
      { name: '/late', kind: 'no-change', at: '2027-01-02T00:00:00Z' },
      { name: '/bad', kind: 'expiry', at: 'next week' },
    ];
    const days = buildCalendar('2026-12-03T15:00:00Z', 30, deadlines).flat();
    const busy = days.filter((d) => d.deadlines.length).map((d) => [d.date, d.deadlines.map((x) => x.name)]);
    expect(busy).toEqual([
      ['2026-12-03', ['/today-early']],
      ['2026-12-10', ['/a', '/b']],
    ]);
  });

  it('starts on a Monday when the range does, and handles a single day', () => {
    const weeks = buildCalendar('2026-11-30T00:00:00Z', 7, []);
    expect(weeks).toHaveLength(1);
    expect(weeks[0].every((d) => d.inRange)).toBe(true);
    const one = buildCalendar('2026-12-06T23:00:00Z', 1, []).flat();
    expect(one.filter((d) => d.inRange).map((d) => d.date)).toEqual(['2026-12-06']);
  });

  it('refuses a bad start or length, naming it', () => {
    expect(() => buildCalendar('tomorrow', 30, [])).toThrow('from must be an ISO-8601 time');
    expect(() => buildCalendar('2026-12-03T00:00:00Z', 0, [])).toThrow('days must be a whole number ≥ 1, not 0');
  });
});

describe('calendarDays', () => {
  it('covers every UTC day from the start to the end, the end exclusive', () => {
    expect(calendarDays('2026-12-03T09:00:00Z', '2027-01-02T09:00:00Z')).toBe(31);
    expect(calendarDays('2026-12-03T00:00:00Z', '2027-01-02T00:00:00Z')).toBe(30);
    expect(calendarDays('2026-12-03T09:00:00Z', '2026-12-03T09:00:00Z')).toBe(1);
    expect(calendarDays('bad', '2026-12-03T09:00:00Z')).toBe(1);
  });
});
