/**
 * Amazon EventBridge Scheduler schedule expressions, dependency-free: `rate(...)`, `at(...)` and `cron(...)`.
 *
 * Semantics follow the AWS documentation:
 * - Schedule types, time zones and daylight saving time:
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 * - Cron fields and wildcards: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
 * - Rate units (singular only with a value of 1): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
 * - Daylight saving time, in AWS's words (https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst):
 *   "When the time shifts forward in Spring, your schedule invocation gets skipped if the cron expression falls on
 *   a non-existent date and time. When the time shifts back in the Fall, your schedule runs only once and doesn't
 *   repeat its invocation." and, for rate schedules, "days represents a 24-hour duration on the clock".
 *
 * What this module does with that:
 * - `cron(...)` and `at(...)` are read as wall-clock times in the schedule's IANA time zone (default UTC).
 *   A wall-clock time that does not exist (spring forward gap) produces no fire time. A wall-clock time that occurs
 *   twice (fall back) fires once, at its first occurrence (the earlier UTC instant) — AWS says "only once" without
 *   naming the occurrence; the first one is what a clock reading the wall time would hit first.
 * - `rate(...)` is pure elapsed time: fire times are `start + k * period` (k = 0, 1, 2, ...) in UTC, whatever the
 *   time zone. `start` stands for the schedule's StartDate; AWS starts a rate schedule without a StartDate
 *   "immediately", which a pure function cannot know, so the default start is the Unix epoch (1970-01-01T00:00Z).
 *   Pass the schedule's creation time (or its StartDate) to get AWS's phase.
 * - `start` is also a lower bound for `cron(...)` (no fire time before it); `at(...)` ignores it.
 * - Cron specifics (EventBridge cron is Quartz-flavoured): `L` in day-of-month is the last day of the month, `LW`
 *   the last weekday (Mon-Fri) of the month, `nW` the weekday nearest day n without leaving the month (no fire in
 *   a month that has no day n); `L` alone in day-of-week is 7 (Saturday, the last day of the week, 1 = Sunday),
 *   `nL` the last weekday n of the month, `n#k` the k-th (1-5) weekday n of the month (`3#2` = second Tuesday).
 *   Ranges whose start is after their end wrap around (`20-2` in hours, `FRI-MON`), except in the year field.
 *   `a/n` means a, a+n, ... up to the field's maximum; `a-b/n` steps inside the range; `*\/n` starts at the minimum.
 *
 * `nextAfter` steps field by field (year, month, day, hour, minute) in wall-clock time and converts with
 * `Intl.DateTimeFormat`, a handful of conversions per call, so it never scans minute by minute.
 *
 * Also here, for the config and the CLI: `isTimeZone` (the one time zone check, the parser's included),
 * `nextRuns`, `formatInZone`, and `cronFields` (what a cron expression selects, which schedule-description.ts
 * puts into words). localcloud imports this module and nothing else of ours: keep it free of other imports.
 */

/** Thrown for a malformed expression or time zone; `code` is the error the EventBridge Scheduler API returns. */
export class InvalidScheduleExpressionError extends Error {
  readonly code = 'ValidationException';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidScheduleExpressionError';
  }
}

export interface ScheduleExpression {
  /** The first fire time strictly after `after` (a UTC instant), or undefined when there is none (an at() in the past, a cron whose years are over). */
  nextAfter(after: Date): Date | undefined;
}

/**
 * Parses and validates; throws InvalidScheduleExpressionError with a message naming the field that is wrong.
 *
 * @param timezone IANA time zone name the expression is evaluated in (ScheduleExpressionTimezone); default UTC.
 * @param start the schedule's start (StartDate, or its creation time when it has none). rate(): the first fire time,
 *   default the Unix epoch; cron(): no fire time before it; at(): ignored.
 */
export function parseScheduleExpression(expression: string, timezone?: string, start?: Date): ScheduleExpression {
  const zone = zoneFor(timezone);
  if (start !== undefined && !(start instanceof Date && Number.isFinite(start.getTime()))) {
    throw new InvalidScheduleExpressionError('Invalid StartDate: not a valid date');
  }
  const startMs = start?.getTime() ?? 0;
  if (typeof expression !== 'string') throw invalid(String(expression), 'the expression must be a string');

  const text = expression.trim();
  const call = /^(rate|at|cron)\((.*)\)$/s.exec(text);
  if (!call) throw invalid(expression, 'expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)');
  const [, kind, body] = call as unknown as [string, 'rate' | 'at' | 'cron', string];
  switch (kind) {
    case 'rate':
      return rateSchedule(parseRate(expression, body), startMs);
    case 'at':
      return atSchedule(parseAt(expression, body), zone);
    case 'cron':
      return cronSchedule(parseCron(expression, body), zone, start === undefined ? undefined : startMs);
  }
}

/**
 * The next `count` fire times strictly after `after`, in order; fewer when the schedule ends first. Throws
 * InvalidScheduleExpressionError for a bad expression or time zone, RangeError for a bad `after` or `count`.
 *
 * @param start as for parseScheduleExpression (a rate() schedule's phase).
 * @example
 * nextRuns('cron(0 9 ? * MON-FRI *)', 'Asia/Seoul', new Date('2027-03-05T01:00:00Z'), 2)
 * // [2027-03-08T00:00:00.000Z, 2027-03-09T00:00:00.000Z]: 09:00 KST on Monday and Tuesday
 */
export function nextRuns(expression: string, timezone: string | undefined, after: Date, count: number, start?: Date): Date[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a whole number of 0 or more, got ${count}`);
  const schedule = parseScheduleExpression(expression, timezone, start);
  const runs: Date[] = [];
  let at = new Date(instantOf(after));
  while (runs.length < count) {
    const next = schedule.nextAfter(at);
    if (next === undefined) break;
    runs.push(next);
    at = next;
  }
  return runs;
}

/**
 * The instant as the zone's clock shows it, ISO 8601 local time with its UTC offset then the zone's name, to the
 * minute (seconds only when not zero). Throws RangeError for an invalid date or a name isTimeZone refuses.
 *
 * @example formatInZone(new Date('2027-03-01T00:00:00Z'), 'Asia/Seoul') // '2027-03-01T09:00+09:00 Asia/Seoul'
 * @example formatInZone(new Date('2027-03-28T01:30:00Z'), 'Europe/Berlin') // '2027-03-28T03:30+02:00 Europe/Berlin'
 */
export function formatInZone(date: Date, timezone: string): string {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError('formatInZone needs a valid Date');
  const problem = timeZoneProblem(timezone);
  if (problem !== undefined) throw new RangeError(`Unknown time zone ${String(timezone)}: ${problem}`);
  const offset = zoneFor(timezone).offset(ms);
  const wall = new Date(Math.floor(ms / 1000) * 1000 + offset);
  const two = (n: number) => String(n).padStart(2, '0');
  const seconds = wall.getUTCSeconds() === 0 ? '' : `:${two(wall.getUTCSeconds())}`;
  const local = `${String(wall.getUTCFullYear()).padStart(4, '0')}-${two(wall.getUTCMonth() + 1)}-${two(wall.getUTCDate())}T${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())}${seconds}`;
  const abs = Math.abs(offset) / 1000;
  const offsetSeconds = abs % 60 === 0 ? '' : `:${two(abs % 60)}`;
  const sign = offset < 0 ? '-' : '+';
  return `${local}${sign}${two(Math.floor(abs / 3600))}:${two(Math.floor(abs / 60) % 60)}${offsetSeconds} ${timezone}`;
}

/** Which days of a month a cron expression runs on (its day-of-month or day-of-week field), as parsed. */
export type CronDayRule =
  | { kind: 'days'; days: readonly number[] } // day-of-month values 1-31
  | { kind: 'lastDay' } // L
  | { kind: 'lastWeekday' } // LW
  | { kind: 'nearestWeekday'; day: number } // nW
  | { kind: 'weekdays'; weekdays: readonly number[] } // day-of-week values, 1 = Sunday ... 7 = Saturday
  | { kind: 'lastOfWeekday'; weekday: number } // nL
  | { kind: 'nthWeekday'; weekday: number; nth: number }; // n#k

/** A cron expression's fields as the values each one selects, ascending: what the evaluator runs, for describing it. */
export interface CronFields {
  minutes: readonly number[];
  hours: readonly number[];
  day: CronDayRule;
  months: readonly number[];
  /** Empty when every year (1970-2199) is selected. */
  years: readonly number[];
}

/**
 * Parses a `cron(...)` expression (validated exactly as parseScheduleExpression does) into the values each field
 * selects. Throws InvalidScheduleExpressionError, also for a rate() or at() expression.
 *
 * @example cronFields('cron(0 9,17 ? * MON-FRI *)').hours // [9, 17]
 */
export function cronFields(expression: string): CronFields {
  const text = typeof expression === 'string' ? expression.trim() : '';
  const call = /^cron\((.*)\)$/s.exec(text);
  if (!call) throw invalid(String(expression), 'expected cron(fields)');
  const cron = parseCron(expression, call[1]);
  const values = (table: Uint8Array, min: number) => [...table.keys()].filter((i) => table[i]).map((i) => i + min);
  const years = values(cron.years, MIN_YEAR);
  const rule = cron.day;
  const day: CronDayRule =
    rule.kind === 'days'
      ? { kind: 'days', days: values(rule.days, 1) }
      : rule.kind === 'weekdays'
        ? { kind: 'weekdays', weekdays: values(rule.weekdays, 1) }
        : rule;
  return {
    minutes: values(cron.minutes, 0),
    hours: values(cron.hours, 0),
    day,
    months: values(cron.months, 1),
    years: years.length === cron.years.length ? [] : years,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The largest instant a Date can hold. */
const MAX_DATE_MS = 8.64e15;
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

function invalid(expression: string, reason: string): InvalidScheduleExpressionError {
  return new InvalidScheduleExpressionError(`Invalid schedule expression ${expression}: ${reason}`);
}

function instantOf(after: Date): number {
  const ms = after instanceof Date ? after.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError('nextAfter needs a valid Date');
  return ms;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Sunday ... 7 = Saturday, as in EventBridge cron. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones

interface Zone {
  /** Wall-clock time minus UTC, in ms, at the given instant. */
  offset(instant: number): number;
}

const UTC_ZONE: Zone = { offset: () => 0 };
const zones = new Map<string, Zone>();

const NOT_IANA = 'not an IANA time zone name (for example America/New_York)';

/** Why `name` is not an IANA time zone name known to Node's ICU, or undefined when it is one. */
function timeZoneProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return NOT_IANA;
  // Newer ECMA-402 engines take UTC offsets (+09:00) as time zones: they are not IANA names, and a schedule needs one.
  if (name.startsWith('+') || name.startsWith('-')) return NOT_IANA;
  let resolved: string;
  try {
    // ICU knows canonical names and also links and aliases (UTC, Etc/UTC, Asia/Calcutta, US/Eastern). Asking it for
    // the one zone costs far less than listing every zone (Intl.supportedValuesOf: ~80 ms, on every CLI command).
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return NOT_IANA;
  }
  // ICU matches names in any case; IANA names are case-sensitive, and a deployment passes the name on as written.
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return `not an IANA time zone name (did you mean ${resolved}?)`;
  return undefined;
}

/**
 * Whether `name` is a time zone of the IANA database that ships with Node's ICU: a canonical name
 * (`Intl.supportedValuesOf('timeZone')`) or a link ICU resolves (`UTC`, `Etc/UTC`, `Asia/Calcutta`, `US/Eastern`).
 * Names are case-sensitive (`asia/seoul` is refused where ICU can tell, which is every name but a link in a wrong
 * case on ICU versions that canonicalise links); UTC offsets such as `+09:00` are refused.
 *
 * @example isTimeZone('Asia/Seoul') // true
 * @example isTimeZone('Etc/UTC') // true
 * @example isTimeZone('Europe/Berlinn') // false
 */
export function isTimeZone(name: string): boolean {
  return timeZoneProblem(name) === undefined;
}

/**
 * The time zone's offset from UTC at `instant` (epoch ms), in ms: wall-clock time minus UTC, from the same cached
 * conversion the schedules use.
 *
 * @throws InvalidScheduleExpressionError for a name that is not an IANA time zone.
 * @example
 * utcOffsetMs('Asia/Seoul', Date.parse('2027-01-01T00:00:00Z')) // 32400000
 */
export function utcOffsetMs(timezone: string, instant: number): number {
  return zoneFor(timezone).offset(instant);
}

function zoneFor(timezone: string | undefined): Zone {
  if (timezone === undefined) return UTC_ZONE;
  const cached = zones.get(timezone);
  if (cached) return cached;
  const problem = timeZoneProblem(timezone);
  if (problem !== undefined) throw new InvalidScheduleExpressionError(`Invalid ScheduleExpressionTimezone ${String(timezone)}: ${problem}`);
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const zone: Zone = format.resolvedOptions().timeZone === 'UTC' ? UTC_ZONE : new IntlZone(format);
  zones.set(timezone, zone);
  return zone;
}

/**
 * Offsets from Intl, remembered at each UTC midnight: when two consecutive midnights have the same offset, so does
 * the whole day between them (no time zone changes its offset twice within a day), and no Intl call is needed.
 */
class IntlZone implements Zone {
  private readonly midnights = new Map<number, number>();

  constructor(private readonly format: Intl.DateTimeFormat) {}

  offset(instant: number): number {
    const day = Math.floor(instant / DAY);
    const offset = this.midnight(day);
    return offset === this.midnight(day + 1) ? offset : intlOffset(this.format, instant);
  }

  private midnight(day: number): number {
    let offset = this.midnights.get(day);
    if (offset === undefined) {
      if (this.midnights.size >= 10_000) this.midnights.clear();
      offset = intlOffset(this.format, day * DAY);
      this.midnights.set(day, offset);
    }
    return offset;
  }
}

/** en-US with h23 formats as `3/8/2026, 01:59:00`; formatToParts is the fallback should that ever change. */
const EN_US = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/;

function intlOffset(format: Intl.DateTimeFormat, instant: number): number {
  const seconds = Math.floor(instant / 1000) * 1000;
  const match = EN_US.exec(format.format(seconds));
  let fields: number[];
  if (match) {
    const [, month, day, year, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
    fields = [year, month, day, hour, minute, second];
  } else {
    const parts = new Map(format.formatToParts(seconds).map((part) => [part.type, Number(part.value)]));
    fields = ['year', 'month', 'day', 'hour', 'minute', 'second'].map((type) => parts.get(type as Intl.DateTimeFormatPartTypes) ?? 0);
  }
  const [year, month, day, hour, minute, second] = fields as [number, number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour % 24, minute, second);
  return wall - seconds;
}

/** The wall-clock time (as ms on a UTC calendar) shown in the zone at `instant`. */
function wallClock(zone: Zone, instant: number): number {
  return instant + zone.offset(instant);
}

/**
 * The earliest instant at which the zone's clock reads `wall` (ms on a UTC calendar), or undefined when it never
 * does (the wall time falls in a daylight-saving gap). A wall time that occurs twice yields its first occurrence.
 */
function firstInstant(zone: Zone, wall: number): number | undefined {
  if (zone === UTC_ZONE) return wall;
  // The instants showing `wall` lie within about ±14 h of it; the offsets in force around there are the ones a day
  // before and a day after (time zones do not change offset twice within two days).
  const before = zone.offset(wall - DAY);
  const after = zone.offset(wall + DAY);
  let best: number | undefined;
  for (const offset of before === after ? [before] : [before, after]) {
    const instant = wall - offset;
    if (zone.offset(instant) === offset && (best === undefined || instant < best)) best = instant;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// rate(value unit)

const RATE_UNITS: Record<string, { ms: number; singular: boolean; other: string }> = {
  minute: { ms: MINUTE, singular: true, other: 'minutes' },
  minutes: { ms: MINUTE, singular: false, other: 'minute' },
  hour: { ms: HOUR, singular: true, other: 'hours' },
  hours: { ms: HOUR, singular: false, other: 'hour' },
  day: { ms: DAY, singular: true, other: 'days' },
  days: { ms: DAY, singular: false, other: 'day' },
};

function parseRate(expression: string, body: string): number {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] === '') throw invalid(expression, 'rate takes a value and a unit, as in rate(5 minutes)');
  const [valueText, unitText] = parts as [string, string];
  if (!/^\d+$/.test(valueText)) throw invalid(expression, `rate value '${valueText}' must be a positive whole number`);
  const value = Number(valueText);
  if (value < 1 || !Number.isSafeInteger(value)) throw invalid(expression, `rate value '${valueText}' must be a positive whole number`);
  const unit = RATE_UNITS[unitText];
  if (!unit) throw invalid(expression, `rate unit '${unitText}' must be one of minute | minutes | hour | hours | day | days`);
  if (value === 1 && !unit.singular) throw invalid(expression, `rate unit must be singular ('${unit.other}') when the value is 1`);
  if (value !== 1 && unit.singular) throw invalid(expression, `rate unit must be plural ('${unit.other}') when the value is greater than 1`);
  return value * unit.ms;
}

function rateSchedule(periodMs: number, startMs: number): ScheduleExpression {
  return {
    nextAfter(after) {
      const afterMs = instantOf(after);
      const next = afterMs < startMs ? startMs : startMs + (Math.floor((afterMs - startMs) / periodMs) + 1) * periodMs;
      return next <= MAX_DATE_MS ? new Date(next) : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// at(yyyy-mm-ddThh:mm:ss)

function parseAt(expression: string, body: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!match) throw invalid(expression, 'at takes a date and time as yyyy-mm-ddThh:mm:ss, as in at(2026-03-08T09:30:00)');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) throw invalid(expression, `month ${match[2]} is out of range 01-12`);
  if (day < 1 || day > daysInMonth(year, month)) throw invalid(expression, `day ${match[3]} does not exist in ${match[1]}-${match[2]}`);
  if (hour > 23) throw invalid(expression, `hour ${match[4]} is out of range 00-23`);
  if (minute > 59) throw invalid(expression, `minute ${match[5]} is out of range 00-59`);
  if (second > 59) throw invalid(expression, `second ${match[6]} is out of range 00-59`);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function atSchedule(wall: number, zone: Zone): ScheduleExpression {
  // A wall time inside a spring-forward gap never happens: like a cron time there, it is skipped.
  const fire = firstInstant(zone, wall);
  return {
    nextAfter(after) {
      const afterMs = instantOf(after);
      return fire !== undefined && fire > afterMs ? new Date(fire) : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// cron(minutes hours day-of-month month day-of-week year)

type DayRule =
  | { kind: 'days'; days: Uint8Array } // day-of-month values, index 1-31
  | { kind: 'lastDay' } // L
  | { kind: 'lastWeekday' } // LW
  | { kind: 'nearestWeekday'; day: number } // nW
  | { kind: 'weekdays'; weekdays: Uint8Array } // day-of-week values, index 1-7
  | { kind: 'lastOfWeekday'; weekday: number } // nL
  | { kind: 'nthWeekday'; weekday: number; nth: number }; // n#k

interface Cron {
  minutes: Uint8Array;
  hours: Uint8Array;
  months: Uint8Array;
  years: Uint8Array; // index year - MIN_YEAR
  day: DayRule;
}

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
  step: boolean;
  wrap: boolean;
}

const MONTH_NAMES = { JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12 };
const WEEKDAY_NAMES = { SUN: 1, MON: 2, TUE: 3, WED: 4, THU: 5, FRI: 6, SAT: 7 };

const MINUTES: FieldDef = { name: 'minutes', min: 0, max: 59, step: true, wrap: true };
const HOURS: FieldDef = { name: 'hours', min: 0, max: 23, step: true, wrap: true };
const DAY_OF_MONTH: FieldDef = { name: 'day-of-month', min: 1, max: 31, step: true, wrap: true };
const MONTH: FieldDef = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, step: true, wrap: true };
// The EventBridge table lists no '/' for day-of-week.
const DAY_OF_WEEK: FieldDef = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAY_NAMES, step: false, wrap: true };
const YEAR: FieldDef = { name: 'year', min: MIN_YEAR, max: MAX_YEAR, step: true, wrap: false };

class FieldError extends Error {}

function parseCron(expression: string, body: string): Cron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6 || fields[0] === '') {
    throw invalid(
      expression,
      `cron takes 6 fields (minutes hours day-of-month month day-of-week year), found ${fields[0] === '' ? 0 : fields.length}`,
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields.map((field) => field.toUpperCase()) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const field = <T>(def: FieldDef, text: string, parse: (def: FieldDef, text: string) => T): T => {
    try {
      return parse(def, text);
    } catch (error) {
      if (error instanceof FieldError) throw invalid(expression, `${def.name} field '${text}': ${error.message}`);
      throw error;
    }
  };
  if (dayOfMonth === '?' && dayOfWeek === '?') {
    throw invalid(expression, "day-of-month and day-of-week cannot both be '?': one of them must name the days");
  }
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    throw invalid(expression, "one of day-of-month and day-of-week must be '?' (you can't specify both)");
  }
  return {
    minutes: field(MINUTES, minutes, parseValues),
    hours: field(HOURS, hours, parseValues),
    months: field(MONTH, month, parseValues),
    years: field(YEAR, year, parseValues),
    day: dayOfWeek === '?' ? field(DAY_OF_MONTH, dayOfMonth, parseDayOfMonth) : field(DAY_OF_WEEK, dayOfWeek, parseDayOfWeek),
  };
}

function parseDayOfMonth(def: FieldDef, text: string): DayRule {
  if (text === 'L') return { kind: 'lastDay' };
  if (text === 'LW') return { kind: 'lastWeekday' };
  const nearest = /^(\d+)W$/.exec(text);
  if (nearest) return { kind: 'nearestWeekday', day: parseValue(def, nearest[1]) };
  if (/[LW]/.test(text)) {
    throw new FieldError("L, LW and nW (as in 15W) must stand alone and cannot be combined with other values or ranges");
  }
  return { kind: 'days', days: parseValues(def, text) };
}

function parseDayOfWeek(def: FieldDef, text: string): DayRule {
  // 'L' alone is the last day of the week: 7, Saturday.
  if (text === 'L') return { kind: 'weekdays', weekdays: parseValues(def, '7') };
  const last = /^(\w+)L$/.exec(text);
  if (last) return { kind: 'lastOfWeekday', weekday: parseValue(def, last[1]) };
  if (text.includes('#')) {
    const nth = /^(\w+)#(\d+)$/.exec(text);
    if (!nth) throw new FieldError("'#' takes a single day and an instance, as in 3#2 (second Tuesday), and cannot be combined with other values");
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new FieldError(`instance '${nth[2]}' after '#' must be 1-5`);
    return { kind: 'nthWeekday', weekday: parseValue(def, nth[1]), nth: n };
  }
  if (text.includes('L')) throw new FieldError("L and nL (as in 6L) must stand alone and cannot be combined with other values");
  return { kind: 'weekdays', weekdays: parseValues(def, text) };
}

function parseValue(def: FieldDef, token: string): number {
  let value: number | undefined;
  if (/^\d+$/.test(token)) value = Number(token);
  else if (def.names && Object.hasOwn(def.names, token)) value = def.names[token];
  if (value === undefined) {
    const names = def.names ? ` or ${Object.keys(def.names)[0]}-${Object.keys(def.names).at(-1)}` : '';
    throw new FieldError(`'${token}' is not a valid value (${def.min}-${def.max}${names})`);
  }
  if (value < def.min || value > def.max) throw new FieldError(`value ${token} is out of range ${def.min}-${def.max}`);
  return value;
}

/** Comma-separated items, each `*`, a value, a range `a-b`, optionally with a step `/n`; into a membership table. */
function parseValues(def: FieldDef, text: string): Uint8Array {
  const table = new Uint8Array(def.max - def.min + 1);
  if (text === '?') throw new FieldError("'?' is only allowed in day-of-month or day-of-week");
  for (const item of text.split(',')) {
    if (item === '') throw new FieldError('empty item in the list');
    if (item === '?') throw new FieldError("'?' cannot be combined with other values");
    const [range, stepText, extra] = item.split('/') as [string, string | undefined, string | undefined];
    if (extra !== undefined) throw new FieldError(`'${item}' has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!def.step) throw new FieldError("'/' is not supported in this field");
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > def.max - def.min + 1) {
        throw new FieldError(`increment '${stepText}' must be a whole number from 1 to ${def.max - def.min + 1}`);
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = def.min;
      to = def.max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-') as [string, string, string | undefined];
      if (more !== undefined || a === '' || b === '') throw new FieldError(`'${range}' is not a valid range`);
      from = parseValue(def, a);
      to = parseValue(def, b);
      if (from > to && !def.wrap) throw new FieldError(`range ${range} runs backwards`);
    } else {
      from = parseValue(def, range);
      to = stepText === undefined ? from : def.max;
    }
    // Walk the (possibly wrapping) range from `from` to `to` in `step`s.
    const size = def.max - def.min + 1;
    const span = (to - from + size) % size;
    for (let k = 0; k <= span; k += step) table[(from - def.min + k) % size] = 1;
  }
  return table;
}

/** The smallest member of `table` (offset by `min`) that is >= value, or undefined. */
function nextIn(table: Uint8Array, min: number, value: number): number | undefined {
  for (let i = Math.max(0, value - min); i < table.length; i++) if (table[i]) return i + min;
  return undefined;
}

/** The first day >= from in the month that the rule selects, or undefined. */
function nextDay(rule: DayRule, year: number, month: number, from: number): number | undefined {
  const last = daysInMonth(year, month);
  if (from > last) return undefined;
  const single = (day: number | undefined) => (day !== undefined && day >= from && day <= last ? day : undefined);
  switch (rule.kind) {
    case 'days':
      for (let day = from; day <= last; day++) if (rule.days[day - 1]) return day;
      return undefined;
    case 'weekdays': {
      const first = weekdayOf(year, month, from);
      for (let day = from; day <= last; day++) if (rule.weekdays[((first - 1 + day - from) % 7)]) return day;
      return undefined;
    }
    case 'lastDay':
      return single(last);
    case 'lastWeekday': {
      const weekday = weekdayOf(year, month, last);
      return single(weekday === 1 ? last - 2 : weekday === 7 ? last - 1 : last);
    }
    case 'nearestWeekday': {
      if (rule.day > last) return undefined;
      const weekday = weekdayOf(year, month, rule.day);
      let day = rule.day;
      // Saturday moves to Friday, Sunday to Monday, never out of the month.
      if (weekday === 7) day = day === 1 ? 3 : day - 1;
      else if (weekday === 1) day = day === last ? day - 2 : day + 1;
      return single(day);
    }
    case 'lastOfWeekday': {
      const lastWeekday = weekdayOf(year, month, last);
      return single(last - ((lastWeekday - rule.weekday + 7) % 7));
    }
    case 'nthWeekday': {
      const firstWeekday = weekdayOf(year, month, 1);
      return single(1 + ((rule.weekday - firstWeekday + 7) % 7) + (rule.nth - 1) * 7);
    }
  }
}

/** The first wall-clock minute >= `from` (ms on a UTC calendar, minute-aligned) that the cron selects. */
function nextWallTime(cron: Cron, from: number): number | undefined {
  const date = new Date(from);
  let year = date.getUTCFullYear();
  let month = date.getUTCMonth() + 1;
  let day = date.getUTCDate();
  let hour = date.getUTCHours();
  let minute = date.getUTCMinutes();
  if (year < MIN_YEAR) [year, month, day, hour, minute] = [MIN_YEAR, 1, 1, 0, 0];
  for (;;) {
    const y = nextIn(cron.years, MIN_YEAR, year);
    if (y === undefined) return undefined;
    if (y !== year) [year, month, day, hour, minute] = [y, 1, 1, 0, 0];

    const m = nextIn(cron.months, 1, month);
    if (m === undefined) {
      [year, month, day, hour, minute] = [year + 1, 1, 1, 0, 0];
      continue;
    }
    if (m !== month) [month, day, hour, minute] = [m, 1, 0, 0];

    const d = nextDay(cron.day, year, month, day);
    if (d === undefined) {
      [month, day, hour, minute] = [month + 1, 1, 0, 0];
      if (month > 12) [year, month] = [year + 1, 1];
      continue;
    }
    if (d !== day) [day, hour, minute] = [d, 0, 0];

    const h = nextIn(cron.hours, 0, hour);
    if (h === undefined) {
      [day, hour, minute] = [day + 1, 0, 0];
      continue;
    }
    if (h !== hour) [hour, minute] = [h, 0];

    const mi = nextIn(cron.minutes, 0, minute);
    if (mi === undefined) {
      [hour, minute] = [hour + 1, 0];
      continue;
    }
    return Date.UTC(year, month - 1, day, hour, mi);
  }
}

function cronSchedule(cron: Cron, zone: Zone, startMs: number | undefined): ScheduleExpression {
  // Nothing fires before 1970-01-01T00:00 wall time, which no zone shows before 1969-12-31T10:00Z.
  const floor = Math.max(startMs === undefined ? -Infinity : startMs - 1, Date.UTC(MIN_YEAR - 1, 11, 30));
  return {
    nextAfter(after) {
      const lower = Math.max(instantOf(after), floor);
      // The fire time of a wall time is its first occurrence, and first occurrences rise with the wall time; so
      // every wall time before the one shown at `lower` fires at or before `lower`, and the search starts there.
      let wall = Math.floor(wallClock(zone, lower) / MINUTE) * MINUTE;
      for (;;) {
        const candidate = nextWallTime(cron, wall);
        if (candidate === undefined) return undefined;
        const instant = firstInstant(zone, candidate);
        // Undefined: a spring-forward gap, skipped. At or before `lower`: the hour repeated after a fall-back.
        if (instant !== undefined && instant > lower) return new Date(instant);
        wall = candidate + MINUTE;
      }
    },
  };
}
