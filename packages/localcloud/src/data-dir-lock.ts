import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The lock file a running localcloud keeps in its data directory. */
export const LOCK_FILE = 'localcloud.lock';

/** What the lock file holds: who runs on the data directory, and on which ports. */
export interface LockHolder {
  pid: number;
  /** Ports by what they serve, e.g. `{ 'AWS endpoint': 4566, 'HTTP API': 3000 }`. */
  ports: Record<string, number>;
  startedAt: string;
}

/** A second localcloud on a data directory another one (still running) holds. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const ports = Object.entries(holder.ports)
      .map(([what, port]) => `${what} port ${port}`)
      .join(', ');
    super(
      `the data directory ${dataDir} is in use by a running local stage (PID ${holder.pid}${ports ? `, ${ports}` : ''}): ` +
        `stop that one first (Ctrl-C in its terminal, or kill ${holder.pid}), or give this one another --data-dir. ` +
        `If PID ${holder.pid} is not a local stage, delete ${join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** The PID of a holder that had stopped without releasing the lock, when this one took it over. */
  tookOverFrom?: number;
  /** Removes the lock file, if it is still ours. Idempotent. */
  release(): void;
}

/** True when a process with this PID runs (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file's holder, or undefined when there is no lock file; a file that cannot be read as one holds nothing. */
function readHolder(path: string): LockHolder | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * Throws {@link DataDirInUseError} when a running process holds the data directory; takes nothing. (A check before
 * ports are tried, so that a second `npm start` is told about the first rather than about a busy port.)
 *
 * @example
 * assertDataDirFree('.localcloud'); // throws: … in use by a running local stage (PID 4242, AWS endpoint port 4566) …
 */
export function assertDataDirFree(dataDir: string): void {
  const holder = readHolder(join(dataDir, LOCK_FILE));
  if (holder !== undefined && holder !== 'unreadable' && holder.pid !== process.pid && alive(holder.pid)) throw new DataDirInUseError(dataDir, holder);
}

/**
 * Takes the data directory for this process: creates `localcloud.lock` (PID, ports, start time) atomically (`wx`).
 * A lock whose process no longer runs (killed, crashed) is taken over; one held by a running process throws
 * {@link DataDirInUseError}, naming its PID and ports.
 *
 * @example
 * const lock = lockDataDir('.localcloud', { 'AWS endpoint': 4566 });
 * if (lock.tookOverFrom) log(`took over the lock left by PID ${lock.tookOverFrom}`);
 * // … on stop:
 * lock.release();
 */
export function lockDataDir(dataDir: string, ports: Record<string, number>): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, ports, startedAt: new Date().toISOString() };
  let tookOverFrom: number | undefined;
  // Twice at most: a stale lock is removed once, then the atomic create decides between racing stages.
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(path);
      if (holder === undefined) continue; // released meanwhile
      if (holder !== 'unreadable' && holder.pid !== process.pid && alive(holder.pid)) throw new DataDirInUseError(dataDir, holder);
      if (holder !== 'unreadable') tookOverFrom = holder.pid;
      unlinkIfPresent(path);
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(mine)}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      tookOverFrom,
      release() {
        if (released) return;
        released = true;
        const holder = readHolder(path);
        if (holder !== undefined && holder !== 'unreadable' && holder.pid === process.pid) unlinkIfPresent(path);
      },
    };
  }
  const holder = readHolder(path);
  if (holder !== undefined && holder !== 'unreadable') throw new DataDirInUseError(dataDir, holder);
  throw new Error(`could not take ${path}: another process keeps replacing it`);
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
