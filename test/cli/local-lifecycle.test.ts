import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';
import { OPSAUTO_BIN } from '../helpers/cli.js';

/**
 * `npm start` / `opsauto local` as an operator runs them: stopped by a signal to npm or to the stage itself, refused
 * on a data directory another stage holds or on a busy port. Everything waits on what the processes print and on
 * their exit, never on a fixed time.
 */

const GENEROUS_MS = 60_000;
const dirs: string[] = [];
const running: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsauto-lifecycle-'));
  dirs.push(dir);
  return dir;
}

interface Started {
  child: ChildProcess;
  /** Everything printed so far (standard output and error together). */
  output(): string;
  /** Resolves when the output matches; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(command: string, args: string[], env: Record<string, string> = {}): Started {
  // Ports 0: the stage picks free ones and prints them.
  const child = spawn(command, args, { cwd: projectRoot, env: { ...process.env, LOCALCLOUD_PORT: '0', API_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(text);
        if (match) {
          listeners.delete(check);
          resolve(match);
        }
      };
      listeners.add(check);
      check();
      void exited.then(() => {
        if (listeners.has(check)) reject(new Error(`exited before printing ${pattern}:\n${text}`));
      });
    });
  return { child, output: () => text, waitFor, exited };
}

/** The stage's AWS endpoint and HTTP API ports, from its "is up" lines. */
async function portsOf(stage: Started): Promise<{ endpoint: number; api: number }> {
  await stage.waitFor(/opsauto local stage is up/);
  const endpoint = await stage.waitFor(/AWS endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/);
  const api = await stage.waitFor(/HTTP API\s+http:\/\/127\.0\.0\.1:(\d+)/);
  return { endpoint: Number(endpoint[1]), api: Number(api[1]) };
}

/** True when something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('stopping the local stage', () => {
  it('SIGTERM to the npm process of `npm start` stops the stage: it says so, its ports close, its lock is released', { timeout: GENEROUS_MS * 2 }, async () => {
    const dataDir = join(tempDir(), 'state');
    const stage = start('npm', ['start', '--', '--data-dir', dataDir, '--no-seed']);
    const { endpoint, api } = await portsOf(stage);
    expect(await listening(endpoint)).toBe(true);
    expect(existsSync(join(dataDir, 'localcloud.lock'))).toBe(true);

    stage.child.kill('SIGTERM'); // npm's own PID, as `kill <pid of npm start>` does
    await stage.waitFor(new RegExp(`opsauto local stage stopped \\(.+\\); state kept in ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The stage's node process exits after printing the line: wait until both ports refuse.
    const deadline = Date.now() + GENEROUS_MS;
    while ((await listening(endpoint)) || (await listening(api))) {
      if (Date.now() > deadline) throw new Error(`ports ${endpoint}/${api} still open after the stage said it stopped`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(existsSync(join(dataDir, 'localcloud.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'state.json'))).toBe(true);
  });

  it('a second stage on the same data directory is refused naming the first one\'s PID; a busy port is named with its option; SIGINT stops the first', { timeout: GENEROUS_MS * 2 }, async () => {
    const dataDir = join(tempDir(), 'state');
    const first = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', dataDir, '--no-seed']);
    const { endpoint, api } = await portsOf(first);

    const second = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', dataDir, '--no-seed']);
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(`the data directory ${dataDir} is in use by a running local stage (PID ${first.child.pid}, `);
    expect(second.output()).not.toMatch(/\n\s+at /); // no stack trace

    const otherDir = join(tempDir(), 'other');
    const busyEndpoint = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', otherDir, '--no-seed'], { LOCALCLOUD_PORT: String(endpoint) });
    expect((await busyEndpoint.exited).code).toBe(1);
    expect(busyEndpoint.output()).toContain(`opsauto: port ${endpoint} (AWS endpoint) is already in use on 127.0.0.1, by another local stage or another program: choose another with --port or LOCALCLOUD_PORT`);
    const busyApi = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', otherDir, '--no-seed'], { API_PORT: String(api) });
    expect((await busyApi.exited).code).toBe(1);
    expect(busyApi.output()).toContain(`port ${api} (HTTP API) is already in use`);
    expect(busyApi.output()).toContain('--api-port or API_PORT');
    // Refused before anything was written.
    expect(existsSync(otherDir)).toBe(false);

    first.child.kill('SIGINT');
    await first.waitFor(/opsauto local stage stopped \(SIGINT\); state kept in /);
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(await listening(endpoint)).toBe(false);
  });

  it('a stale lock (its stage killed) is taken over with a note', { timeout: GENEROUS_MS * 2 }, async () => {
    const dataDir = join(tempDir(), 'state');
    const killed = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', dataDir, '--no-seed']);
    await portsOf(killed);
    killed.child.kill('SIGKILL'); // no chance to release the lock
    await killed.exited;
    expect(existsSync(join(dataDir, 'localcloud.lock'))).toBe(true);

    const next = start(process.execPath, [OPSAUTO_BIN, 'local', '--data-dir', dataDir, '--no-seed']);
    await portsOf(next);
    expect(next.output()).toContain(`took over ${dataDir}: the stage that held it (PID ${killed.child.pid}) is no longer running`);
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
    expect(next.output()).toMatch(/stage stopped \(SIGTERM\)/);
  });
});
