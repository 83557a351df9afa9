import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  RUNBOOK_EVENT_SOURCE,
  type Clock,
  type EngineDeps,
  type InstanceTargetQuery,
  type OutboxEntry,
  type StartPorts,
} from '@opsauto/core';
import type { AwsClients, ClientSettings } from '../clients.js';
import { SchedulerWakeUp } from '../scheduler-wake-up.js';
import { AwsActionRunner } from './action-runner.js';
import { DynamoExecutionStore } from './dynamo-execution-store.js';
import { RunbookSource, type RunbookSourceOptions } from './runbook-source.js';

/** The event that asks a worker to run executions (the worker's own trigger). */
export const DISPATCH_DETAIL_TYPE = 'Runbook Execution Dispatched';
/** The event that asks for a new execution (any producer on the bus; also the worker's trigger). */
export const START_DETAIL_TYPE = 'Runbook Execution Requested';

const ENTRIES_PER_CALL = 10;

/**
 * Puts entries on the default bus, 10 to a call, and puts again the entries PutEvents reports as failed (its
 * partial failures are not errors to the SDK), up to 3 times.
 */
export async function putEvents(client: EventBridgeClient, entries: PutEventsRequestEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += ENTRIES_PER_CALL) {
    let batch = entries.slice(i, i + ENTRIES_PER_CALL);
    for (let attempt = 1; batch.length > 0; attempt++) {
      const out = await client.send(new PutEventsCommand({ Entries: batch }));
      if (!out.FailedEntryCount) break;
      const failed = batch.filter((_, j) => out.Entries?.[j]?.ErrorCode);
      if (attempt === 3) throw new Error(`PutEvents failed for ${failed.length} entries: ${out.Entries?.find((e) => e.ErrorCode)?.ErrorCode ?? 'unknown error'}`);
      batch = failed;
    }
  }
}

/** Dispatch: one `Runbook Execution Dispatched` event per execution, so each gets its own worker. */
export function eventBridgeDispatch(clients: AwsClients, eventBusName?: string): EngineDeps['dispatch'] {
  return (executionIds) =>
    putEvents(
      clients.get(EventBridgeClient),
      executionIds.map((id) => ({ Source: RUNBOOK_EVENT_SOURCE, DetailType: DISPATCH_DETAIL_TYPE, Detail: JSON.stringify({ executionIds: [id] }), ...(eventBusName ? { EventBusName: eventBusName } : {}) })),
    );
}

/**
 * Publishes outbox entries (status events, `Runbook Image Created`) on the bus, with the entry's stable ID in the
 * detail's `EventId`. Throws when PutEvents does not take them all: they stay in the outbox for the next try.
 */
export function eventBridgePublish(clients: AwsClients, eventBusName?: string): EngineDeps['publish'] {
  return (entries: OutboxEntry[]) =>
    putEvents(
      clients.get(EventBridgeClient),
      entries.map((e) => ({ Source: RUNBOOK_EVENT_SOURCE, DetailType: e.detailType, Detail: JSON.stringify(e.detail), ...(eventBusName ? { EventBusName: eventBusName } : {}) })),
    );
}

/**
 * Publishes an outbox: SNS notifications (aws:approve's requests) as the execution's role, then the status events on
 * the bus. A transient failure of either throws, and the outbox stays whole for the next publish.
 */
function runbookPublish(clients: AwsClients, options: EngineAdapterOptions): EngineDeps['publish'] {
  const events = eventBridgePublish(clients, options.eventBusName);
  let notifications: ((entries: OutboxEntry[]) => Promise<void>) | undefined;
  return async (entries) => {
    const notes = entries.filter((e) => e.notification);
    if (notes.length > 0) {
      if (!notifications) {
        const { snsNotificationPublisher } = await import('./approval-notifications.js');
        notifications = snsNotificationPublisher(clients, {
          settings: options.settings,
          now: () => options.clock.now().getTime(),
          mayAssume: options.mayPublishAs,
          onDropped: options.onNotificationDropped ?? ((_, error) => options.onPublishError(error)),
        });
      }
      await notifications(notes);
    }
    const rest = entries.filter((e) => !e.notification);
    if (rest.length > 0) await events(rest);
  };
}

/**
 * EC2 instances matching a target query, through DescribeInstances (SDK paginator; 1000 a page for a filter, whose
 * pages may be many). The EC2 client is imported on the first query: most executions have no targets.
 */
export function ec2InstanceFinder(clients: AwsClients, region?: string): (query: InstanceTargetQuery) => Promise<string[]> {
  return async (query) => {
    const { describeTargetInstances } = await import('./ec2-targets.js');
    return describeTargetInstances(clients, region, query);
  };
}

/** StartPorts.findManagedNodes over SSM DescribeInstanceInformation (loaded on its first query, as above). */
export function ssmManagedNodeFinder(clients: AwsClients, region?: string): NonNullable<StartPorts['findManagedNodes']> {
  return async (query) => {
    const { describeTargetManagedNodes } = await import('./ec2-targets.js');
    return describeTargetManagedNodes(clients, region, query);
  };
}

export interface EngineAdapterOptions {
  tableName: string;
  clock: Clock;
  /** Days ended executions are kept (config `runbooks.executionTtlDays`); the store's default when absent. */
  executionTtlDays?: number;
  /** Client settings (localcloud's endpoint) for clients made per assumed role. */
  settings?: ClientSettings;
  /** Where wake-ups are sent: this function (its ARN), by EventBridge Scheduler acting as `roleArn`. */
  wakeUp: { functionArn: string; roleArn: string; namePrefix: string };
  pollIntervalMs?: number;
  /** Told when events could not be published (they stay in the outbox, for the worker's next try or the tick). */
  onPublishError: (error: unknown) => void;
  /** Told when an approval request can never be sent (refused, no such topic): it leaves the outbox. */
  onNotificationDropped?: (entry: OutboxEntry, error: unknown) => void;
  /** Whether an approval request may be published as this role (the worker's check before every step). */
  mayPublishAs?: (roleArn: string) => boolean;
  /** opsauto's own bus for dispatch and status events (default: the default bus). */
  eventBusName?: string;
  /** Where runbooks are loaded from, before the account's Automation documents (see RunbookSource). */
  runbooks?: Pick<RunbookSourceOptions, 'shippedDirectory'>;
  sleep?: (ms: number) => Promise<void>;
  /** The aws:executeScript runner function (EXECUTE_SCRIPT_FUNCTION); without it, executeScript steps fail saying so. */
  executeScriptFunction?: string;
}

/** The engine's ports on AWS: DynamoDB, the actions' AWS calls, EventBridge, Scheduler, shipped runbooks and SSM documents. */
export function runbookEngineAdapters(clients: AwsClients, options: EngineAdapterOptions): EngineDeps & { runbooks: RunbookSource } {
  const wakeUp = new SchedulerWakeUp(clients, { ...options.wakeUp, now: () => options.clock.now() });
  const runbooks = new RunbookSource(clients, { shippedDirectory: options.runbooks?.shippedDirectory });
  return {
    store: new DynamoExecutionStore(clients, options.tableName, { ttlDays: options.executionTtlDays, clock: options.clock }),
    actions: new AwsActionRunner(clients, { settings: options.settings, pollIntervalMs: options.pollIntervalMs, now: () => options.clock.now().getTime(), executeScriptFunction: options.executeScriptFunction }),
    clock: options.clock,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    dispatch: eventBridgeDispatch(clients, options.eventBusName),
    wakeUp: (executionId, at) => wakeUp.schedule(executionId, at),
    publish: runbookPublish(clients, options),
    onPublishError: options.onPublishError,
    loadRunbook: (name, version) => runbooks.load(name, version),
    newId: () => randomUUID(),
    runbooks,
  };
}
