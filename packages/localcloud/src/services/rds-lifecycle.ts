/**
 * DB instance lifecycles on the virtual clock: each transitional status (creating, stopping, starting,
 * modifying, deleting) ends after a delay, a stopped instance is started again by RDS after 7 days, and each
 * step emits the `RDS DB Instance Event` that RDS sends to EventBridge.
 *
 * Timers cannot be cancelled; each one carries the time it was armed for and does nothing when the record no
 * longer holds that time (a start by hand clears `autoStartAt`, a new stop sets a new one). So arming twice,
 * as `start()` after a seed or a restart may do, is harmless.
 */
import type { Runtime } from './filters.js';
import { dbInstanceArn, existingRdsState, RDS_SERVICE, type DbInstanceRecord, type DbInstanceStatus, type RdsState } from './rds-model.js';

/** How long (virtual time) each transitional status lasts. RDS takes minutes; these keep that order of size. */
export const RDS_DELAYS_MS = {
  creating: 5 * 60_000,
  stopping: 2 * 60_000,
  starting: 3 * 60_000,
  modifying: 2 * 60_000,
  deleting: 2 * 60_000,
} as const;

/** "You can stop a DB instance for up to seven days": RDS starts it again after that (RDS-EVENT-0154). */
export const AUTO_START_AFTER_MS = 7 * 24 * 3_600_000;

type TransitionalStatus = keyof typeof RDS_DELAYS_MS;

/**
 * The RDS events emitted (RDS User Guide, "Amazon RDS event categories and event messages", DB instance events).
 * RDS-EVENT-0154's message is the one automation matches on to stop an instance again.
 */
export const RDS_EVENTS = {
  created: { EventID: 'RDS-EVENT-0005', category: 'creation', Message: 'DB instance created.' },
  deleted: { EventID: 'RDS-EVENT-0003', category: 'deletion', Message: 'DB instance deleted.' },
  stopped: { EventID: 'RDS-EVENT-0087', category: 'notification', Message: 'DB instance stopped.' },
  started: { EventID: 'RDS-EVENT-0088', category: 'notification', Message: 'DB instance started.' },
  autoStarting: {
    EventID: 'RDS-EVENT-0154',
    category: 'notification',
    Message: 'DB instance is being started due to it exceeding the maximum allowed time being stopped.',
  },
  classChanging: { EventID: 'RDS-EVENT-0012', category: 'configuration change', Message: 'Applying modification to database instance class.' },
  classChanged: { EventID: 'RDS-EVENT-0014', category: 'configuration change', Message: 'Finished applying modification to DB instance class.' },
} as const;

export type RdsEventName = keyof typeof RDS_EVENTS;

/** One RDS event about a source (a DB instance or cluster): its ARN, identifier and tags, and what happened. */
export interface RdsSourceEvent {
  detailType: 'RDS DB Instance Event' | 'RDS DB Cluster Event';
  sourceType: 'DB_INSTANCE' | 'CLUSTER';
  arn: string;
  identifier: string;
  tags: { Key: string; Value: string }[];
  event: { EventID: string; category: string; Message: string };
}

/** Publishes an RDS event in the shape EventBridge delivers it (RDS User Guide, "Overview of events for Amazon RDS"). */
export function publishRdsSourceEvent(rt: Pick<Runtime, 'bus'>, account: string, region: string, source: RdsSourceEvent, at: number): void {
  const { EventID, category, Message } = source.event;
  rt.bus.publish({
    source: 'aws.rds',
    detailType: source.detailType,
    detail: {
      EventCategories: [category],
      SourceType: source.sourceType,
      SourceArn: source.arn,
      Date: new Date(at).toISOString(),
      Message,
      SourceIdentifier: source.identifier,
      EventID,
      // RDS adds the source's tags as they are when the event is sent.
      ...(source.tags.length > 0 ? { Tags: Object.fromEntries(source.tags.map((t) => [t.Key, t.Value])) } : {}),
    },
    resources: [source.arn],
    account,
    region,
    time: new Date(at),
  });
}

/** Publishes an `RDS DB Instance Event`. */
export function publishRdsEvent(rt: Pick<Runtime, 'bus'>, account: string, region: string, instance: DbInstanceRecord, name: RdsEventName, at: number): void {
  const arn = dbInstanceArn(region, account, instance.identifier);
  publishRdsSourceEvent(rt, account, region, { detailType: 'RDS DB Instance Event', sourceType: 'DB_INSTANCE', arn, identifier: instance.identifier, tags: instance.tags, event: RDS_EVENTS[name] }, at);
}

/** Puts an instance in a transitional status that ends `RDS_DELAYS_MS[status]` after `from`, and arms its end. */
export function beginTransition(rt: Runtime, account: string, region: string, instance: DbInstanceRecord, status: TransitionalStatus, from = rt.clock.nowMs()): void {
  instance.status = status;
  instance.transitionAt = from + RDS_DELAYS_MS[status];
  armTransition(rt, account, region, instance);
}

/** Arms whatever an instance's persisted state still has due: the end of its transition, its automatic start. */
export function armDbInstance(rt: Runtime, account: string, region: string, instance: DbInstanceRecord): void {
  armTransition(rt, account, region, instance);
  armAutoStart(rt, account, region, instance);
}

export function armAllDbInstances(rt: Runtime): void {
  for (const { account, region, state } of rt.store.all<RdsState>(RDS_SERVICE)) {
    for (const instance of Object.values(state.instances)) armDbInstance(rt, account, region, instance);
  }
}

/** The record of an instance if it still exists and still holds what the timer was armed for. */
function stillDue(rt: Runtime, account: string, region: string, identifier: string, check: (i: DbInstanceRecord) => boolean): DbInstanceRecord | undefined {
  const current = existingRdsState(rt.store, account, region)?.instances[identifier];
  return current && check(current) ? current : undefined;
}

function armTransition(rt: Runtime, account: string, region: string, instance: DbInstanceRecord): void {
  const at = instance.transitionAt;
  if (at === undefined) return;
  const { identifier, status } = instance;
  rt.clock.at(at, () => {
    const current = stillDue(rt, account, region, identifier, (i) => i.status === status && i.transitionAt === at);
    if (!current) return;
    delete current.transitionAt;
    completeTransition(rt, account, region, current, at);
    rt.store.changed();
  });
}

function completeTransition(rt: Runtime, account: string, region: string, instance: DbInstanceRecord, at: number): void {
  const status: DbInstanceStatus = instance.status;
  switch (status) {
    case 'creating':
      instance.status = 'available';
      instance.createTime ??= new Date(at).toISOString();
      publishRdsEvent(rt, account, region, instance, 'created', at);
      return;
    case 'starting':
      instance.status = 'available';
      publishRdsEvent(rt, account, region, instance, 'started', at);
      return;
    case 'stopping':
      instance.status = 'stopped';
      instance.autoStartAt = at + AUTO_START_AFTER_MS;
      armAutoStart(rt, account, region, instance);
      publishRdsEvent(rt, account, region, instance, 'stopped', at);
      return;
    case 'modifying': {
      instance.status = 'available';
      // Records written before PubliclyAccessible and MultiAZ were emulated lack the flag: they applied what was pending.
      const applyPending = instance.applyPendingOnModified ?? true;
      delete instance.applyPendingOnModified;
      if (!applyPending) return;
      const classChanged = instance.pendingInstanceClass !== undefined;
      if (instance.pendingInstanceClass) instance.instanceClass = instance.pendingInstanceClass;
      if (instance.pendingMultiAZ !== undefined) instance.multiAZ = instance.pendingMultiAZ;
      if (instance.pendingBackupRetentionPeriod !== undefined) instance.backupRetentionPeriod = instance.pendingBackupRetentionPeriod;
      delete instance.pendingInstanceClass;
      delete instance.pendingMultiAZ;
      delete instance.pendingBackupRetentionPeriod;
      if (classChanged) publishRdsEvent(rt, account, region, instance, 'classChanged', at);
      return;
    }
    case 'deleting': {
      const state = existingRdsState(rt.store, account, region);
      if (state) delete state.instances[instance.identifier];
      publishRdsEvent(rt, account, region, instance, 'deleted', at);
      return;
    }
    case 'available':
    case 'stopped':
      return;
  }
}

function armAutoStart(rt: Runtime, account: string, region: string, instance: DbInstanceRecord): void {
  const at = instance.autoStartAt;
  if (instance.status !== 'stopped' || at === undefined) return;
  const identifier = instance.identifier;
  rt.clock.at(at, () => {
    const current = stillDue(rt, account, region, identifier, (i) => i.status === 'stopped' && i.autoStartAt === at);
    if (!current) return;
    delete current.autoStartAt;
    publishRdsEvent(rt, account, region, current, 'autoStarting', at);
    beginTransition(rt, account, region, current, 'starting', at);
    rt.store.changed();
  });
}
