import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './lazy-commands.js';

// packages/cli/package.json: one folder up from src/ and from the build in dist/ alike.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Runs one `opsauto` command line (argv without node and the script) and resolves to its exit code: 0, commander's
 * code for a usage error or help (it has printed the message), or 1 for an error a command threw (printed here as
 * `opsauto: <message>`). It never exits the process, so the tests run it in their own process.
 *
 * @example
 * process.exitCode = await runCli(['runbook', 'list', '--json']);
 */
export async function runCli(args: readonly string[]): Promise<number> {
  const program = new Command('opsauto')
    .description('opsauto: serverless operations backend for AWS fleets')
    .version(version, '-V, --version', 'print the version of opsauto')
    .option('--stage <name>', 'the stage to act on (local = the local stage on localcloud)', 'local')
    .option('--endpoint <url>', 'localcloud URL for the local stage (env LOCALCLOUD_URL; default http://127.0.0.1:4566)')
    .option('--json', 'print results as JSON')
    .showHelpAfterError()
    // Subcommands inherit this: commander throws instead of exiting, and the caller decides.
    .exitOverride();
  try {
    await registerCommands(program, args);
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (e: unknown) {
    if (e instanceof CommanderError) return e.exitCode;
    console.error(`opsauto: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
