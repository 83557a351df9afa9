import { AccountClients, ownAccountId, staleVolumeAdapters } from '@opsauto/aws';
import { NotFoundError, scanTargets, staleVolumeFindings, type ScanRunSummary, type StaleVolumeDeps } from '@opsauto/core';
import type { Command } from 'commander';
import { ControlClient, localcloudUrl } from '../control-client.js';
import { print } from '../output.js';
import { LOCAL_STAGE, stageContext, type GlobalOptions } from '../stage-context.js';

/** The scanner's adapters for the chosen stage (localcloud for `local`), and the account it runs in. */
async function deps(program: Command): Promise<{ deps: StaleVolumeDeps; ownAccount: string }> {
  const { config, settings, clients, tableName, clock } = await stageContext(program);
  const ownAccount = await ownAccountId(clients);
  const accounts = new AccountClients(clients, { ownAccount, roles: config.staleVolumes.accounts, settings, now: () => clock.now().getTime() });
  return { deps: { config, clock, ...staleVolumeAdapters(accounts, clients, tableName, clock) }, ownAccount };
}

const summaryColumns = ['account', 'region', 'scanned', 'newlyUnattached', 'stale', 'filed', 'alreadyFiled', 'resolved', 'skippedByTag', 'leftForNextRun', 'errors'];
const summaryRows = (s: ScanRunSummary) => s.regions.map((r) => ({ ...r, errors: r.errors.join('; ') }));

export function volumeCommands(program: Command): void {
  const volumes = program.command('volumes');

  volumes
    .command('remediate <volumeId>')
    .description("delete a stale volume (with --snapshot: snapshot it first) through its declared automation; its OpsItem is resolved when that succeeds")
    .option('--snapshot', 'snapshot the volume before deleting it (automation stale-volume-remediation; default stale-volume-delete)')
    .action(async (volumeId: string, opts: { snapshot?: boolean }) => {
      const name = opts.snapshot ? 'stale-volume-remediation' : 'stale-volume-delete';
      const { deps: d, ownAccount } = await deps(program);
      if (!d.config.automations.some((a) => a.name === name)) throw new NotFoundError(`the config declares no automation ${name}, which volumes remediate runs`);
      let filed: { opsItemId?: string; region: string } | undefined;
      for (const { account, region } of scanTargets(d.config, ownAccount)) {
        if (account !== ownAccount) continue;
        const record = (await d.store.listRecords(account, region)).find((r) => r.volumeId === volumeId);
        if (record) filed = { opsItemId: record.opsItemId, region };
      }
      if (!filed?.opsItemId) throw new NotFoundError(`volume ${volumeId} has no OpsItem filed by the stale-volume scan in this account (opsauto volumes stale lists them)`);
      const { runAutomation } = await import('./automations.js');
      await runAutomation(program, name, { event: { opsItem: { id: filed.opsItemId } }, region: filed.region });
    });

  volumes
    .command('scan')
    .description('run the stale-volume scan now on the local stage (it also runs on its daily schedule)')
    .option('--dry-run', 'show what would be filed and resolved; change nothing')
    .action(async (opts: { dryRun?: boolean }) => {
      const { stage } = program.opts<GlobalOptions>();
      if (stage !== LOCAL_STAGE) throw new Error(`volumes scan runs the local stage's function; on stage ${stage}, invoke the deployed stale-volume-scan function (it also runs on its schedule)`);
      const out = await new ControlClient(localcloudUrl(program.opts<GlobalOptions>().endpoint)).request<{ summary: ScanRunSummary; plan?: unknown[] }>(
        'POST',
        'invoke/stale-volume-scan',
        { dryRun: Boolean(opts.dryRun) },
      );
      if (program.opts<GlobalOptions>().json) return print(out, program);
      print(summaryRows(out.summary), program, summaryColumns);
      for (const region of (out.plan ?? []) as { account: string; region: string; wouldFile: { title: string }[]; wouldResolve: { volumeId: string; note: string }[] }[]) {
        for (const f of region.wouldFile) console.log(`would file   ${region.account}/${region.region}  ${f.title}`);
        for (const r of region.wouldResolve) console.log(`would resolve ${region.account}/${region.region}  ${r.volumeId}: ${r.note}`);
      }
    });

  volumes
    .command('stale')
    .description('volumes unattached long enough to be findings, with their estimated monthly cost')
    .option('--all', 'also list volumes unattached for less than the threshold')
    .action(async (opts: { all?: boolean }) => {
      const { deps: d, ownAccount } = await deps(program);
      const rows = (await staleVolumeFindings(d, ownAccount, d.clock.now(), opts.all)).map(({ record: r, volume: v, daysUnattached: days, monthlyCostUsd }) => ({
        account: r.account,
        region: r.region,
        volumeId: r.volumeId,
        name: v?.tags.Name ?? '',
        size: v ? `${v.sizeGiB} GiB ${v.type}` : 'gone',
        days,
        monthlyUSD: v ? monthlyCostUsd.toFixed(2) : '',
        status: r.status,
        opsItemId: r.opsItemId ?? '',
      }));
      print(rows, program, ['account', 'region', 'volumeId', 'name', 'size', 'days', 'monthlyUSD', 'status', 'opsItemId']);
    });

  volumes
    .command('runs')
    .description('the last scans and what each did')
    .option('--limit <n>', 'how many runs', '5')
    .action(async (opts: { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new Error(`--limit must be a whole number from 1 to 100 (got ${opts.limit})`);
      const { deps: d } = await deps(program);
      const runs = await d.store.listRuns(limit);
      if (program.opts<GlobalOptions>().json) return print(runs, program);
      for (const run of runs) {
        console.log(`run ${run.runId} ${run.startedAt} -> ${run.finishedAt}`);
        print(summaryRows(run), program, summaryColumns);
      }
    });
}
