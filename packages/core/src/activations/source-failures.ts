/**
 * Slowing down bad tokens: failed authentications (401) are counted per source IP and minute; a source past the
 * limit gets 429 for the rest of its minute, before its token is even looked at (docs/activations.md, "Slow-down").
 */

/** Failed authentications a source IP may make in one minute before it is refused (429) until the minute ends. */
export const BAD_TOKEN_LIMIT = 10;

/** The counting window (one minute). */
export const FAILURE_WINDOW_MS = 60_000;

/** Where failed authentications are counted: one counter per source IP and window, forgotten after the window. */
export interface SourceFailureCounter {
  /** Failures recorded for `sourceIp` in the window `windowStart` (epoch ms, a multiple of FAILURE_WINDOW_MS). */
  count(sourceIp: string, windowStart: number): Promise<number>;
  /** Records one failure in the window; returns the window's count after it. */
  add(sourceIp: string, windowStart: number): Promise<number>;
}

/**
 * The window `now` falls in: its start (the counter's key) and the whole seconds until it ends (Retry-After).
 *
 * @example
 * failureWindow(new Date('2027-01-01T00:00:42.500Z')) // { start: Date.parse('2027-01-01T00:00:00Z'), retryAfterSeconds: 18 }
 */
export function failureWindow(now: Date): { start: number; retryAfterSeconds: number } {
  const start = now.getTime() - (now.getTime() % FAILURE_WINDOW_MS);
  return { start, retryAfterSeconds: Math.max(1, Math.ceil((start + FAILURE_WINDOW_MS - now.getTime()) / 1000)) };
}

/** SourceFailureCounter in memory (tests; the DynamoDB counter's contract). */
export class InMemorySourceFailures implements SourceFailureCounter {
  private readonly counts = new Map<string, number>();

  count(sourceIp: string, windowStart: number): Promise<number> {
    return Promise.resolve(this.counts.get(`${sourceIp} ${windowStart}`) ?? 0);
  }

  add(sourceIp: string, windowStart: number): Promise<number> {
    const key = `${sourceIp} ${windowStart}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return Promise.resolve(count);
  }
}
