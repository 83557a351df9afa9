import { snsNoticePublisher, SsmParameterCatalog } from '@opsauto/aws';
import { paramExpirySweepInput, sweepParameters } from '@opsauto/core';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';
import { noticeWiring, type NoticeWiringFactory } from '../param-notices.js';

/**
 * The daily parameter-expiry sweep (schedule from `parameterExpiry.schedule`), with the notice wiring given: sends
 * the reminders and no-change notices that are due and were not sent (by AWS's events or an earlier sweep), and one
 * digest per owner. Logs one summary per run; fails the invocation when a notice failed, after the others were sent,
 * so that the Errors alarm shows it and Lambda's retry sends what is missing (what was sent is a duplicate then).
 */
export function paramExpirySweepHandler(wiring: NoticeWiringFactory) {
  return eventHandler(paramExpirySweepInput, async (event) => {
    const config = loadConfig().parameterExpiry;
    // The stage's topics; routeNotice and the sender prefer the config's defaultTopic and escalationTopic.
    const topics = { default: requireEnv('NOTIFICATION_TOPIC_ARN'), escalation: requireEnv('ESCALATION_TOPIC_ARN') };
    const catalog = new SsmParameterCatalog(clients);
    const publisher = snsNoticePublisher(clients);
    const { send, store, route } = wiring({ clients, tableName: requireEnv('TABLE_NAME'), config, topics, clock: systemClock, catalog, publisher });
    // A scheduled run's event ID names it: a second delivery or a retry of it sends no digest twice.
    const runKey = 'id' in event ? event.id : undefined;
    const summary = await sweepParameters({ catalog, send, publisher, store, config, topics, clock: systemClock, route, runKey });
    logger.info('parameter expiry sweep', { summary });
    // Notices and digests are each one SNS message; a parameter whose notices failed counts once.
    count(METRIC_NAMES.notificationsSent, summary.sent + summary.digests);
    count(METRIC_NAMES.notificationsFailed, summary.failed);
    if (summary.failed > 0) throw new Error(`parameter expiry sweep: ${summary.failed} parameters' notices failed (the others were sent): ${summary.failures.join('; ')}`);
    return { summary };
  });
}

export const handler = paramExpirySweepHandler(noticeWiring);
