/** The progress bar of a rate-controlled parent's children, and its failures against MaxErrors (pure). */
import type { Children } from './types.js';

export interface Segment {
  kind: 'success' | 'failed' | 'running' | 'pending';
  count: number;
  /** Share of the bar, 0..100, rounded to 0.1. */
  percent: number;
}

export interface ChildrenProgress {
  segments: Segment[];
  /** Children that ended (succeeded or failed). */
  done: number;
  percentDone: number;
  /** Failures allowed before launching stops (MaxErrors resolved against the targets). */
  errorLimit: number;
  /** True once failures exceed the limit: no new child starts. */
  exceeded: boolean;
  /** e.g. '2 failed of 3 allowed (MaxErrors 10%)'. */
  label: string;
}

/**
 * MaxErrors (a count, or a percentage of the targets rounded down) as a number of failures allowed, as
 * StartAutomationExecution resolves it.
 *
 * @example
 * errorLimitOf('10%', 50) // 5
 * errorLimitOf('3', 50)   // 3
 */
export function errorLimitOf(maxErrors: string | number, total: number): number {
  const text = String(maxErrors).trim();
  if (text.endsWith('%')) return Math.floor((Number(text.slice(0, -1)) * total) / 100);
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

/**
 * The segments of the bar (succeeded, failed, running, pending, in that order) and the failures counted against
 * MaxErrors. The limit is `failed + errorsLeft` when the API gives errorsLeft, else MaxErrors resolved here.
 *
 * @example
 * childrenProgress({ total: 10, success: 6, failed: 1, running: 2, pending: 1, maxConcurrency: '2', maxErrors: '1' }).label
 * // '1 failed of 1 allowed (MaxErrors 1)'
 */
export function childrenProgress(c: Children): ChildrenProgress {
  const total = Math.max(c.total, c.success + c.failed + c.running + c.pending, 0);
  const pct = (n: number) => (total === 0 ? 0 : Math.round((n / total) * 1000) / 10);
  const segments: Segment[] = (['success', 'failed', 'running', 'pending'] as const).map((kind) => ({ kind, count: c[kind], percent: pct(c[kind]) }));
  const errorLimit = typeof c.errorsLeft === 'number' ? c.failed + c.errorsLeft : errorLimitOf(c.maxErrors, total);
  const done = c.success + c.failed;
  return {
    segments,
    done,
    percentDone: pct(done),
    errorLimit,
    exceeded: c.failed > errorLimit,
    label: `${c.failed} failed of ${errorLimit} allowed (MaxErrors ${String(c.maxErrors)})`,
  };
}
