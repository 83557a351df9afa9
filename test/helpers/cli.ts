import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../packages/cli/src/project.js';

const run = promisify(execFile);

/** The built `opsauto` command. */
export const OPSAUTO_BIN = join(projectRoot, 'packages/cli/bin/opsauto.mjs');

/**
 * The built CLI against a localcloud (`endpoint()` is read at each call: the stage starts after this is made), with
 * everything it printed kept in `printed`, so that a test can check no secret ever appeared.
 *
 * @example
 * const { opsauto, opsautoJson, printed } = cliAgainst(() => stage.cloud.url);
 * await opsauto('params', 'expiring');
 */
export function cliAgainst(endpoint: () => string) {
  const printed: string[] = [];
  const opsauto = async (...args: string[]): Promise<string> => {
    const { stdout, stderr } = await run(process.execPath, [OPSAUTO_BIN, '--endpoint', endpoint(), ...args], { cwd: projectRoot });
    printed.push(stdout, stderr);
    return stdout;
  };
  const opsautoJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await opsauto('--json', ...args)) as T;
  /** Runs a command that must fail: its exit code, standard output and standard error. */
  const opsautoFails = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      await opsauto(...args);
    } catch (e) {
      const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
      printed.push(stdout, stderr);
      return { code, stdout, stderr };
    }
    throw new Error(`opsauto ${args.join(' ')} succeeded`);
  };
  return { opsauto, opsautoJson, opsautoFails, printed };
}
