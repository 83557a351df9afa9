import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertDataDirFree, assertPortsFree, DataDirInUseError, LOCK_FILE, PortInUseError, type Localcloud } from '@opsauto/localcloud';
import { lockDataDir } from '../../packages/localcloud/src/data-dir-lock.js';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';

/** A process that runs until killed: a PID that is alive and not ours. */
function otherProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

/** The PID of a process that has already ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

describe('data directory lock', () => {
  let dir: string;
  let other: ChildProcess | undefined;
  const clouds: Localcloud[] = [];
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'localcloud-lock-')), '.localcloud');
  });
  afterEach(async () => {
    other?.kill('SIGKILL');
    other = undefined;
    for (const cloud of clouds.splice(0)) await cloud.stop();
    await removeDir(join(dir, '..'));
  });

  it('is taken atomically with the PID and ports, refused to another running process, released once', () => {
    // Act: take it, as a stage with its two ports does.
    const lock = lockDataDir(dir, { 'AWS endpoint': 4566, 'HTTP API': 3000 });
    const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;
    expect(holder).toMatchObject({ pid: process.pid, ports: { 'AWS endpoint': 4566, 'HTTP API': 3000 } });
    expect(lock.tookOverFrom).toBeUndefined();
    lock.release();
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    // A lock held by another running process: refused, naming it, and left in place.
    other = otherProcess();
    const theirs = JSON.stringify({ pid: other.pid, ports: { 'AWS endpoint': 4570, 'HTTP API': 3004 }, startedAt: '2026-12-03T00:00:00.000Z' });
    writeFileSync(join(dir, LOCK_FILE), theirs);
    const refused = (() => {
      try {
        lockDataDir(dir, { 'AWS endpoint': 4566 });
      } catch (e) {
        return e;
      }
      throw new Error('expected the lock to be refused');
    })();
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as Error).message).toBe(
      `the data directory ${dir} is in use by a running local stage (PID ${other.pid}, AWS endpoint port 4570, HTTP API port 3004): ` +
        `stop that one first (Ctrl-C in its terminal, or kill ${other.pid}), or give this one another --data-dir. ` +
        `If PID ${other.pid} is not a local stage, delete ${join(dir, LOCK_FILE)}.`,
    );
    expect(() => assertDataDirFree(dir)).toThrow(DataDirInUseError);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(theirs);
  });

  it('a lock left by a process that no longer runs, or one that cannot be read, is taken over', () => {
    const gone = deadPid();
    const first = lockDataDir(dir, { 'AWS endpoint': 1 });
    first.release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: gone, ports: {}, startedAt: '' }));
    expect(() => assertDataDirFree(dir)).not.toThrow();
    const taken = lockDataDir(dir, { 'AWS endpoint': 4566 });
    expect(taken.tookOverFrom).toBe(gone);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    taken.release();

    writeFileSync(join(dir, LOCK_FILE), 'not json');
    const overUnreadable = lockDataDir(dir, { 'AWS endpoint': 4566 });
    expect(overUnreadable.tookOverFrom).toBeUndefined();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    overUnreadable.release();
  });

  it('localcloud holds its data directory while it runs: a second one is refused before touching it, the first keeps serving', async () => {
    const lines: string[] = [];
    const cloud = await startTestCloud({ dataDir: dir, log: (l) => lines.push(l) });
    clouds.push(cloud);
    const ssm = new SSMClient(clientConfig(cloud));
    await ssm.send(new PutParameterCommand({ Name: '/lock/kept', Value: 'v1', Type: 'String' }));
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, ports: { 'AWS endpoint': 0 } });

    // Another process's stage on the same directory: the lock names it (here: this process's lock seen from another PID).
    other = otherProcess();
    const ours = readFileSync(join(dir, LOCK_FILE), 'utf8');
    writeFileSync(join(dir, LOCK_FILE), ours.replace(`"pid":${process.pid}`, `"pid":${other.pid}`));
    await expect(startTestCloud({ dataDir: dir })).rejects.toThrow(`in use by a running local stage (PID ${other.pid}`);
    writeFileSync(join(dir, LOCK_FILE), ours);
    expect((await ssm.send(new GetParameterCommand({ Name: '/lock/kept' }))).Parameter?.Value).toBe('v1');
    ssm.destroy();

    await cloud.stop();
    clouds.splice(0);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(lines.some((l) => l.startsWith('took over'))).toBe(false);
  });

  it('a busy port is a PortInUseError naming it; localcloud then releases the data directory and its database', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      await expect(assertPortsFree([{ port: 0, what: 'AWS endpoint' }, { port, what: 'HTTP API' }])).rejects.toThrow(
        new PortInUseError(port, '127.0.0.1', 'HTTP API'),
      );
      const error = await startTestCloud({ dataDir: dir, port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toBe(`port ${port} (AWS endpoint) is already in use on 127.0.0.1, by another local stage or another program`);
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
      // dynalite's database was closed: the directory can be opened again at once.
      const cloud = await startTestCloud({ dataDir: dir });
      clouds.push(cloud);
      expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
