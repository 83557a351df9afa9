/** Where each step of an execution sits on its timeline (pure). */

export interface TimedStep {
  startedAt?: string;
  endedAt?: string;
}

export interface Bar {
  /** Offset from the execution's start, 0..100 (% of the span). */
  left: number;
  /** Width, 0..100; at least 0.5 so that an instant step stays visible. */
  width: number;
}

/**
 * Each step's bar on a timeline from `start` to `end` (the execution's end, or now while it runs); undefined for a
 * step that has not started. A step still running reaches `end`.
 *
 * @example
 * stepBars([{ startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:00:30Z' }, {}], '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')
 * // [{ left: 0, width: 50 }, undefined]
 */
export function stepBars(steps: readonly TimedStep[], start: string, end: string): (Bar | undefined)[] {
  const t0 = Date.parse(start);
  const span = Math.max(Date.parse(end) - t0, 1);
  const clamp = (n: number) => Math.min(100, Math.max(0, Math.round(n * 10) / 10));
  return steps.map((s) => {
    if (!s.startedAt || Number.isNaN(t0)) return undefined;
    const from = Date.parse(s.startedAt);
    const to = s.endedAt ? Date.parse(s.endedAt) : t0 + span;
    if (Number.isNaN(from) || Number.isNaN(to)) return undefined;
    const left = clamp(((from - t0) / span) * 100);
    return { left, width: Math.max(0.5, clamp(Math.min(100 - left, ((to - from) / span) * 100))) };
  });
}
