import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const STATE_FORMAT = 'localcloud-state';
export const STATE_VERSION = 1;

interface StateFile {
  format: typeof STATE_FORMAT;
  version: number;
  clockOffsetMs: number;
  services: Record<string, Record<string, Record<string, unknown>>>;
}

export class StateFileError extends Error {
  override name = 'StateFileError';
}

/**
 * Service state, separate per account and region, as plain JSON so that it persists as one file.
 * Writes are debounced; `flush()` writes now. A file that is not ours or of another version is reported
 * and left untouched.
 */
export class Store {
  private services: StateFile['services'] = {};
  clockOffsetMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly file: string | undefined) {}

  /** Loads the state file; returns false when there is none. */
  load(): boolean {
    if (!this.file || !existsSync(this.file)) return false;
    let parsed: StateFile;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8')) as StateFile;
    } catch (e) {
      throw new StateFileError(`${this.file} is not valid JSON (${(e as Error).message}); it was left as it is: start with --fresh to begin empty`);
    }
    if (parsed?.format !== STATE_FORMAT || parsed.version !== STATE_VERSION) {
      throw new StateFileError(
        `${this.file} is not a localcloud state file of version ${STATE_VERSION} (found format ${String(parsed?.format)}, version ${String(parsed?.version)}); it was left as it is: start with --fresh to begin empty`,
      );
    }
    this.services = parsed.services;
    this.clockOffsetMs = parsed.clockOffsetMs;
    return true;
  }

  /** The state of one service in one account and region, created by `init` on first use. */
  scope<T>(service: string, account: string, region: string, init: () => T): T {
    const byAccount = (this.services[service] ??= {});
    const byRegion = (byAccount[account] ??= {});
    return (byRegion[region] ??= init()) as T;
  }

  /** Every region's state of a service, for work that spans regions (lifecycle timers, seeding). */
  all<T>(service: string): { account: string; region: string; state: T }[] {
    return Object.entries(this.services[service] ?? {}).flatMap(([account, regions]) =>
      Object.entries(regions).map(([region, state]) => ({ account, region, state: state as T })),
    );
  }

  reset(): void {
    this.services = {};
    this.clockOffsetMs = 0;
    this.changed();
  }

  changed(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => this.flush(), 100);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const data: StateFile = { format: STATE_FORMAT, version: STATE_VERSION, clockOffsetMs: this.clockOffsetMs, services: this.services };
    writeFileSync(`${this.file}.tmp`, JSON.stringify(data));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
