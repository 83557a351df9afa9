/**
 * One virtual clock for the emulator and the handlers it runs: real time plus an offset that only moves forward
 * (`advance`) or jumps (`set`). Timers are kept on virtual time and run by `runDue()`, which the server calls
 * on a real-time tick and right after every clock change, so "advance 46 days" runs 46 days of due work at once.
 */
export class VirtualClock {
  private offsetMs = 0;
  private timers: { at: number; seq: number; run: () => void | Promise<void> }[] = [];
  private seq = 0;
  private readonly listeners = new Set<(offsetMs: number) => void>();

  constructor(private readonly realNow: () => number = Date.now) {}

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return this.realNow() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  setOffset(ms: number): void {
    this.offsetMs = ms;
    for (const l of this.listeners) l(ms);
  }

  /**
   * Moves the clock forward by `ms`, stopping at every timer due on the way: while a timer runs the clock reads
   * its due time, and `between` runs after each one (localcloud waits there for the invocations it started).
   * So a 46-day jump runs a daily job 46 times, each on its own day.
   */
  async advance(ms: number, between: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance takes a non-negative duration');
    await this.advanceTo(this.nowMs() + ms, between);
  }

  /** Jumps to `at`; forward jumps run due timers on the way, as `advance` does. */
  async set(at: Date, between: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    if (Number.isNaN(at.getTime())) throw new RangeError('set takes a valid ISO-8601 time');
    if (at.getTime() > this.nowMs()) await this.advanceTo(at.getTime(), between);
    else this.setOffset(at.getTime() - this.realNow());
  }

  private async advanceTo(target: number, between: () => Promise<void>): Promise<void> {
    for (;;) {
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      if (next.at > this.nowMs()) this.setOffset(next.at - this.realNow());
      await next.run();
      await between();
    }
    if (target > this.nowMs()) this.setOffset(target - this.realNow());
  }

  onChange(listener: (offsetMs: number) => void): void {
    this.listeners.add(listener);
  }

  /** Runs `run` once the virtual time reaches `at`. */
  at(at: Date | number, run: () => void | Promise<void>): void {
    this.timers.push({ at: typeof at === 'number' ? at : at.getTime(), seq: this.seq++, run });
  }

  /** Drops every timer (a reset); owners re-arm what they still need. */
  clearTimers(): void {
    this.timers = [];
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Runs every timer that is due, in time order, including timers that due work schedules for the past. */
  async runDue(): Promise<number> {
    let ran = 0;
    for (;;) {
      const now = this.nowMs();
      const due = this.timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
      if (due.length === 0) return ran;
      this.timers = this.timers.filter((t) => !due.includes(t));
      for (const t of due) {
        await t.run();
        ran++;
      }
    }
  }
}

/** Parses an ISO-8601 duration (`P46D`, `PT2H30M`) or a short form (`46d`, `2h`, `90s`, `1500ms`) into ms. */
export function parseDuration(text: string): number {
  const short = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (short) {
    const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[short[2] as 'ms'];
    return Number(short[1]) * unit;
  }
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (iso && text.trim() !== 'P' && !text.trim().endsWith('T')) {
    const [, w, d, h, m, s] = iso.map((v) => Number(v ?? 0));
    return ((((w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60e3 + (s ?? 0) * 1e3;
  }
  throw new RangeError(`not a duration: ${JSON.stringify(text)} (use ISO-8601 like P46D or PT2H, or 46d, 2h, 90s)`);
}
