/**
 * Aurora DB clusters, as far as runbooks that check, change, stop and start clusters need them: CreateDBCluster
 * (`creating`, then `available` on the virtual clock), DescribeDBClusters (identifier or ARN, filters, paging),
 * ModifyDBCluster (DeletionProtection and CopyTagsToSnapshot, which RDS applies at once; any other parameter is
 * refused naming it), DeleteDBCluster, StopDBCluster (`stopping`, then `stopped`) and StartDBCluster (`starting`,
 * then `available`), with the member instances (seeded with the cluster) following their cluster's status. A cluster
 * stopped for 7 days is started again by RDS (RDS-EVENT-0153). Each stop and start emits the `RDS DB Cluster Event`
 * RDS sends to EventBridge. No cluster snapshots or endpoints beyond the cluster's own.
 * Shapes and error codes follow the RDS API reference.
 */
import { randomBytes } from 'node:crypto';
import { AwsError, notEmulated } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { pageAfter, type Runtime, type Tag } from './filters.js';
import { AUTO_START_AFTER_MS, publishRdsSourceEvent } from './rds-lifecycle.js';
import {
  checkIdentifier,
  checkTags,
  newResourceId as newInstanceResourceId,
  existingRdsState,
  invalidCombination,
  invalidParameter,
  optionalBool,
  optionalInt,
  optionalString,
  rdsState,
  requiredString,
  wireFilters,
  wireTags,
  type DbInstanceRecord,
  type RdsState,
} from './rds-model.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) a cluster stays in each transitional status. Aurora takes minutes; these keep that order. */
export const DB_CLUSTER_DELAYS_MS = { creating: 5 * 60_000, deleting: 2 * 60_000, stopping: 2 * 60_000, starting: 3 * 60_000 } as const;

type ClusterTransition = keyof typeof DB_CLUSTER_DELAYS_MS;

/**
 * The cluster events emitted (Aurora User Guide, "Amazon RDS event categories and event messages for Aurora", DB
 * cluster events). RDS-EVENT-0153's is the one automation matches on to stop a cluster again.
 */
export const RDS_CLUSTER_EVENTS = {
  stopped: { EventID: 'RDS-EVENT-0150', category: 'notification', Message: 'DB cluster stopped.' },
  started: { EventID: 'RDS-EVENT-0151', category: 'notification', Message: 'DB cluster started.' },
  autoStarting: {
    EventID: 'RDS-EVENT-0153',
    category: 'notification',
    Message: 'DB cluster is being started due to it exceeding the maximum allowed time being stopped.',
  },
} as const;

const CLUSTER_ENGINES: Record<string, { version: string; port: number; family: string }> = {
  'aurora-mysql': { version: '8.0.mysql_aurora.3.05.2', port: 3306, family: 'aurora-mysql8.0' },
  'aurora-postgresql': { version: '16.4', port: 5432, family: 'aurora-postgresql16' },
};

export interface DbClusterRecord {
  /** Lower case, as RDS keeps it. */
  identifier: string;
  resourceId: string;
  engine: string;
  engineVersion: string;
  status: 'creating' | 'available' | 'deleting' | 'stopping' | 'stopped' | 'starting';
  /** Epoch ms (virtual) at which the current transitional status ends. */
  transitionAt?: number;
  /** Epoch ms (virtual) at which a stopped cluster is started again by RDS: 7 days after it stopped. */
  autoStartAt?: number;
  masterUsername: string;
  port: number;
  storageEncrypted: boolean;
  deletionProtection: boolean;
  copyTagsToSnapshot: boolean;
  createTime: string;
  tags: Tag[];
}

type RdsOperation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

const IDENTIFIER = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}$/;
const CLUSTER_FILTERS = ['db-cluster-id', 'engine', 'clone-group-id', 'domain', 'db-cluster-resource-id'];
const MODIFIABLE = new Set(['DBClusterIdentifier', 'ApplyImmediately', 'DeletionProtection', 'CopyTagsToSnapshot']);

export const clusterArn = (region: string, account: string, id: string) => `arn:aws:rds:${region}:${account}:cluster:${id}`;
export const dbClusterNotFound = (id: string) => new AwsError('DBClusterNotFoundFault', `DBCluster ${id} not found.`, 404);

export function clusterIdOf(idOrArn: string): string {
  const arn = /^arn:aws[a-z-]*:rds:[^:]+:\d{12}:cluster:(.+)$/.exec(idOrArn);
  return (arn ? arn[1] : idOrArn).toLowerCase();
}

function checkClusterIdentifier(id: string): string {
  if (!IDENTIFIER.test(id) || id.endsWith('-')) {
    throw invalidParameter(
      'The parameter DBClusterIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.',
    );
  }
  return id.toLowerCase();
}

function clustersOf(state: RdsState): Record<string, DbClusterRecord> {
  return (state.clusters ??= {});
}

/** The DB instances of a cluster (its members), in identifier order. */
export function membersOf(state: RdsState, clusterId: string): DbInstanceRecord[] {
  return Object.values(state.instances)
    .filter((i) => i.dbClusterIdentifier === clusterId)
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
}

function clusterXml(c: DbClusterRecord, state: RdsState, account: string, region: string): Record<string, XmlValue> {
  const engine = CLUSTER_ENGINES[c.engine];
  return {
    AllocatedStorage: 1,
    AvailabilityZones: new XmlList('AvailabilityZone', [`${region}a`, `${region}b`, `${region}c`]),
    BackupRetentionPeriod: 1,
    DBClusterIdentifier: c.identifier,
    DBClusterParameterGroup: `default.${engine?.family ?? c.engine}`,
    DBSubnetGroup: 'default',
    Status: c.status,
    Endpoint: `${c.identifier}.cluster-${state.endpointSuffix}.${region}.rds.amazonaws.com`,
    ReaderEndpoint: `${c.identifier}.cluster-ro-${state.endpointSuffix}.${region}.rds.amazonaws.com`,
    MultiAZ: false,
    Engine: c.engine,
    EngineVersion: c.engineVersion,
    Port: c.port,
    MasterUsername: c.masterUsername,
    PreferredBackupWindow: '03:00-03:30',
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    ReadReplicaIdentifiers: new XmlList('ReadReplicaIdentifier', []),
    DBClusterMembers: new XmlList(
      'DBClusterMember',
      membersOf(state, c.identifier).map((m, i) => ({ DBInstanceIdentifier: m.identifier, IsClusterWriter: i === 0, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 })),
    ),
    VpcSecurityGroups: new XmlList('VpcSecurityGroupMembership', []),
    HostedZoneId: 'Z2R2ITUGPM61AM',
    StorageEncrypted: c.storageEncrypted,
    DbClusterResourceId: c.resourceId,
    DBClusterArn: clusterArn(region, account, c.identifier),
    AssociatedRoles: new XmlList('DBClusterRole', []),
    IAMDatabaseAuthenticationEnabled: false,
    ClusterCreateTime: c.createTime,
    EngineMode: 'provisioned',
    DeletionProtection: c.deletionProtection,
    HttpEndpointEnabled: false,
    CopyTagsToSnapshot: c.copyTagsToSnapshot,
    CrossAccountClone: false,
    DomainMemberships: new XmlList('DomainMembership', []),
    TagList: new XmlList('Tag', c.tags.map((t) => ({ Key: t.Key, Value: t.Value }))),
    ...(c.status === 'stopped' && c.autoStartAt !== undefined ? { AutomaticRestartTime: new Date(c.autoStartAt).toISOString() } : {}),
  };
}

/** Publishes an `RDS DB Cluster Event` in the shape EventBridge delivers it (SourceType `CLUSTER`). */
export function publishClusterEvent(rt: Pick<Runtime, 'bus'>, account: string, region: string, cluster: DbClusterRecord, name: keyof typeof RDS_CLUSTER_EVENTS, at: number): void {
  const arn = clusterArn(region, account, cluster.identifier);
  publishRdsSourceEvent(rt, account, region, { detailType: 'RDS DB Cluster Event', sourceType: 'CLUSTER', arn, identifier: cluster.identifier, tags: cluster.tags, event: RDS_CLUSTER_EVENTS[name] }, at);
}

/** Puts a cluster and its members in a transitional status ending `DB_CLUSTER_DELAYS_MS[status]` after `from`, and arms its end. */
function beginClusterTransition(rt: Runtime, account: string, region: string, state: RdsState, cluster: DbClusterRecord, status: ClusterTransition, from = rt.clock.nowMs()): void {
  cluster.status = status;
  cluster.transitionAt = from + DB_CLUSTER_DELAYS_MS[status];
  if (status === 'stopping' || status === 'starting') setMembers(state, cluster, status);
  armDbCluster(rt, account, region, cluster);
}

/** Member instances follow their cluster: they are stopped and started with it, never on their own. */
function setMembers(state: RdsState, cluster: DbClusterRecord, status: DbInstanceRecord['status']): void {
  for (const member of membersOf(state, cluster.identifier)) {
    if (member.status === 'deleting' || member.status === 'creating') continue;
    member.status = status;
    delete member.transitionAt;
    delete member.autoStartAt;
  }
}

/**
 * Ends a cluster's transitional status on the clock, and arms RDS's start of a cluster stopped for 7 days.
 * Idempotent: a timer that finds the cluster moved on does nothing.
 */
export function armDbCluster(rt: Runtime, account: string, region: string, cluster: DbClusterRecord): void {
  armClusterAutoStart(rt, account, region, cluster);
  const at = cluster.transitionAt;
  if (at === undefined) return;
  const { identifier, status } = cluster;
  rt.clock.at(at, () => {
    const state = existingRdsState(rt.store, account, region);
    const current = state?.clusters?.[identifier];
    if (!state || !current || current.status !== status || current.transitionAt !== at) return;
    delete current.transitionAt;
    if (status === 'deleting') delete clustersOf(state)[identifier];
    else if (status === 'stopping') {
      current.status = 'stopped';
      current.autoStartAt = at + AUTO_START_AFTER_MS;
      setMembers(state, current, 'stopped');
      armClusterAutoStart(rt, account, region, current);
      publishClusterEvent(rt, account, region, current, 'stopped', at);
    } else {
      current.status = 'available';
      if (status === 'starting') {
        setMembers(state, current, 'available');
        publishClusterEvent(rt, account, region, current, 'started', at);
      }
    }
    rt.store.changed();
  });
}

function armClusterAutoStart(rt: Runtime, account: string, region: string, cluster: DbClusterRecord): void {
  const at = cluster.autoStartAt;
  if (cluster.status !== 'stopped' || at === undefined) return;
  const identifier = cluster.identifier;
  rt.clock.at(at, () => {
    const state = existingRdsState(rt.store, account, region);
    const current = state?.clusters?.[identifier];
    if (!state || !current || current.status !== 'stopped' || current.autoStartAt !== at) return;
    delete current.autoStartAt;
    publishClusterEvent(rt, account, region, current, 'autoStarting', at);
    beginClusterTransition(rt, account, region, state, current, 'starting', at);
    rt.store.changed();
  });
}

export function armAllDbClusters(rt: Runtime, regions: { account: string; region: string; state: RdsState }[]): void {
  for (const { account, region, state } of regions) for (const c of Object.values(state.clusters ?? {})) armDbCluster(rt, account, region, c);
}

function newResourceId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return 'cluster-' + [...randomBytes(26)].map((b) => alphabet[b % alphabet.length]).join('');
}

export const createDBCluster: RdsOperation = (input, ctx) => {
  const identifier = checkClusterIdentifier(requiredString(input, 'DBClusterIdentifier'));
  const engineName = requiredString(input, 'Engine').toLowerCase();
  const engine = CLUSTER_ENGINES[engineName];
  if (!engine) throw engineName === 'mysql' || engineName === 'postgres' ? notEmulated('query', `rds:CreateDBCluster for engine ${engineName} (Multi-AZ DB clusters); emulated: aurora-mysql, aurora-postgresql`) : invalidParameter(`Invalid DB engine: ${engineName}`);
  const masterUsername = optionalString(input, 'MasterUsername');
  if (!masterUsername) throw invalidParameter('The parameter MasterUsername must be provided and must not be blank.');
  if (optionalBool(input, 'ManageMasterUserPassword') !== true) {
    const password = optionalString(input, 'MasterUserPassword');
    if (!password) throw invalidParameter('The parameter MasterUserPassword must be provided and must not be blank.');
    if (password.length < 8) throw invalidParameter('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  }
  const tags = checkTags(wireTags(input));
  const state = rdsState(ctx.store, ctx.account, ctx.region);
  if (clustersOf(state)[identifier]) throw new AwsError('DBClusterAlreadyExistsFault', 'DB Cluster already exists');
  const now = ctx.clock.nowMs();
  const cluster: DbClusterRecord = {
    identifier,
    resourceId: newResourceId(),
    engine: engineName,
    engineVersion: optionalString(input, 'EngineVersion') ?? engine.version,
    status: 'creating',
    transitionAt: now + DB_CLUSTER_DELAYS_MS.creating,
    masterUsername,
    port: optionalInt(input, 'Port') ?? engine.port,
    storageEncrypted: optionalBool(input, 'StorageEncrypted') ?? false,
    deletionProtection: optionalBool(input, 'DeletionProtection') ?? false,
    copyTagsToSnapshot: optionalBool(input, 'CopyTagsToSnapshot') ?? false,
    createTime: new Date(now).toISOString(),
    tags,
  };
  clustersOf(state)[identifier] = cluster;
  armDbCluster(ctx, ctx.account, ctx.region, cluster);
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

export const describeDBClusters: RdsOperation = (input, ctx) => {
  const requested = optionalString(input, 'DBClusterIdentifier');
  const filters = wireFilters(input);
  for (const f of filters) if (!CLUSTER_FILTERS.includes(f.name)) throw invalidParameter(`Unrecognized filter name: ${f.name}.`);
  const maxRecords = optionalInt(input, 'MaxRecords') ?? 100;
  if (maxRecords < 20 || maxRecords > 100) throw invalidParameter(`Invalid value ${maxRecords} for MaxRecords. Must be between 20 and 100`);
  const state = rdsState(ctx.store, ctx.account, ctx.region);
  let clusters = Object.values(clustersOf(state));
  if (requested !== undefined) {
    const found = clustersOf(state)[clusterIdOf(requested)];
    if (!found) throw dbClusterNotFound(requested);
    clusters = [found];
  }
  const selected = clusters
    .filter((c) =>
      filters.every(({ name, values }) => {
        if (name === 'db-cluster-id') return values.some((v) => clusterIdOf(v) === c.identifier);
        if (name === 'engine') return values.includes(c.engine);
        if (name === 'db-cluster-resource-id') return values.includes(c.resourceId);
        return false;
      }),
    )
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
  const { page, nextToken } = pageAfter(selected, (c) => c.identifier, maxRecords, optionalString(input, 'Marker'), () => invalidParameter('The parameter Marker is not valid.'));
  return { DBClusters: new XmlList('DBCluster', page.map((c) => clusterXml(c, state, ctx.account, ctx.region))), ...(nextToken ? { Marker: nextToken } : {}) };
};

function findCluster(ctx: RequestContext, given: string): { state: RdsState; cluster: DbClusterRecord } {
  const state = existingRdsState(ctx.store, ctx.account, ctx.region);
  const cluster = state?.clusters?.[clusterIdOf(given)];
  if (!state || !cluster) throw dbClusterNotFound(given);
  return { state, cluster };
}

export const modifyDBCluster: RdsOperation = (input, ctx) => {
  const { state, cluster } = findCluster(ctx, requiredString(input, 'DBClusterIdentifier'));
  const unsupported = Object.keys(input).filter((k) => !MODIFIABLE.has(k));
  if (unsupported.length > 0) throw notEmulated('query', `rds:ModifyDBCluster parameter${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')} (emulated: DeletionProtection, CopyTagsToSnapshot)`);
  if (cluster.status !== 'available') throw new AwsError('InvalidDBClusterStateFault', `DB cluster ${cluster.identifier} is not in available state.`);
  const deletionProtection = optionalBool(input, 'DeletionProtection');
  const copyTags = optionalBool(input, 'CopyTagsToSnapshot');
  if (deletionProtection !== undefined) cluster.deletionProtection = deletionProtection;
  if (copyTags !== undefined) cluster.copyTagsToSnapshot = copyTags;
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

export const deleteDBCluster: RdsOperation = (input, ctx) => {
  const { state, cluster } = findCluster(ctx, requiredString(input, 'DBClusterIdentifier'));
  if (optionalString(input, 'FinalDBSnapshotIdentifier') !== undefined) throw notEmulated('query', 'rds:DeleteDBCluster parameter FinalDBSnapshotIdentifier (DB cluster snapshots)');
  if (optionalBool(input, 'SkipFinalSnapshot') !== true) throw invalidCombination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  if (cluster.deletionProtection) throw invalidCombination('Cannot delete protected Cluster, please disable deletion protection and try again.');
  if (cluster.status !== 'available') throw new AwsError('InvalidDBClusterStateFault', `DB cluster ${cluster.identifier} is not in available state.`);
  if (membersOf(state, cluster.identifier).some((m) => m.status !== 'deleting')) {
    throw new AwsError('InvalidDBClusterStateFault', 'Cluster cannot be deleted, it still contains DB instances in non-deleting state.');
  }
  beginClusterTransition(ctx, ctx.account, ctx.region, state, cluster, 'deleting');
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

/** InvalidDBClusterStateFault naming the status the cluster is in and the one the operation needs. */
function wrongClusterState(cluster: DbClusterRecord, expected: string): AwsError {
  return new AwsError('InvalidDBClusterStateFault', `DbCluster ${cluster.identifier} is in ${cluster.status} state but expected it to be one of ${expected}.`);
}

/** StopDBCluster: an `available` cluster goes `stopping`, then `stopped` with its members; RDS starts it again after 7 days. */
export const stopDBCluster: RdsOperation = (input, ctx) => {
  const { state, cluster } = findCluster(ctx, requiredString(input, 'DBClusterIdentifier'));
  if (cluster.status !== 'available') throw wrongClusterState(cluster, 'available');
  beginClusterTransition(ctx, ctx.account, ctx.region, state, cluster, 'stopping');
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

/** StartDBCluster: a `stopped` cluster goes `starting`, then `available` with its members. */
export const startDBCluster: RdsOperation = (input, ctx) => {
  const { state, cluster } = findCluster(ctx, requiredString(input, 'DBClusterIdentifier'));
  if (cluster.status !== 'stopped') throw wrongClusterState(cluster, 'stopped');
  // Started by hand: RDS's own start after 7 days no longer applies.
  delete cluster.autoStartAt;
  beginClusterTransition(ctx, ctx.account, ctx.region, state, cluster, 'starting');
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

export interface DbClusterSeed {
  identifier: string;
  /** Default `aurora-postgresql`. */
  engine?: string;
  deletionProtection?: boolean;
  copyTagsToSnapshot?: boolean;
  tags?: Record<string, string> | Tag[];
  /** Default `available`; a stopped cluster (and its members) is started again by RDS 7 days after `stoppedAt`. */
  status?: 'available' | 'stopped';
  /** ISO-8601, for a stopped cluster: when it stopped (default `now`). */
  stoppedAt?: string;
  /** Identifiers of its member DB instances (the first is the writer), default none; class `db.r6g.large`. */
  instances?: string[];
}

/**
 * Puts DB clusters and their member instances straight into the store (no events), for the stage's `--seed`.
 * Returns the cluster identifiers. A stopped cluster's automatic start is armed by `rds.start()`.
 */
export function seedDbClusters(store: Store, account: string, region: string, now: number, specs: DbClusterSeed[]): string[] {
  const state = rdsState(store, account, region);
  const ids = specs.map((spec) => {
    const identifier = checkClusterIdentifier(spec.identifier);
    if (clustersOf(state)[identifier]) throw new RangeError(`DB cluster ${identifier} is already in ${region}`);
    const engineName = spec.engine ?? 'aurora-postgresql';
    const engine = CLUSTER_ENGINES[engineName];
    if (!engine) throw new RangeError(`DB cluster ${identifier}: engine ${engineName} is not one of ${Object.keys(CLUSTER_ENGINES).join(', ')}`);
    const tags = Array.isArray(spec.tags) ? spec.tags : Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const status = spec.status ?? 'available';
    if (status !== 'available' && status !== 'stopped') throw new RangeError(`DB cluster ${identifier}: status must be available or stopped`);
    const stoppedAt = spec.stoppedAt === undefined ? now : Date.parse(spec.stoppedAt);
    if (Number.isNaN(stoppedAt)) throw new RangeError(`DB cluster ${identifier}: stoppedAt is not an ISO-8601 time`);
    if (spec.instances !== undefined && (!Array.isArray(spec.instances) || spec.instances.some((m) => typeof m !== 'string'))) {
      throw new RangeError(`DB cluster ${identifier}: instances must be a list of DB instance identifiers`);
    }
    const clusterTags = checkTags(tags.map((t) => ({ Key: t.Key, Value: t.Value })));
    const members = (spec.instances ?? []).map((m) => checkIdentifier(m));
    for (const m of members) if (state.instances[m] || members.indexOf(m) !== members.lastIndexOf(m)) throw new RangeError(`DB cluster ${identifier}: DB instance ${m} is already in ${region}`);
    for (const m of members) {
      state.instances[m] = {
        identifier: m,
        resourceId: newInstanceResourceId(),
        instanceClass: 'db.r6g.large',
        engine: engineName,
        engineVersion: engine.version,
        status,
        dbClusterIdentifier: identifier,
        allocatedStorage: 1,
        storageType: 'aurora',
        masterUsername: 'admin',
        port: engine.port,
        availabilityZone: `${region}a`,
        multiAZ: false,
        publiclyAccessible: false,
        storageEncrypted: false,
        deletionProtection: false,
        createTime: new Date(now).toISOString(),
        tags: [],
      };
    }
    clustersOf(state)[identifier] = {
      identifier,
      resourceId: newResourceId(),
      engine: engineName,
      engineVersion: engine.version,
      status,
      ...(status === 'stopped' ? { autoStartAt: stoppedAt + AUTO_START_AFTER_MS } : {}),
      masterUsername: 'admin',
      port: engine.port,
      storageEncrypted: false,
      deletionProtection: spec.deletionProtection ?? false,
      copyTagsToSnapshot: spec.copyTagsToSnapshot ?? false,
      createTime: new Date(now).toISOString(),
      tags: clusterTags,
    };
    return identifier;
  });
  store.changed();
  return ids;
}
