import * as z from 'zod/mini';
import '../zod-locale.js';
import { ValidationError } from '../errors.js';
import { isTimeZone, utcOffsetMs } from '../schedule-expression.js';

/**
 * A recurring period on the wall clock of a time zone, e.g. office hours or a night window.
 *
 * - `days`: day names SUN..SAT (any case), comma-separated, with ranges that may wrap (`FRI-MON`), or `*` for every
 *   day: 'MON-FRI', 'MON,WED,FRI', 'SAT-SUN', '*'.
 * - `start` / `stop`: 'HH:MM', 24-hour. `start` > `stop` is an overnight period (22:00-07:00): `days` names the day
 *   it starts on, and it stops on the next day. `start` == `stop` is refused.
 * - `timezone`: an IANA time zone (Asia/Seoul, Europe/Berlin, UTC).
 *
 * Daylight-saving changes, on the wall clock: a start or stop time that falls in the spring-forward gap (02:30 in
 * Berlin on the last Sunday of March) happens at the first instant after the gap (03:00 CEST); one that falls in the
 * fall-back repeat happens at its first occurrence only (02:30 CEST, not again at 02:30 CET). EventBridge Scheduler
 * skips a cron time that falls in the gap and runs a repeated one once, so `periodEdges` schedules may miss a gap
 * boundary; the periodic check (isInPeriod / crossedBoundary) does not.
 *
 * @example
 * { days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' }
 * { days: 'FRI', start: '22:00', stop: '07:00', timezone: 'Europe/Berlin' } // Friday 22:00 to Saturday 07:00
 */
export interface Period {
  days: string;
  start: string;
  stop: string;
  timezone: string;
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;



/** Days as a set of weekday numbers (0 = SUN), or the problem with them. */
function parseDays(days: string): Set<number> | string {
  const text = days.trim().toUpperCase();
  if (text === '*') return new Set([0, 1, 2, 3, 4, 5, 6]);
  if (text === '') return 'must name at least one day (SUN..SAT, MON-FRI, MON,WED,FRI or *)';
  const set = new Set<number>();
  for (const part of text.split(',')) {
    const bounds = part.trim().split('-');
    const numbers = bounds.map((name) => DAY_NAMES.indexOf(name.trim() as (typeof DAY_NAMES)[number]));
    if (bounds.length > 2 || numbers.some((n) => n < 0)) {
      return `${JSON.stringify(part.trim())} is not a day name SUN..SAT or a range of them such as MON-FRI`;
    }
    const [from, to = from] = numbers as [number, number?];
    // A range may wrap the week end: FRI-MON is FRI, SAT, SUN, MON.
    for (let d = from; ; d = (d + 1) % 7) {
      set.add(d);
      if (d === to) break;
    }
  }
  return set;
}

const daysProblem = (input: unknown) => {
  const parsed = typeof input === 'string' ? parseDays(input) : 'must be a string';
  return typeof parsed === 'string' ? parsed : 'is not valid';
};

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const time = z.string().check(z.regex(TIME, 'must be a 24-hour time HH:MM such as 09:00 (00:00 to 23:59)'));
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A Period in the config; every message names the problem. */
export const periodSchema = z
  .object({
    days: z.string().check(z.refine((d) => typeof parseDays(d) !== 'string', { error: (iss) => daysProblem(iss.input) })),
    start: time,
    stop: time,
    timezone: z.string().check(z.refine(isTimeZone, { error: (iss) => `${JSON.stringify(iss.input)} is not an IANA time zone such as Asia/Seoul or Europe/Berlin` })),
  })
  .check(z.refine((p) => p.start !== p.stop, { message: 'must differ from start (a period cannot start and stop at the same time)', path: ['stop'] }));

interface CompiledPeriod {
  days: Set<number>;
  start: number;
  stop: number;
  overnight: boolean;
  timezone: string;
}

const compiled = new WeakMap<Period, CompiledPeriod>();

/** Validates once per Period object; throws ValidationError naming every problem (field: the first one's). */
function compile(period: Period): CompiledPeriod {
  const cached = compiled.get(period);
  if (cached) return cached;
  const result = periodSchema.safeParse(period);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(period)'}: ${i.message}`);
    throw new ValidationError(`invalid period: ${problems.join('; ')}`, result.error.issues[0]?.path.join('.'));
  }
  const start = minutesOf(period.start);
  const stop = minutesOf(period.stop);
  const c: CompiledPeriod = { days: parseDays(period.days) as Set<number>, start, stop, overnight: start > stop, timezone: period.timezone };
  compiled.set(period, c);
  return c;
}

/** The wall clock at `ms`, as if it were UTC (milliseconds), so that calendar arithmetic is plain Date.UTC math. */
function wallMs(timezone: string, ms: number): number {
  return ms + utcOffsetMs(timezone, ms);
}

/** Start of the local day (as wall ms) that contains the instant `ms`. */
const localDay = (timezone: string, ms: number) => Math.floor(wallMs(timezone, ms) / DAY_MS) * DAY_MS;

/**
 * The instant at which the wall clock reads `wall` (wall ms): its first occurrence in a fall-back repeat, and the
 * first instant after the gap when it falls in a spring-forward gap.
 */
function instantOf(timezone: string, wall: number): number {
  const offsets = new Set([-DAY_MS, 0, DAY_MS].map((d) => wallMs(timezone, wall + d) - (wall + d)));
  const exact = [...offsets].map((o) => wall - o).filter((t) => wallMs(timezone, t) === wall);
  if (exact.length > 0) return Math.min(...exact);
  // In a gap: the wall clock jumps over `wall` between these two instants; find the jump to the minute.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (wallMs(timezone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The occurrence of the period that starts on local day `day` (wall ms at 00:00), if its day is one of the days. */
function occurrence(p: CompiledPeriod, day: number): { start: number; stop: number } | undefined {
  if (!p.days.has(new Date(day).getUTCDay())) return undefined;
  const start = instantOf(p.timezone, day + p.start * MINUTE_MS);
  const stop = instantOf(p.timezone, day + (p.overnight ? DAY_MS : 0) + p.stop * MINUTE_MS);
  return { start, stop };
}

/**
 * Whether the period covers the instant `at`, on the wall clock of its time zone (see Period for daylight-saving
 * changes). The start is inside, the stop is not. Throws ValidationError for an invalid period.
 *
 * @example
 * isInPeriod({ days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' }, new Date('2026-03-02T00:00:00Z')) // true: Monday 09:00 KST
 * isInPeriod({ days: 'FRI', start: '22:00', stop: '07:00', timezone: 'UTC' }, new Date('2026-03-07T06:59:00Z')) // true: Saturday 06:59
 */
export function isInPeriod(period: Period, at: Date): boolean {
  const p = compile(period);
  const t = at.getTime();
  const today = localDay(p.timezone, t);
  // The day before (an overnight period started yesterday) and after (a fall-back repeat around midnight).
  for (const day of [today - DAY_MS, today, today + DAY_MS]) {
    const o = occurrence(p, day);
    if (o && o.start <= t && t < o.stop) return true;
  }
  return false;
}

/**
 * Whether a start or a stop of the period happens in (from, to]: a check at `to` that follows one at `from` must act.
 * False when `to` is not after `from`. Throws ValidationError for an invalid period.
 *
 * @example
 * crossedBoundary(officeHours, new Date('2026-03-02T07:58:00Z'), new Date('2026-03-02T08:03:00Z')) // true: 17:00 KST stop
 */
export function crossedBoundary(period: Period, from: Date, to: Date): boolean {
  const p = compile(period);
  const a = from.getTime();
  const b = to.getTime();
  if (!(b > a)) return false;
  // Every period starts at least once a week: more than 8 days always contains a boundary.
  if (b - a > 8 * DAY_MS) return true;
  const last = localDay(p.timezone, b) + DAY_MS;
  for (let day = localDay(p.timezone, a) - 2 * DAY_MS; day <= last; day += DAY_MS) {
    const o = occurrence(p, day);
    if (o && ((o.start > a && o.start <= b) || (o.stop > a && o.stop <= b))) return true;
  }
  return false;
}

/** The days as an EventBridge day-of-week field: `*`, or names and ranges in SUN..SAT order. */
function daysField(days: Set<number>): string {
  if (days.size === 7) return '*';
  const runs: string[] = [];
  for (let d = 0; d < 7; d++) {
    if (!days.has(d)) continue;
    let end = d;
    while (end + 1 < 7 && days.has(end + 1)) end++;
    runs.push(end === d ? DAY_NAMES[d] : `${DAY_NAMES[d]}-${DAY_NAMES[end]}`);
    d = end;
  }
  return runs.join(',');
}

/**
 * The EventBridge Scheduler cron expressions (6 fields, evaluated in `timezone`) of the period's starts and stops.
 * An overnight period stops on the day after each of its days. Throws ValidationError for an invalid period.
 *
 * @example
 * periodEdges({ days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' })
 * // { start: 'cron(0 9 ? * MON-FRI *)', stop: 'cron(0 17 ? * MON-FRI *)', timezone: 'Asia/Seoul' }
 * periodEdges({ days: 'FRI', start: '22:00', stop: '07:00', timezone: 'Asia/Seoul' }).stop // 'cron(0 7 ? * SAT *)'
 */
export function periodEdges(period: Period): { start: string; stop: string; timezone: string } {
  const p = compile(period);
  const cron = (minutes: number, days: Set<number>) => `cron(${minutes % 60} ${Math.floor(minutes / 60)} ? * ${daysField(days)} *)`;
  const stopDays = p.overnight ? new Set([...p.days].map((d) => (d + 1) % 7)) : p.days;
  return { start: cron(p.start, p.days), stop: cron(p.stop, stopDays), timezone: p.timezone };
}

/**
 * The local calendar date (YYYY-MM-DD) of `at` in `timezone`.
 *
 * @example
 * localDate(new Date('2026-03-01T15:30:00Z'), 'Asia/Seoul') // '2026-03-02'
 */
export function localDate(at: Date, timezone: string): string {
  if (!isTimeZone(timezone)) throw new ValidationError(`${JSON.stringify(timezone)} is not an IANA time zone`, 'timezone');
  return new Date(localDay(timezone, at.getTime())).toISOString().slice(0, 10);
}
