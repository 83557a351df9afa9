import { SsmParameterCatalog } from '@opsauto/aws';
import { expiringParameters, parseSpan, spanMs, type ExpiringRow } from '@opsauto/core';
import type { Command } from 'commander';
import { print } from '../output.js';
import { stageContext, type GlobalOptions, type StageContext } from '../stage-context.js';

/** The root program of a subcommand (its global options: --stage, --endpoint, --json). */
function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** A row as the table prints it: times to the minute, in UTC. */
function tableRow(r: ExpiringRow): Record<string, string> {
  const at = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '');
  return { parameter: r.parameter, kind: r.kind, due: at(r.dueAt), expires: at(r.expiresAt), policy: r.policy, owner: r.owner };
}

/**
 * `opsauto params expiring [--within 30d] [--json]`: what expires or goes stale within the span, from the daily
 * sweep's own computation (advanced parameters' policies, standard parameters' expiry tag). Reads only: it never sends
 * a notice. `context` is the stage's (injected by tests).
 *
 * @example
 * const params = program.command('params');
 * addExpiringCommand(params);
 * // opsauto params expiring --within 14d
 */
export function addExpiringCommand(params: Command, context: (program: Command) => Promise<Pick<StageContext, 'config' | 'clients' | 'clock'>> = stageContext): Command {
  return params
    .command('expiring')
    .description('parameters whose expiry, reminders or no-change deadline fall within a span (default: parameterExpiry.digestDays)')
    .option('--within <span>', 'how far ahead, in days or hours: 30d, 12h')
    .action(async (opts: { within?: string }, command: Command) => {
      const root = rootOf(command);
      const { config, clients, clock } = await context(root);
      const within = parseSpan(opts.within ?? `${config.parameterExpiry.digestDays}d`, '--within');
      const rows = await expiringParameters(new SsmParameterCatalog(clients), config.parameterExpiry, clock.now(), spanMs(within));
      if (root.opts<GlobalOptions>().json) {
        print(rows, root);
        return;
      }
      if (rows.length === 0) {
        console.log(`nothing expires or goes stale within ${opts.within ?? `${config.parameterExpiry.digestDays}d`}`);
        return;
      }
      print(rows.map(tableRow), root, ['parameter', 'kind', 'due', 'expires', 'policy', 'owner']);
    });
}
