/**
 * Aurora DB clusters, as far as runbooks that check and change cluster settings need them: CreateDBCluster
 * (`creating`, then `available` on the virtual clock), DescribeDBClusters (identifier or ARN, filters, paging),
 * ModifyDBCluster (DeletionProtection and CopyTagsToSnapshot, which RDS applies at once; any other parameter is
 * refused naming it), DeleteDBCluster; no cluster instances, snapshots or endpoints beyond the cluster's own.
 * Shapes and error codes follow the RDS API reference.
 */
import { randomBytes } from 'node:crypto';
import { AwsError, notEmulated } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { pageAfter, type Runtime, type Tag } from './filters.js';
import {
  checkTags,
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
  type RdsState,
} from './rds-model.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) a cluster stays `creating`, and `deleting`. */
export const DB_CLUSTER_DELAYS_MS = { creating: 5 * 60_000, deleting: 2 * 60_000 } as const;

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
  status: 'creating' | 'available' | 'deleting';
  /** Epoch ms (virtual) at which `creating` or `deleting` ends. */
  transitionAt?: number;
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

const clusterArn = (region: string, account: string, id: string) => `arn:aws:rds:${region}:${account}:cluster:${id}`;
export const dbClusterNotFound = (id: string) => new AwsError('DBClusterNotFoundFault', `DBCluster ${id} not found.`, 404);

function clusterIdOf(idOrArn: string): string {
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
    DBClusterMembers: new XmlList('DBClusterMember', []),
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
  };
}

/** Ends a cluster's `creating` or `deleting` on the clock. Idempotent: a timer that finds it moved on does nothing. */
export function armDbCluster(rt: Runtime, account: string, region: string, cluster: DbClusterRecord): void {
  const at = cluster.transitionAt;
  if (at === undefined) return;
  const { identifier, status } = cluster;
  rt.clock.at(at, () => {
    const state = existingRdsState(rt.store, account, region);
    const current = state?.clusters?.[identifier];
    if (!state || !current || current.status !== status || current.transitionAt !== at) return;
    delete current.transitionAt;
    if (status === 'deleting') delete clustersOf(state)[identifier];
    else current.status = 'available';
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
  cluster.status = 'deleting';
  cluster.transitionAt = ctx.clock.nowMs() + DB_CLUSTER_DELAYS_MS.deleting;
  armDbCluster(ctx, ctx.account, ctx.region, cluster);
  return { DBCluster: clusterXml(cluster, state, ctx.account, ctx.region) };
};

export interface DbClusterSeed {
  identifier: string;
  /** Default `aurora-postgresql`. */
  engine?: string;
  deletionProtection?: boolean;
  copyTagsToSnapshot?: boolean;
  tags?: Record<string, string> | Tag[];
}

/** Puts available DB clusters straight into the store, for the stage's `--seed`. Returns their identifiers. */
export function seedDbClusters(store: Store, account: string, region: string, now: number, specs: DbClusterSeed[]): string[] {
  const state = rdsState(store, account, region);
  const ids = specs.map((spec) => {
    const identifier = checkClusterIdentifier(spec.identifier);
    if (clustersOf(state)[identifier]) throw new RangeError(`DB cluster ${identifier} is already in ${region}`);
    const engineName = spec.engine ?? 'aurora-postgresql';
    const engine = CLUSTER_ENGINES[engineName];
    if (!engine) throw new RangeError(`DB cluster ${identifier}: engine ${engineName} is not one of ${Object.keys(CLUSTER_ENGINES).join(', ')}`);
    const tags = Array.isArray(spec.tags) ? spec.tags : Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    clustersOf(state)[identifier] = {
      identifier,
      resourceId: newResourceId(),
      engine: engineName,
      engineVersion: engine.version,
      status: 'available',
      masterUsername: 'admin',
      port: engine.port,
      storageEncrypted: false,
      deletionProtection: spec.deletionProtection ?? false,
      copyTagsToSnapshot: spec.copyTagsToSnapshot ?? false,
      createTime: new Date(now).toISOString(),
      tags: checkTags(tags.map((t) => ({ Key: t.Key, Value: t.Value }))),
    };
    return identifier;
  });
  store.changed();
  return ids;
}
