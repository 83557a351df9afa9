/** Builds the Parameters view's calendar: weeks of UTC days with the deadlines that fall on each (pure). */

export interface CalendarDeadline {
  name: string;
  kind: string;
  at: string;
}

export interface CalendarDay<D extends CalendarDeadline = CalendarDeadline> {
  /** `YYYY-MM-DD` (UTC). */
  date: string;
  /** Inside [from, from + days): days before or after the range only pad the first and last week. */
  inRange: boolean;
  deadlines: D[];
}

const DAY_MS = 86_400_000;

/**
 * `days` UTC days from `from`'s day, laid out as whole weeks starting on Monday (padding days have inRange false),
 * each day with the deadlines that fall on it, earliest first. Deadlines outside the range or with a bad time are
 * left out.
 *
 * @example
 * const weeks = buildCalendar('2026-12-03T15:00:00Z', 30, [{ name: '/db/pw', kind: 'expiry', at: '2026-12-10T00:00:00Z' }]);
 * weeks[0][0].date // '2026-11-30' (the Monday of that week)
 * weeks.flat().find((d) => d.deadlines.length)?.date // '2026-12-10'
 */
export function buildCalendar<D extends CalendarDeadline>(from: string, days: number, deadlines: readonly D[]): CalendarDay<D>[][] {
  const startMs = Date.parse(from);
  if (Number.isNaN(startMs)) throw new RangeError(`from must be an ISO-8601 time, not ${JSON.stringify(from)}`);
  if (!Number.isSafeInteger(days) || days < 1) throw new RangeError(`days must be a whole number ≥ 1, not ${days}`);
  const first = Math.floor(startMs / DAY_MS) * DAY_MS;
  const end = first + days * DAY_MS;
  const mondayOffset = (new Date(first).getUTCDay() + 6) % 7;
  const gridStart = first - mondayOffset * DAY_MS;
  const gridDays = Math.ceil((end - gridStart) / DAY_MS / 7) * 7;
  const byDay = new Map<string, D[]>();
  for (const d of [...deadlines].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    const ms = Date.parse(d.at);
    if (Number.isNaN(ms) || ms < first || ms >= end) continue;
    const key = dayKey(ms);
    byDay.set(key, [...(byDay.get(key) ?? []), d]);
  }
  const weeks: CalendarDay<D>[][] = [];
  for (let i = 0; i < gridDays; i++) {
    const ms = gridStart + i * DAY_MS;
    if (i % 7 === 0) weeks.push([]);
    weeks[weeks.length - 1].push({ date: dayKey(ms), inRange: ms >= first && ms < end, deadlines: byDay.get(dayKey(ms)) ?? [] });
  }
  return weeks;
}

function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * How many UTC days a calendar needs to show [from, to): from's day up to and including the day `to` falls in (unless
 * `to` is that day's midnight). At least 1.
 *
 * @example
 * calendarDays('2026-12-03T09:00:00Z', '2027-01-02T09:00:00Z') // 31 (2026-12-03 … 2027-01-02)
 * calendarDays('2026-12-03T00:00:00Z', '2027-01-02T00:00:00Z') // 30
 */
export function calendarDays(from: string, to: string): number {
  const start = Math.floor(Date.parse(from) / DAY_MS) * DAY_MS;
  const days = Math.ceil((Date.parse(to) - start) / DAY_MS);
  return Number.isFinite(days) ? Math.max(1, days) : 1;
}
