import { AccountClients, ownAccountId, staleVolumeAdapters } from '@opsauto/aws';
import { isRegionBusy, isRegionFailure, scanFleet, staleVolumeScanInput, type StaleVolumeDeps } from '@opsauto/core';
import type { Context } from 'aws-lambda';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';

let accounts: AccountClients | undefined;

/** Clients per scanned account, kept for the life of the container (assumed-role sessions are reused). */
async function accountClients(context: Context): Promise<AccountClients> {
  accounts ??= new AccountClients(clients, {
    ownAccount: await ownAccountId(clients, context.invokedFunctionArn),
    roles: loadConfig().staleVolumes.accounts,
    now: () => systemClock.now().getTime(),
  });
  return accounts;
}

/**
 * The daily stale-EBS scan (schedule from `staleVolumes.schedule`). Invoked by hand with `{"dryRun": true}` it
 * answers what it would file and resolve, and changes nothing. Logs one structured summary per run.
 */
export const handler = eventHandler(staleVolumeScanInput, async (event, context) => {
  const config = loadConfig();
  const acc = await accountClients(context);
  const deps: StaleVolumeDeps = { config, clock: systemClock, ...staleVolumeAdapters(acc, clients, requireEnv('TABLE_NAME'), systemClock) };
  const dryRun = 'dryRun' in event && event.dryRun === true;
  // A schedule's execution ID survives Lambda's retries of that invocation; a manual run uses the request ID.
  const runId = 'id' in event ? event.id : context.awsRequestId;
  // The lease is this invocation's: Lambda's retries of it keep its request ID (and re-enter a lease it left), while
  // the same scheduled event delivered twice is two invocations, the second of which finds the region busy.
  const leaseHolder = `${runId}/${context.awsRequestId}`;
  // A scheduled scan observes at its scheduled time (exact, and the same on Lambda's retries of it).
  const scheduled = 'time' in event ? new Date(event.time) : undefined;
  const at = scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled : undefined;
  // Stop filing with a minute left: what was filed is recorded, the rest is left for the next run.
  const shouldStop = () => context.getRemainingTimeInMillis() < 60_000;
  const { summary, results } = await scanFleet(deps, { ownAccount: acc.ownAccount, runId, leaseHolder, dryRun, at, shouldStop });
  logger.info(dryRun ? 'stale volume scan (dry run)' : 'stale volume scan', { summary });
  // A dry run changes nothing: it is not counted.
  if (!dryRun) {
    count(METRIC_NAMES.volumesScanned, summary.totals.scanned);
    count(METRIC_NAMES.volumesStale, summary.totals.stale);
    count(METRIC_NAMES.opsItemsFiled, summary.totals.filed);
    count(METRIC_NAMES.opsItemsResolved, summary.totals.resolved);
    // A region left to an overlapping scan (busy) is that scan's to count.
    count(METRIC_NAMES.scanIncomplete, summary.regions.filter((r) => r.errors.some((e) => !isRegionBusy(e))).length);
  }
  for (const r of summary.regions.filter((x) => x.errors.length)) logger.warn('stale volume scan: region incomplete', { account: r.account, region: r.region, errors: r.errors });
  // A region that failed outright (not a limit or throttling, which the next run carries on from, nor a region another
  // scan was scanning) fails the invocation once the run is recorded, so that the Errors alarm and the failure queue show it.
  const failed = summary.regions.filter((r) => r.errors.some(isRegionFailure));
  if (failed.length && !dryRun) {
    throw new Error(`stale volume scan incomplete in ${failed.map((r) => `${r.account}/${r.region}`).join(', ')}: ${failed.flatMap((r) => r.errors).join('; ')}`);
  }
  if (!dryRun) return { summary };
  return {
    summary,
    plan: results.map((r) => ({
      account: r.summary.account,
      region: r.summary.region,
      wouldFile: r.filed.map((f) => ({ volumeId: f.volumeId, title: f.item.title, severity: f.item.severity })),
      wouldResolve: r.resolved,
    })),
  };
});
