/**
 * The longest forward move of the clock at once: 366 days. A move runs every timer due on the way, one after the
 * other (a 5-minute tick alone is 105,408 runs in a year), so a longer one would keep the emulator busy for many
 * minutes; move in several steps instead.
 */
export const MAX_ADVANCE_MS = 366 * 86_400_000;

/** Thrown when a move of the clock was cancelled (its caller went away): the clock stays where the move got to. */
export class ClockMoveCancelled extends Error {
  constructor(readonly reachedAt: Date) {
    super(`the clock move was cancelled at ${reachedAt.toISOString()}; the timers due before then ran`);
    this.name = 'ClockMoveCancelled';
  }
}

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
   * So a 46-day jump runs a daily job 46 times, each on its own day. At most MAX_ADVANCE_MS at once; `signal`
   * cancels the move between two timers (ClockMoveCancelled).
   */
  async advance(ms: number, between: () => Promise<void> = () => Promise.resolve(), signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance takes a non-negative duration');
    if (ms > MAX_ADVANCE_MS) throw new RangeError(`advance moves the clock at most 366 days (P366D) at once, not ${formatDays(ms)}: move in several steps`);
    await this.advanceTo(this.nowMs() + ms, between, signal);
  }

  /** Jumps to `at`; forward jumps (at most MAX_ADVANCE_MS) run due timers on the way, as `advance` does. */
  async set(at: Date, between: () => Promise<void> = () => Promise.resolve(), signal?: AbortSignal): Promise<void> {
    if (Number.isNaN(at.getTime())) throw new RangeError('set takes a valid ISO-8601 time');
    const ahead = at.getTime() - this.nowMs();
    if (ahead > MAX_ADVANCE_MS) throw new RangeError(`set moves the clock forward at most 366 days at once, not ${formatDays(ahead)}: move in several steps`);
    if (ahead > 0) await this.advanceTo(at.getTime(), between, signal);
    else this.setOffset(at.getTime() - this.realNow());
  }

  private async advanceTo(target: number, between: () => Promise<void>, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      if (signal) {
        // Timers that do no I/O never give the event loop a turn, and the abort (a socket closing) needs one.
        await new Promise((resolve) => setImmediate(resolve));
        if (signal.aborted) throw new ClockMoveCancelled(this.now());
        // Another move (a sleeping function's, or runDue) may have run it meanwhile.
        if (!this.timers.includes(next)) continue;
      }
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

function formatDays(ms: number): string {
  return `${Math.round((ms / 86_400_000) * 10) / 10} days`;
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
