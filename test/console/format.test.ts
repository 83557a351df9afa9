import { describe, expect, it } from 'vitest';
import { compactJson, elapsed, formatDuration, formatLocalTime, formatTime, formatUsd, relative, statusTone } from '../../packages/console/src/format.js';
import { parseFilters, toQuery } from '../../packages/console/src/query.js';

describe('formatUsd', () => {
  it('writes dollars with cents and thousands separators', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(8)).toBe('$8.00');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(1_234_567.891)).toBe('$1,234,567.89');
    expect(formatUsd(-3)).toBe('-$3.00');
  });
});

describe('formatTime', () => {
  it('writes an ISO time as UTC to the second, and leaves a non-time alone', () => {
    expect(formatTime('2026-12-03T15:04:05.123Z')).toBe('2026-12-03 15:04:05 UTC');
    expect(formatTime('2026-12-03T16:04:05+01:00')).toBe('2026-12-03 15:04:05 UTC');
    expect(formatTime(undefined)).toBe('');
    expect(formatTime('soon')).toBe('soon');
  });
});

describe('formatLocalTime', () => {
  it('shows a local run as date, time and UTC offset, and anything else as given', () => {
    expect(formatLocalTime('2027-01-01T03:00+01:00 Europe/Berlin')).toBe('2027-01-01 03:00 (UTC+01:00)');
    expect(formatLocalTime('2027-07-01T09:30:00-04:00 America/New_York')).toBe('2027-07-01 09:30 (UTC-04:00)');
    expect(formatLocalTime('2027-01-01T02:00Z UTC')).toBe('2027-01-01 02:00 (UTC)');
    expect(formatLocalTime('soon')).toBe('soon');
  });
});

describe('formatDuration and elapsed', () => {
  it('uses the two largest units', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_300)).toBe('12.3 s');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(125_000)).toBe('2m 5s');
    expect(formatDuration(3_723_000)).toBe('1h 2m');
    expect(formatDuration(90_000_000)).toBe('1d 1h');
    expect(formatDuration(-1)).toBe('');
  });

  it('measures between two times, or to now while running', () => {
    expect(elapsed('2026-01-01T00:00:00Z', '2026-01-01T00:00:12Z')).toBe('12 s');
    expect(elapsed('2026-01-01T00:00:00Z', undefined, '2026-01-01T01:00:00Z')).toBe('1h 0m');
    expect(elapsed(undefined, '2026-01-01T00:00:12Z')).toBe('');
    expect(elapsed('bad', '2026-01-01T00:00:12Z')).toBe('');
  });

  it('says how far a time is from now', () => {
    expect(relative('2026-01-01T03:00:00Z', '2026-01-01T00:00:00Z')).toBe('in 3h 0m');
    expect(relative('2026-01-01T00:00:00Z', '2026-01-01T00:05:00Z')).toBe('5m 0s ago');
    expect(relative('2026-01-01T00:00:00.500Z', '2026-01-01T00:00:00Z')).toBe('now');
  });
});

describe('statusTone and compactJson', () => {
  it('maps statuses to badge tones', () => {
    expect(['Success', 'Failed', 'TimedOut', 'InProgress', 'Waiting', 'Pending'].map(statusTone)).toEqual(['ok', 'bad', 'bad', 'busy', 'wait', 'idle']);
  });

  it('cuts long JSON with an ellipsis', () => {
    expect(compactJson({ a: 1 })).toBe('{"a":1}');
    expect(compactJson(undefined)).toBe('');
    const long = compactJson({ text: 'x'.repeat(500) }, 20);
    expect(long).toHaveLength(20);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('execution filters in the query string', () => {
  it('reads the four filters, dropping empty values and unknown keys', () => {
    expect(parseFilters('?status=Failed&runbook=&x=1&target=%20i-1%20')).toEqual({ status: 'Failed', target: 'i-1' });
    expect(parseFilters({ automation: 'nightly', nextToken: 'abc' })).toEqual({ automation: 'nightly' });
  });

  it('writes them back in a stable order with extra parameters', () => {
    expect(toQuery({ runbook: 'AWS-RestartEC2Instance', status: 'Failed' })).toBe('?status=Failed&runbook=AWS-RestartEC2Instance');
    expect(toQuery({}, { limit: '50', nextToken: undefined })).toBe('?limit=50');
    expect(toQuery({})).toBe('');
    expect(toQuery({ target: 'a&b' })).toBe('?target=a%26b');
  });

  it('round-trips', () => {
    const filters = { status: 'Success', runbook: 'r', automation: 'a b', target: 'i-1' };
    expect(parseFilters(toQuery(filters))).toEqual(filters);
  });
});
