import { DynamoNoticeStore } from '@opsauto/aws';
import type { Command } from 'commander';
import { print } from '../output.js';
import { stageContext } from '../stage-context.js';

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--limit must be a whole number from 1 to 1000 (got ${value})`);
  return n;
}

/** The program a subcommand hangs from (its options: --stage, --endpoint, --json). */
function rootOf(command: Command): Command {
  let c = command;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * `opsauto params notifications [--parameter <name>] [--limit N]`: the notices sent about parameters (newest due
 * first), from the table the policy-event function and the sweep write; `--expired`: the parameters Parameter Store
 * deleted at their Expiration, with their last version as opsauto last saw it. Attach it to the `params` command.
 *
 * @example
 * addNotificationsCommand(program.command('params'));
 */
export function addNotificationsCommand(params: Command): void {
  params
    .command('notifications')
    .description('notices sent about parameters, newest due first; --expired: what Parameter Store deleted at expiry')
    .option('--parameter <name>', "only this parameter's notices")
    .option('--expired', 'list the parameters Parameter Store deleted at their Expiration policy, newest first')
    .option('--limit <n>', 'at most this many (1-1000)', '20')
    .action(async (opts: { parameter?: string; expired?: boolean; limit: string }) => {
      const program = rootOf(params);
      const limit = limitOf(opts.limit);
      if (opts.expired && opts.parameter !== undefined) throw new Error('--expired lists every deleted parameter: use it without --parameter');
      const { clients, tableName } = await stageContext(program);
      const store = new DynamoNoticeStore(clients, tableName);
      if (opts.expired) {
        const expired = await store.listExpired({ limit });
        const json = program.opts<{ json?: boolean }>().json;
        const rows = json
          ? expired
          : expired.map((e) => ({
              deletedAt: e.deletedAt,
              parameter: e.parameter,
              policy: e.policy,
              lastVersion: e.lastVersion ? `v${e.lastVersion.version} ${e.lastVersion.type} ${e.lastVersion.tier}, changed ${e.lastVersion.lastModifiedDate}` : 'never seen by opsauto',
            }));
        print(rows, program, ['deletedAt', 'parameter', 'policy', 'lastVersion']);
        return;
      }
      const notices = await store.list({ ...(opts.parameter !== undefined ? { parameter: opts.parameter } : {}), limit });
      print(notices, program, ['dueAt', 'parameter', 'kind', 'status', 'sentAt', 'via', 'channel', 'policy']);
    });
}
