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

/**
 * A map keyed by data (ids, names, regions from requests): it has no prototype, so a key like `__proto__` or
 * `constructor` is a key like any other rather than a path into Object.prototype.
 */
export function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `value` with every plain object in it (deeply) turned into a dictionary; arrays and other values kept. */
function asDictionaries<T>(value: T): T {
  if (Array.isArray(value)) return value.map(asDictionaries) as T;
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out = dictionary<unknown>();
  for (const [k, v] of Object.entries(value)) out[k] = asDictionaries(v);
  return out as T;
}

/** JSON.parse's reviver that makes every object of the state file a dictionary. */
const reviveDictionaries = (_key: string, value: unknown): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.assign(dictionary(), value) : value;

/** The own entry `key` of `map`, created by `init` when absent (never one inherited from a prototype). */
function ownEntry<T>(map: Record<string, T>, key: string, init: () => T): T {
  if (!Object.hasOwn(map, key)) Object.defineProperty(map, key, { value: init(), enumerable: true, writable: true, configurable: true });
  return map[key];
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
  private services: StateFile['services'] = dictionary();
  clockOffsetMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly file: string | undefined) {}

  /**
   * Loads the state file; returns false when there is none. A file that is not JSON, not a localcloud state file,
   * or of another version throws StateFileError, and is left as it is: nothing is written until the caller starts
   * afresh (`--fresh`), so the user can look at it or move it away first.
   */
  load(): boolean {
    if (!this.file || !existsSync(this.file)) return false;
    const file = this.file;
    const refuse = (why: string) => new StateFileError(`${file} ${why}; it was left as it is: start with --fresh to begin empty (and overwrite it), or move it away`);
    let parsed: Partial<StateFile>;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'), reviveDictionaries) as Partial<StateFile>;
    } catch (e) {
      throw refuse(`is not valid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || parsed.format !== STATE_FORMAT) {
      throw refuse(`is not a localcloud state file (no "format": "${STATE_FORMAT}")`);
    }
    if (parsed.version !== STATE_VERSION) {
      const found = typeof parsed.version === 'number' ? parsed.version : NaN;
      const whose = found < STATE_VERSION ? 'an older' : found > STATE_VERSION ? 'a newer' : 'an unknown';
      throw refuse(`was written by ${whose} localcloud (state version ${String(parsed.version)}; this one reads version ${STATE_VERSION})`);
    }
    if (typeof parsed.services !== 'object' || parsed.services === null || Array.isArray(parsed.services) || typeof parsed.clockOffsetMs !== 'number') {
      throw refuse('is damaged (its "services" or "clockOffsetMs" is missing or of the wrong type)');
    }
    this.services = parsed.services;
    this.clockOffsetMs = parsed.clockOffsetMs;
    return true;
  }

  /**
   * The state of one service in one account and region, created by `init` on first use. Its objects are
   * dictionaries (see `dictionary`), so the maps a service keeps by name or id treat every key as data.
   */
  scope<T>(service: string, account: string, region: string, init: () => T): T {
    const byAccount = ownEntry(this.services, service, () => dictionary<Record<string, unknown>>());
    const byRegion = ownEntry(byAccount, account, () => dictionary<unknown>());
    return ownEntry(byRegion, region, () => asDictionaries(init())) as T;
  }

  /** Every region's state of a service, for work that spans regions (lifecycle timers, seeding). */
  all<T>(service: string): { account: string; region: string; state: T }[] {
    return Object.entries(this.services[service] ?? {}).flatMap(([account, regions]) =>
      Object.entries(regions).map(([region, state]) => ({ account, region, state: state as T })),
    );
  }

  reset(): void {
    this.services = dictionary();
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
