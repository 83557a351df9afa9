import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerCommands } from './lazy-commands.js';

// The SDK is pinned below its Node 22 cut-off on purpose (see README); its reminder is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// packages/cli/package.json: one folder up from src/ and from the build in dist/ alike.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('opsauto')
  .description('opsauto: serverless operations backend for AWS fleets')
  .version(version, '-V, --version', 'print the version of opsauto')
  .option('--stage <name>', 'the stage to act on (local = the local stage on localcloud)', 'local')
  .option('--endpoint <url>', 'localcloud URL for the local stage (env LOCALCLOUD_URL; default http://127.0.0.1:4566)')
  .option('--json', 'print results as JSON')
  .showHelpAfterError();

try {
  await registerCommands(program, process.argv.slice(2));
  await program.parseAsync();
} catch (e: unknown) {
  console.error(`opsauto: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
