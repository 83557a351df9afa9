/**
 * Schedule expressions in words, for operators (`opsauto automations list`).
 *
 * The words come from what the evaluator runs (cronFields: the values each field selects after parsing), not from
 * the text, so `0/5` and `0,5,10,...,55` read the same and a step that does not divide the hour (`0/7`: 0, 7, ...,
 * 56, then 0 again) is never called "every 7 minutes". Whatever has no short, exact phrase is given back as written:
 * better the expression than wrong words.
 */
import { cronFields, parseScheduleExpression, type CronDayRule } from './schedule-expression.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']; // cron 1-7
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const NTH = ['first', 'second', 'third', 'fourth', 'fifth'];
/** Most times a phrase lists ("at 00:00, 06:00, 12:00 and 18:00") before it gives up. */
const MAX_TIMES = 6;

/**
 * A short English phrase for a schedule expression evaluated in `timezone` (default UTC), which it names in
 * parentheses; rate() is elapsed time and names none. What it cannot phrase exactly comes back as the expression,
 * followed by the time zone. Throws InvalidScheduleExpressionError for an invalid expression or time zone.
 *
 * @example describeSchedule('cron(0 9 ? * MON-FRI *)', 'Asia/Seoul') // 'at 09:00, Monday to Friday (Asia/Seoul)'
 * @example describeSchedule('cron(0 3 ? * SUN *)', 'UTC') // 'at 03:00 on Sunday (UTC)'
 * @example describeSchedule('cron(0/5 * * * ? *)', 'UTC') // 'every 5 minutes (UTC)'
 * @example describeSchedule('cron(0 2 ? * 3#2 *)', 'UTC') // 'at 02:00 on the second Tuesday of the month (UTC)'
 * @example describeSchedule('rate(5 minutes)', 'UTC') // 'every 5 minutes'
 */
export function describeSchedule(expression: string, timezone = 'UTC'): string {
  // Validates the expression and the zone (throws InvalidScheduleExpressionError naming the field).
  parseScheduleExpression(expression, timezone);
  const text = expression.trim();
  const body = text.slice(text.indexOf('(') + 1, -1).trim();
  if (text.startsWith('rate(')) return describeRate(body);
  const phrase = text.startsWith('at(') ? describeAt(body) : describeCron(text);
  return `${phrase ?? text} (${timezone})`;
}

function describeRate(body: string): string {
  const [value, unit] = body.split(/\s+/) as [string, string];
  return value === '1' ? `every ${unit}` : `every ${value} ${unit}`;
}

/** `2027-03-01T09:30:00` -> `once, at 09:30 on 2027-03-01`. */
function describeAt(body: string): string {
  const [date, time] = body.split('T') as [string, string];
  return `once, at ${time.endsWith(':00') ? time.slice(0, 5) : time} on ${date}`;
}

// ---------------------------------------------------------------------------------------------------------------
// cron

function describeCron(expression: string): string | undefined {
  const fields = cronFields(expression);
  const time = timePhrase(fields.minutes, fields.hours);
  const day = dayPhrase(fields.day);
  let months = monthPhrase(fields.months);
  const years = yearPhrase(fields.years);
  if (time === undefined || day === undefined || months === undefined || years === undefined) return undefined;
  if (fields.months.length === 1 && day.text.endsWith(' of the month')) {
    // "on the last day of February", not "on the last day of the month in February".
    day.text = `${day.text.slice(0, -'the month'.length)}${MONTHS[fields.months[0] - 1]}`;
    months = '';
  }

  let phrase = time.text;
  if (day.text === '') {
    // Every day: said after a clock time ("at 07:00, every day"); a frequency ("every 5 minutes") needs nothing.
    if (time.kind === 'at') phrase += months === '' ? ', every day' : `, every day ${months}`;
    else if (months !== '') phrase += ` ${months}`;
  } else {
    phrase += `${day.text}${months === '' ? '' : ` ${months}`}`;
  }
  return phrase + years;
}

interface TimePhrase {
  /** `at`: clock times, which want "every day" said; `every`: a frequency. */
  kind: 'at' | 'every';
  text: string;
}

function clock(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** `values` is `start, start + step, ...` up to `size - 1` exactly, with step > 1 dividing size: the step, else 0. */
function evenStep(values: readonly number[], size: number): number {
  if (values.length < 2 || values[0] !== 0) return 0;
  const step = values[1] - values[0];
  if (size % step !== 0 || values.length !== size / step) return 0;
  return values.every((value, i) => value === i * step) ? step : 0;
}

/** Consecutive ascending values (a range that does not wrap), at least two. */
function isRun(values: readonly number[]): boolean {
  return values.length >= 2 && values.every((value, i) => i === 0 || value === values[i - 1] + 1);
}

function timePhrase(minutes: readonly number[], hours: readonly number[]): TimePhrase | undefined {
  const everyMinute = minutes.length === 60;
  const minuteStep = evenStep(minutes, 60);
  const singleMinute = minutes.length === 1 ? minutes[0] : undefined;
  const first = hours[0];
  const last = hours.at(-1) as number;
  // Within the hours a frequency runs in: all day, one hour, or a run of hours (09:00 to 17:55).
  const within = hours.length === 24 ? '' : hours.length === 1 || isRun(hours) ? 'range' : undefined;
  // A handful of times in a few hours reads best as a list ("at 09:00 and 09:30"), not a frequency.
  const few = hours.length < 24 && minutes.length * hours.length <= MAX_TIMES;
  if ((everyMinute || minuteStep) && !few) {
    const frequency = everyMinute ? 'every minute' : `every ${minuteStep} minutes`;
    if (within === '') return { kind: 'every', text: frequency };
    if (within === 'range') return { kind: 'every', text: `${frequency} from ${clock(first, 0)} to ${clock(last, everyMinute ? 59 : 60 - minuteStep)}` };
  }
  if (singleMinute !== undefined) {
    const hourStep = evenStep(hours, 24);
    if (hours.length === 24) return { kind: 'every', text: singleMinute === 0 ? 'every hour' : `every hour at minute ${singleMinute}` };
    if (hourStep && hours.length > MAX_TIMES) {
      return { kind: 'every', text: `every ${hourStep} hours${singleMinute === 0 ? '' : ` at minute ${singleMinute}`}` };
    }
    if (isRun(hours) && !few) {
      return { kind: 'every', text: `every hour from ${clock(first, singleMinute)} to ${clock(last, singleMinute)}` };
    }
  }
  if (minutes.length * hours.length > MAX_TIMES) return undefined;
  const times = hours.flatMap((hour) => minutes.map((minute) => clock(hour, minute)));
  return { kind: 'at', text: `at ${list(times)}` };
}

interface DayPhrase {
  /** '' for every day; else the words to append, with their own leading space or comma. */
  text: string;
}

/** Monday first, as operators read a week: cron weekday 1-7 (Sunday = 1) to 0-6 (Monday = 0). */
function mondayFirst(weekday: number): number {
  return (weekday + 5) % 7;
}

function dayPhrase(rule: CronDayRule): DayPhrase | undefined {
  switch (rule.kind) {
    case 'days': {
      if (rule.days.length === 31) return { text: '' };
      if (isRun(rule.days) && rule.days.length > 2) {
        return { text: ` from the ${ordinal(rule.days[0])} to the ${ordinal(rule.days.at(-1) as number)} of the month` };
      }
      if (rule.days.length > MAX_TIMES) return undefined;
      return { text: ` on the ${list(rule.days.map(ordinal))} of the month` };
    }
    case 'weekdays': {
      if (rule.weekdays.length === 7) return { text: '' };
      const days = rule.weekdays.map(mondayFirst).sort((a, b) => a - b);
      const run = cyclicRun(days, 7);
      const name = (day: number) => WEEKDAYS[(day + 1) % 7];
      if (run && days.length > 2) return { text: `, ${name(run.from)} to ${name(run.to)}` };
      return { text: ` on ${list(days.map(name))}` };
    }
    case 'lastDay':
      return { text: ' on the last day of the month' };
    case 'lastWeekday':
      return { text: ' on the last weekday (Monday to Friday) of the month' };
    case 'nearestWeekday':
      // Beyond the 28th some months have no such day and the schedule skips them: no short phrase says that.
      if (rule.day > 28) return undefined;
      return { text: ` on the weekday (Monday to Friday) nearest the ${ordinal(rule.day)} of the month` };
    case 'lastOfWeekday':
      return { text: ` on the last ${WEEKDAYS[rule.weekday - 1]} of the month` };
    case 'nthWeekday':
      return { text: ` on the ${NTH[rule.nth - 1]} ${WEEKDAYS[rule.weekday - 1]} of the month` };
  }
}

/** A run of consecutive values that may wrap past `size - 1` to 0 (Friday to Monday), or undefined. */
function cyclicRun(values: readonly number[], size: number): { from: number; to: number } | undefined {
  if (values.length < 2 || values.length >= size) return undefined;
  const members = new Set(values);
  const starts = values.filter((value) => !members.has((value - 1 + size) % size));
  if (starts.length !== 1) return undefined;
  const from = starts[0];
  return { from, to: (from + values.length - 1) % size };
}

function monthPhrase(months: readonly number[]): string | undefined {
  if (months.length === 12) return '';
  const name = (month: number) => MONTHS[month - 1];
  if (isRun(months) && months.length > 2) return `from ${name(months[0])} to ${name(months.at(-1) as number)}`;
  if (months.length > 4) return undefined;
  return `in ${list(months.map(name))}`;
}

function yearPhrase(years: readonly number[]): string | undefined {
  if (years.length === 0) return '';
  if (isRun(years) && years.length > 2) return `, only from ${years[0]} to ${years.at(-1)}`;
  if (years.length > 3) return undefined;
  return `, only in ${list(years.map(String))}`;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
