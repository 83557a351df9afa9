import { createHash } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { OutboxEntry } from '@opsauto/core';
import type { AwsClients, ClientSettings } from '../clients.js';
import { runbookSessionName } from './action-runner.js';

/** Errors that a later try may not meet: the entry stays in the outbox. Anything else is final for it. */
const TRANSIENT = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'Throttled', 'InternalError', 'InternalFailure', 'ServiceUnavailable', 'KMSThrottlingException', 'TimeoutError', 'RequestTimeout']);

export interface NotificationPublisherOptions {
  settings?: ClientSettings;
  now?: () => number;
  /** Whether the worker may act as this role (the same check as before every step). */
  mayAssume?: (roleArn: string) => boolean;
  /** Told about a notification that can never be sent (refused, no such topic): it leaves the outbox. */
  onDropped: (entry: OutboxEntry, error: unknown) => void;
}

/**
 * Sends the SNS notifications of an outbox (aws:approve's approval requests) as the execution's role, which is what
 * AWS's Automation does with the assume role: the worker holds no sns:Publish of its own, and the runbook role gets it
 * only for documents that name a NotificationArn (permissions.ts). A FIFO topic gets the entry's ID as the
 * deduplication ID, so a request published twice (the worker died before clearing it) is delivered once; a standard
 * topic delivers it again, with the same `EventId` line.
 *
 * A notification refused for good (no role, a role the worker may not use, AuthorizationError, no such topic) is
 * dropped and reported, so that it cannot hold back the status events behind it; a throttle or a server error throws,
 * and the whole outbox stays for the next publish.
 *
 * @example
 * const publish = snsNotificationPublisher(clients, { onDropped: (e, err) => logger.warn('approval request not sent', { id: e.id }) });
 * await publish(pendingEvents(execution).filter((e) => e.notification));
 */
export function snsNotificationPublisher(clients: AwsClients, options: NotificationPublisherOptions): (entries: OutboxEntry[]) => Promise<void> {
  const roles = new Map<string, AwsClients>();
  const clientsFor = async (roleArn: string, executionId: string): Promise<AwsClients> => {
    const key = `${roleArn} ${executionId}`;
    const known = roles.get(key);
    if (known) return known;
    const { assumedRoleClients } = await import('./role-clients.js');
    const made = assumedRoleClients(clients, roleArn, runbookSessionName(executionId), options.settings, options.now);
    if (roles.size >= 32) roles.delete(roles.keys().next().value!);
    roles.set(key, made);
    return made;
  };
  return async (entries) => {
    for (const entry of entries) {
      const note = entry.notification;
      if (!note) continue;
      const executionId = entry.id.slice(0, entry.id.lastIndexOf('/'));
      if (!note.roleArn || (options.mayAssume && !options.mayAssume(note.roleArn))) {
        options.onDropped(entry, new Error(note.roleArn ? `role ${note.roleArn} is not one runbooks may run as here` : 'the execution has no role to publish as'));
        continue;
      }
      const fifo = note.topicArn.endsWith('.fifo');
      try {
        const sns = (await clientsFor(note.roleArn, executionId)).get(SNSClient, note.topicArn.split(':')[3]);
        await sns.send(
          new PublishCommand({
            TopicArn: note.topicArn,
            Subject: note.subject,
            Message: `${note.message}\n\nEventId: ${entry.id}`,
            ...(fifo ? { MessageGroupId: executionId.slice(0, 128), MessageDeduplicationId: createHash('sha256').update(entry.id).digest('hex') } : {}),
          }),
        );
      } catch (error) {
        if (TRANSIENT.has((error as Error).name) || ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 500) >= 500) throw error;
        options.onDropped(entry, error);
      }
    }
  };
}
