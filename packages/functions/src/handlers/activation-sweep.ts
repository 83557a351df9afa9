import { SsmManagedNodes } from '@opsauto/aws';
import { activationSweepInput, sweepActivations, type SweepReport } from '@opsauto/core';
import { activationSweepWiring, type ActivationSweepWiringFactory } from '../activation-sweep-wiring.js';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';

/** One warning per report: a failed boot (an activation that expired unregistered) or a node gone quiet. */
function logReport(report: SweepReport): void {
  if (report.kind === 'unregistered-activation') logger.warn('activation expired with no node registered: the server did not finish its boot', { ...report });
  else logger.warn(report.deregistered ? 'managed node not seen for staleNodeDays: deregistered' : 'managed node not seen for staleNodeDays', { ...report });
}

/**
 * The hybrid activations' clean-up sweep (schedule `activations.sweepSchedule`), with the stores given by `wiring`:
 * tags nodes that registered, deletes used and expired activations, reports activations that expired unregistered
 * (once each) and stale nodes (deregistered only with `activations.deregisterStaleNodes`). Logs one warning per
 * report and one summary (counts) per run; never an activation code (none is stored) or a token. Fails the
 * invocation when an issuance or node failed, after the others were handled, so that the Errors alarm shows it.
 */
export function activationSweepHandler(wiring: ActivationSweepWiringFactory) {
  return eventHandler(activationSweepInput, async () => {
    const config = loadConfig().activations;
    const { issuances, tokens, activations } = wiring({ clients, tableName: requireEnv('TABLE_NAME') });
    const nodes = new SsmManagedNodes(clients);
    const summary = await sweepActivations({ issuances, tokens, activations, nodes, config, clock: systemClock, onReport: logReport });
    // Counts only: each report had its own line.
    const { open, registered, deleted, unregisteredCount, staleCount, deregistered, failed, failures } = summary;
    logger.info('activation sweep', { summary: { open, registered, deleted, unregisteredCount, staleCount, deregistered, failed, failures } });
    if (summary.failed > 0) throw new Error(`activation sweep: ${summary.failed} activations or nodes failed (the others were handled): ${summary.failures.join('; ')}`);
    return { summary };
  });
}

export const handler = activationSweepHandler(activationSweepWiring);
