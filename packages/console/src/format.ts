/** Pure formatting for the console's views (no DOM): money, times, durations, relative times. */

/**
 * US dollars with cents and thousands separators.
 *
 * @example
 * formatUsd(1234.5) // '$1,234.50'
 * formatUsd(-3)     // '-$3.00'
 */
export function formatUsd(usd: number): string {
  const sign = usd < 0 ? '-' : '';
  const [whole, cents] = Math.abs(usd).toFixed(2).split('.');
  return `${sign}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

/**
 * An ISO-8601 time as `YYYY-MM-DD HH:MM:SS UTC`; an empty string for undefined; the input itself when it is not a time.
 *
 * @example
 * formatTime('2026-12-03T15:04:05.123Z') // '2026-12-03 15:04:05 UTC'
 */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * A duration in milliseconds, in the two largest units that matter.
 *
 * @example
 * formatDuration(850)        // '850 ms'
 * formatDuration(12_300)     // '12.3 s'
 * formatDuration(3_723_000)  // '1h 2m'
 * formatDuration(90_000_000) // '1d 1h'
 */
/**
 * A local wall-clock time as the API gives it (`2027-01-01T03:00+01:00 Europe/Berlin`), for reading: date, time and
 * UTC offset (the zone has a column of its own). Anything else is shown as given.
 *
 * @example
 * formatLocalTime('2027-01-01T03:00+01:00 Europe/Berlin') // '2027-01-01 03:00 (UTC+01:00)'
 */
export function formatLocalTime(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)/.exec(text);
  return m ? `${m[1]} ${m[2]} (UTC${m[3] === 'Z' ? '' : m[3]})` : text;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${Math.floor((ms % 60_000) / 1000)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/**
 * How long between two ISO times (`end` defaults to `now`); empty when `start` is missing or a time is not one.
 *
 * @example
 * elapsed('2026-01-01T00:00:00Z', '2026-01-01T00:00:12Z') // '12 s'
 */
export function elapsed(start: string | undefined, end: string | undefined, now?: string): string {
  if (!start) return '';
  const from = Date.parse(start);
  const to = Date.parse(end ?? now ?? '');
  if (Number.isNaN(from) || Number.isNaN(to)) return '';
  return formatDuration(to - from);
}

/**
 * `at` relative to `now`: 'in 3h 0m', '5m 0s ago', 'now' within a second.
 *
 * @example
 * relative('2026-01-01T03:00:00Z', '2026-01-01T00:00:00Z') // 'in 3h 0m'
 */
export function relative(at: string, now: string): string {
  const diff = Date.parse(at) - Date.parse(now);
  if (Number.isNaN(diff)) return '';
  if (Math.abs(diff) < 1000) return 'now';
  return diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}

/**
 * The CSS class of a status badge: ok, bad, busy, wait or idle.
 *
 * @example
 * statusTone('Success') // 'ok'
 * statusTone('TimedOut') // 'bad'
 */
export function statusTone(status: string): 'ok' | 'bad' | 'busy' | 'wait' | 'idle' {
  switch (status) {
    case 'Success':
    case 'CompletedWithSuccess':
      return 'ok';
    case 'Failed':
    case 'TimedOut':
    case 'Cancelled':
    case 'CompletedWithFailure':
    case 'Rejected':
      return 'bad';
    case 'InProgress':
    case 'Cancelling':
    case 'RunbookInProgress':
      return 'busy';
    case 'Waiting':
    case 'Paused':
    case 'PendingApproval':
      return 'wait';
    default:
      return 'idle';
  }
}

/**
 * A compact single-line JSON of step outputs for a table cell, cut at `max` characters.
 *
 * @example
 * compactJson({ a: 1 }) // '{"a":1}'
 */
export function compactJson(value: unknown, max = 160): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
