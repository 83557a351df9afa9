import type { Command } from 'commander';

/** A module's registration function: adds its commands (with their options, subcommands and actions) to the program. */
type Register = (program: Command) => void;

interface LazyCommand {
  name: string;
  /** As `opsauto --help` and `opsauto <name> --help` show it (here only, so that help needs no module). */
  description: string;
  load: () => Promise<Register>;
}

/**
 * The top-level commands, in the order `opsauto --help` lists them. Each module is imported only when its
 * command runs (or its help is asked for): importing all of them pulls in the AWS SDK, dynalite and the
 * functions, which takes seconds, while `opsauto clock` needs none of it.
 */
export const LAZY_COMMANDS: readonly LazyCommand[] = [
  { name: 'local', description: 'start the local stage: localcloud, the functions with their triggers, and the HTTP API', load: async () => (await import('./commands/local.js')).localCommand },
  { name: 'status', description: 'the local stage: virtual time, functions and their triggers (schedules, rules, routes)', load: async () => (await import('./commands/control.js')).controlCommands },
  { name: 'invoke', description: 'invoke a function of the local stage synchronously and print its result', load: async () => (await import('./commands/control.js')).controlCommands },
  { name: 'clock', description: "read or move localcloud's virtual clock", load: async () => (await import('./commands/control.js')).controlCommands },
  { name: 'faults', description: 'inject throttling, errors and latency into localcloud', load: async () => (await import('./commands/control.js')).controlCommands },
  { name: 'failures', description: 'asynchronous invocations that failed after their retries (the local dead-letter queue)', load: async () => (await import('./commands/control.js')).controlCommands },
  { name: 'ami', description: 'AMI publisher: what each family publishes, and rollbacks', load: async () => (await import('./commands/ami.js')).amiCommands },
  { name: 'build', description: 'synthesise the stacks offline (sst build against localcloud); output in .sst/dist or --to', load: async () => (await import('./commands/build.js')).buildCommand },
  { name: 'volumes', description: 'stale-EBS scanner: findings, runs, and a scan now', load: async () => (await import('./commands/volumes.js')).volumeCommands },
  { name: 'automations', description: 'automations: what starts runbooks on schedules, events and Config rules; list, run now, remediations', load: async () => (await import('./commands/automations.js')).automationCommands },
  { name: 'params', description: 'Parameter Store: policies, notices sent, what expires or goes stale soon', load: async () => (await import('./commands/params.js')).registerParams },
  { name: 'tokens', description: 'enrollment tokens for on-premises servers: create (shown once), list, revoke', load: async () => (await import('./commands/tokens.js')).tokensCommands },
  { name: 'activations', description: 'hybrid activations issued to booting servers (the audit trail)', load: async () => (await import('./commands/tokens.js')).tokensCommands },
  { name: 'runbook', description: 'runbooks (SSM Automation documents): start, follow, list, signal', load: async () => (await import('./commands/runbook.js')).runbookCommands },
];

/**
 * The top-level command that `args` (argv without node and the script) names, as commander will read it: the
 * first word that is neither an option nor the value of one of the program's options taking a value. For
 * `help <command>`, the command whose help is asked for.
 */
export function requestedCommand(program: Command, args: readonly string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f) => f !== undefined)));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return args[i + 1];
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg === 'help' ? (requestedCommand(program, args.slice(i + 1)) ?? arg) : arg;
  }
  return undefined;
}

/**
 * Registers every top-level command on `program`: the one `args` asks for in full (its module imported now),
 * the others by name and description only, for the help listing and commander's suggestions.
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const wanted = requestedCommand(program, args);
  const entry = LAZY_COMMANDS.find((c) => c.name === wanted);
  if (entry) (await entry.load())(program);
  for (const { name, description } of LAZY_COMMANDS) {
    const loaded = program.commands.find((c) => c.name() === name);
    if (loaded) {
      loaded.description(description);
      continue;
    }
    program
      .command(name)
      .description(description)
      // Never runs: argv names this command only when its module was loaded above.
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new Error(`internal error: the ${name} command was not loaded`);
      });
  }
}
