import { Command } from 'commander';
import { amiCommands } from './commands/ami.js';
import { buildCommand } from './commands/build.js';
import { volumeCommands } from './commands/volumes.js';
import { controlCommands } from './commands/control.js';
import { localCommand } from './commands/local.js';
import { runbookCommands } from './commands/runbook.js';
import { ControlClient, localcloudUrl } from './control-client.js';
import { print } from './output.js';

// The SDK is pinned below its Node 22 cut-off on purpose (see README); its reminder is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('opsauto')
  .description('opsauto: serverless operations backend for AWS fleets')
  .option('--stage <name>', 'the stage to act on (local = the local stage on localcloud)', 'local')
  .option('--endpoint <url>', 'localcloud URL for the local stage (env LOCALCLOUD_URL; default http://127.0.0.1:4566)')
  .option('--json', 'print results as JSON')
  .showHelpAfterError();

localCommand(program);
controlCommands(program);
amiCommands(program);
buildCommand(program);
volumeCommands(program);
runbookCommands(program);

program
  .command('status')
  .description('the local stage: clock, functions, rules, routes, schedules')
  .action(async () => print(await new ControlClient(localcloudUrl(program.opts<{ endpoint?: string }>().endpoint)).request('GET', 'health'), program));

program.parseAsync().catch((e: unknown) => {
  console.error(`opsauto: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
