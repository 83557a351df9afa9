import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { format, promisify } from 'node:util';
import { projectRoot } from '../../packages/cli/src/project.js';
import { runCli } from '../../packages/cli/src/program.js';

const run = promisify(execFile);

/** The built `opsauto` command. */
export const OPSAUTO_BIN = join(projectRoot, 'packages/cli/bin/opsauto.mjs');

/** What one command printed, and how it ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The output of the in-process command running in this async context. Kept on globalThis: test files share a worker
 * process (test/setup.ts), and the patched console must find the same store whichever file's copy of this module
 * patched it.
 */
const CURRENT = Symbol.for('opsauto.test.cliOutput');
const shared = globalThis as { [CURRENT]?: AsyncLocalStorage<{ stdout: string[]; stderr: string[] }> };
const current = (shared[CURRENT] ??= new AsyncLocalStorage<{ stdout: string[]; stderr: string[] }>());
/** Marks a write or console function that routes (vitest gives each file its own console, which is patched again). */
const ROUTES = Symbol.for('opsauto.test.routes');

/**
 * Sends what the console and process.stdout/stderr receive inside `current` to that run's buffers, and everything
 * else where it went before. Vitest's own console stays underneath for the test's output.
 */
function routeOutput(): void {
  for (const [stream, key] of [
    [process.stdout, 'stdout'],
    [process.stderr, 'stderr'],
  ] as const) {
    if ((stream.write as { [ROUTES]?: true })[ROUTES]) continue;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = Object.assign(
      (chunk: unknown, ...rest: unknown[]) => {
        const buffers = current.getStore();
        if (!buffers) return write(chunk, ...rest);
        buffers[key].push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      },
      { [ROUTES]: true as const },
    ) as typeof stream.write;
  }
  for (const [level, key] of [
    ['log', 'stdout'],
    ['info', 'stdout'],
    ['debug', 'stdout'],
    ['warn', 'stderr'],
    ['error', 'stderr'],
  ] as const) {
    if ((console[level] as { [ROUTES]?: true })[ROUTES]) continue;
    const original = console[level].bind(console);
    console[level] = Object.assign(
      (...args: unknown[]) => {
        const buffers = current.getStore();
        if (buffers) buffers[key].push(`${format(...args)}\n`);
        else original(...args);
      },
      { [ROUTES]: true as const },
    );
  }
}

/**
 * Runs the command line in this process, as `opsauto` would (same commands, same parsing, same exit code), with
 * its output captured: a tenth of a second where a fresh process takes most of a second. Environment overrides are
 * set for the run and put back after it; runs must not overlap when they override the environment.
 */
export async function runInProcess(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  routeOutput();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const buffers = { stdout: [] as string[], stderr: [] as string[] };
  try {
    const code = await current.run(buffers, () => runCli(args));
    return { code, stdout: buffers.stdout.join(''), stderr: buffers.stderr.join('') };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs the built command in a fresh process (what a user runs; for the tests of start-up, exit and the binary). */
export async function runSpawned(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [OPSAUTO_BIN, ...args], { cwd: projectRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout, stderr } = e as { code: unknown; stdout?: string; stderr?: string };
    if (typeof code !== 'number') throw e;
    return { code, stdout: stdout ?? '', stderr: stderr ?? '' };
  }
}

/**
 * The CLI against a localcloud (`endpoint()` is read at each call: the stage starts after this is made), run in this
 * process (runInProcess), with everything it printed kept in `printed`, so that a test can check no secret ever
 * appeared.
 *
 * @example
 * const { opsauto, opsautoJson, printed } = cliAgainst(() => stage.cloud.url);
 * await opsauto('params', 'expiring');
 */
export function cliAgainst(endpoint: () => string, options: { env?: Record<string, string> } = {}) {
  const printed: string[] = [];
  const exec = async (args: string[]): Promise<CliRun> => {
    const result = await runInProcess(['--endpoint', endpoint(), ...args], options.env);
    printed.push(result.stdout, result.stderr);
    return result;
  };
  /** Runs a command that must succeed: its standard output. */
  const opsauto = async (...args: string[]): Promise<string> => {
    const result = await exec(args);
    if (result.code !== 0) throw new Error(`opsauto ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  const opsautoJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await opsauto('--json', ...args)) as T;
  /** Runs a command that must fail: its exit code, standard output and standard error. */
  const opsautoFails = async (...args: string[]): Promise<CliRun> => {
    const result = await exec(args);
    if (result.code === 0) throw new Error(`opsauto ${args.join(' ')} succeeded`);
    return result;
  };
  return { opsauto, opsautoJson, opsautoFails, printed };
}
