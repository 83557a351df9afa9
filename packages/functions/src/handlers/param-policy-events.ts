import { parameterNoticeAdapters } from '@opsauto/aws';
import { anyEventBridgeEvent, handlePolicyAction, noticeSender, ValidationError } from '@opsauto/core';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';

/**
 * Turns Parameter Store's `Parameter Store Policy Action` events (Expiration, ExpirationNotification,
 * NoChangeNotification) into notices to the parameter's owner on SNS, each sent once; records what an Expiration
 * deleted. Other events are ignored with a reason in the log. Only metadata is read: never a parameter's value.
 */
export const handler = eventHandler(anyEventBridgeEvent, async (event) => {
  const config = loadConfig().parameterExpiry;
  const { store, publisher, catalog } = parameterNoticeAdapters(clients, requireEnv('TABLE_NAME'));
  const topics = { default: requireEnv('NOTIFICATION_TOPIC_ARN'), escalation: requireEnv('ESCALATION_TOPIC_ARN') };
  const send = noticeSender({ store, publisher, catalog, config, topics, clock: systemClock });
  let result;
  try {
    result = await handlePolicyAction(event, { send, store, catalog, clock: systemClock, paths: config.paths });
  } catch (e) {
    // An event that is not a valid policy event is no failed notification.
    if (!(e instanceof ValidationError)) count(METRIC_NAMES.notificationsFailed);
    throw e;
  }
  if (result.outcome === 'sent') count(METRIC_NAMES.notificationsSent);
  if (result.outcome === 'ignored') logger.info('policy event ignored', { reason: result.reason, detailType: event['detail-type'], source: event.source });
  else logger.info(`parameter notice ${result.outcome}`, { parameter: result.parameter, kind: result.kind, dueAt: result.dueAt, ...(result.expired ? { deletedAt: result.expired.deletedAt } : {}) });
  return result;
});
