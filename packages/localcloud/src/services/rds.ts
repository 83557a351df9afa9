/**
 * RDS (query protocol, XML answers): DB instances outside Aurora, with their statuses on the virtual clock,
 * RDS's automatic start of an instance stopped for 7 days, and `RDS DB Instance Event`s on the bus.
 * Operations return objects with RDS's wire element names; the server writes the XML.
 */
import { AwsError, notEmulated } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { pageAfter, type Tag } from './filters.js';
import { armAllDbClusters, clusterIdOf, createDBCluster, deleteDBCluster, describeDBClusters, modifyDBCluster, startDBCluster, stopDBCluster } from './rds-clusters.js';
import { addTagsToResource, listTagsForResource, removeTagsFromResource } from './rds-tags.js';
import {
  armAllDbSnapshots,
  checkSnapshotIdentifier,
  copyDBSnapshot,
  createDBSnapshot,
  deleteDBSnapshot,
  describeDBSnapshotAttributes,
  describeDBSnapshots,
  modifyDBSnapshotAttribute,
  takeSnapshot,
} from './rds-snapshots.js';
import { armAllDbInstances, AUTO_START_AFTER_MS, beginTransition, publishRdsEvent } from './rds-lifecycle.js';
import {
  checkBackupWindow,
  checkIdentifier,
  checkInstanceClass,
  checkTags,
  dbInstanceNotFound,
  dbInstanceXml,
  DEFAULT_BACKUP_RETENTION_DAYS,
  ENGINES,
  identifierOf,
  invalidCombination,
  invalidParameter,
  newResourceId,
  optionalBool,
  optionalInt,
  optionalString,
  RDS_SERVICE,
  rdsState,
  requiredString,
  STORAGE_TYPES,
  wireFilters,
  wireTags,
  type DbInstanceRecord,
  type RdsState,
} from './rds-model.js';
import type { RequestContext, ServiceDefinition } from './types.js';

export { AUTO_START_AFTER_MS, RDS_DELAYS_MS, RDS_EVENTS } from './rds-lifecycle.js';
export { DB_SNAPSHOT_AVAILABLE_DELAY_MS } from './rds-snapshots.js';
export { DB_CLUSTER_DELAYS_MS, RDS_CLUSTER_EVENTS, seedDbClusters, type DbClusterSeed } from './rds-clusters.js';

type RdsOperation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

const DESCRIBE_FILTERS = ['db-cluster-id', 'db-instance-id', 'dbi-resource-id', 'domain', 'engine'];

/** The instance an operation names, or RDS's DBInstanceNotFound. */
function findInstance(ctx: RequestContext, identifier: string): { state: RdsState; instance: DbInstanceRecord } {
  const state = rdsState(ctx.store, ctx.account, ctx.region);
  const instance = state.instances[identifierOf(identifier)];
  if (!instance) throw dbInstanceNotFound(identifier);
  return { state, instance };
}

function answer(ctx: RequestContext, state: RdsState, instance: DbInstanceRecord): Record<string, XmlValue> {
  return { DBInstance: dbInstanceXml(instance, state, ctx.account, ctx.region) };
}

/** A snapshot an operation asks for on the way (StopDBInstance, DeleteDBInstance): its identifier checked and free. */
function snapshotToTake(input: QueryTree, parameter: string, state: RdsState): string | undefined {
  const given = optionalString(input, parameter);
  if (given === undefined) return undefined;
  const identifier = checkSnapshotIdentifier(given, parameter);
  if (state.snapshots?.[identifier]) throw new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${identifier} already exists.`);
  return identifier;
}

const createDBInstance: RdsOperation = (input, ctx) => {
  const identifier = checkIdentifier(requiredString(input, 'DBInstanceIdentifier'));
  const instanceClass = requiredString(input, 'DBInstanceClass');
  const engineName = requiredString(input, 'Engine').toLowerCase();
  if (engineName.startsWith('aurora') || engineName === 'neptune' || engineName === 'docdb') {
    throw invalidCombination(`localcloud emulates DB instances outside clusters only; engine ${engineName} needs a DB cluster.`);
  }
  const engine = ENGINES[engineName];
  if (!engine) throw invalidParameter(`Invalid DB engine: ${engineName}`);
  const engineVersion = optionalString(input, 'EngineVersion') ?? engine.version;
  checkInstanceClass(instanceClass, engineName, engineVersion, engine.license);

  const storageType = optionalString(input, 'StorageType') ?? 'gp2';
  if (!STORAGE_TYPES.includes(storageType)) throw invalidParameter(`Invalid storage type: ${storageType}`);
  const allocatedStorage = optionalInt(input, 'AllocatedStorage');
  if (allocatedStorage === undefined) throw invalidParameter('The parameter AllocatedStorage must be provided and must not be blank.');
  const [minStorage, maxStorage] = engine.storage;
  if (allocatedStorage < minStorage || allocatedStorage > maxStorage) {
    throw invalidCombination(`Invalid storage size for engine name ${engineName} and storage type ${storageType}: ${allocatedStorage}`);
  }

  const masterUsername = optionalString(input, 'MasterUsername');
  if (!masterUsername) throw invalidParameter('The parameter MasterUsername must be provided and must not be blank.');
  if (!/^[A-Za-z][A-Za-z0-9_]{0,15}$/.test(masterUsername)) {
    throw invalidParameter('The parameter MasterUsername is not a valid identifier: 1 to 16 letters, digits or underscores, beginning with a letter.');
  }
  // The password is checked as RDS does but not kept: nothing here connects to the database.
  if (optionalBool(input, 'ManageMasterUserPassword') !== true) {
    const password = optionalString(input, 'MasterUserPassword');
    if (!password) throw invalidParameter('The parameter MasterUserPassword must be provided and must not be blank.');
    if (password.length < 8) throw invalidParameter('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  }
  const multiAZ = optionalBool(input, 'MultiAZ') ?? false;
  const availabilityZone = optionalString(input, 'AvailabilityZone');
  if (multiAZ && availabilityZone) throw invalidCombination('Requesting a specific availability zone is not valid for Multi-AZ instances.');
  const tags = checkTags(wireTags(input));

  const state = rdsState(ctx.store, ctx.account, ctx.region);
  if (state.instances[identifier]) throw new AwsError('DBInstanceAlreadyExists', 'DB instance already exists');
  const instance: DbInstanceRecord = {
    identifier,
    resourceId: newResourceId(),
    instanceClass,
    engine: engineName,
    engineVersion,
    status: 'creating',
    allocatedStorage,
    storageType,
    masterUsername,
    ...(optionalString(input, 'DBName') ? { dbName: optionalString(input, 'DBName') } : {}),
    port: optionalInt(input, 'Port') ?? engine.port,
    availabilityZone: availabilityZone ?? `${ctx.region}a`,
    multiAZ,
    publiclyAccessible: optionalBool(input, 'PubliclyAccessible') ?? false,
    storageEncrypted: optionalBool(input, 'StorageEncrypted') ?? false,
    deletionProtection: optionalBool(input, 'DeletionProtection') ?? false,
    tags,
  };
  state.instances[identifier] = instance;
  beginTransition(ctx, ctx.account, ctx.region, instance, 'creating');
  return answer(ctx, state, instance);
};

const describeDBInstances: RdsOperation = (input, ctx) => {
  const requested = optionalString(input, 'DBInstanceIdentifier');
  const filters = wireFilters(input);
  for (const f of filters) if (!DESCRIBE_FILTERS.includes(f.name)) throw invalidParameter(`Unrecognized filter name: ${f.name}.`);
  const maxRecords = optionalInt(input, 'MaxRecords') ?? 100;
  if (maxRecords < 20 || maxRecords > 100) throw invalidParameter(`Invalid value ${maxRecords} for MaxRecords. Must be between 20 and 100`);

  const state = rdsState(ctx.store, ctx.account, ctx.region);
  let instances = Object.values(state.instances);
  if (requested !== undefined) {
    const found = state.instances[identifierOf(requested)];
    if (!found) throw dbInstanceNotFound(requested);
    instances = [found];
  }
  const selected = instances
    .filter((i) =>
      filters.every(({ name, values }) => {
        if (name === 'db-instance-id') return values.some((v) => identifierOf(v) === i.identifier);
        if (name === 'dbi-resource-id') return values.includes(i.resourceId);
        if (name === 'engine') return values.includes(i.engine);
        if (name === 'db-cluster-id') return i.dbClusterIdentifier !== undefined && values.some((v) => clusterIdOf(v) === i.dbClusterIdentifier);
        // No instance here belongs to a directory domain.
        return false;
      }),
    )
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
  const { page, nextToken } = pageAfter(selected, (i) => i.identifier, maxRecords, optionalString(input, 'Marker'), () =>
    invalidParameter('The parameter Marker is not valid.'),
  );
  return {
    DBInstances: new XmlList('DBInstance', page.map((i) => dbInstanceXml(i, state, ctx.account, ctx.region))),
    ...(nextToken ? { Marker: nextToken } : {}),
  };
};

/** Aurora members are stopped and started with their cluster (StopDBCluster, StartDBCluster), never on their own. */
function refuseClusterMember(instance: DbInstanceRecord): void {
  if (instance.dbClusterIdentifier !== undefined) throw invalidCombination(`${instance.engine} DB instances are not eligible for stopping and starting.`);
}

const startDBInstance: RdsOperation = (input, ctx) => {
  const { state, instance } = findInstance(ctx, requiredString(input, 'DBInstanceIdentifier'));
  refuseClusterMember(instance);
  if (instance.status !== 'stopped') {
    throw new AwsError(
      'InvalidDBInstanceState',
      `Instance ${instance.identifier} cannot be started as it is not in one of the following statuses: 'stopped, inaccessible-encryption-credentials-recoverable, incompatible-network (only valid for non-SqlServer instances)'.`,
    );
  }
  // Started by hand: RDS's own start after 7 days no longer applies.
  delete instance.autoStartAt;
  beginTransition(ctx, ctx.account, ctx.region, instance, 'starting');
  return answer(ctx, state, instance);
};

const stopDBInstance: RdsOperation = (input, ctx) => {
  const { state, instance } = findInstance(ctx, requiredString(input, 'DBInstanceIdentifier'));
  refuseClusterMember(instance);
  const snapshot = snapshotToTake(input, 'DBSnapshotIdentifier', state);
  if (instance.status !== 'available') throw new AwsError('InvalidDBInstanceState', `Instance ${instance.identifier} is not in available state.`);
  if (snapshot) takeSnapshot(ctx, ctx.account, ctx.region, state, instance, snapshot, []);
  beginTransition(ctx, ctx.account, ctx.region, instance, 'stopping');
  return answer(ctx, state, instance);
};

/** What ModifyDBInstance applies here; any other parameter fails (UnsupportedOperation naming it) rather than being dropped unseen. */
const MODIFIABLE = new Set([
  'DBInstanceIdentifier',
  'DBInstanceClass',
  'ApplyImmediately',
  'DeletionProtection',
  'PubliclyAccessible',
  'MultiAZ',
  'BackupRetentionPeriod',
  'PreferredBackupWindow',
  'CopyTagsToSnapshot',
]);

/**
 * ModifyDBInstance as the RDS API reference describes it: DeletionProtection, CopyTagsToSnapshot and
 * PreferredBackupWindow apply at once, as does PubliclyAccessible ("Changes to the PubliclyAccessible parameter are
 * applied immediately regardless of the value of the ApplyImmediately parameter", the instance going `modifying`);
 * a BackupRetentionPeriod from one non-zero value to another applies at once too. DBInstanceClass, MultiAZ and a
 * BackupRetentionPeriod change between 0 and non-zero (which turns automated backups on or off) wait in
 * PendingModifiedValues for the maintenance window (which localcloud does not run) unless ApplyImmediately, which
 * also applies what earlier calls left pending: the instance is then `modifying` until they are applied.
 * Every value is checked before anything changes.
 */
const modifyDBInstance: RdsOperation = (input, ctx) => {
  const { state, instance } = findInstance(ctx, requiredString(input, 'DBInstanceIdentifier'));
  const unsupported = Object.keys(input).filter((k) => !MODIFIABLE.has(k));
  if (unsupported.length > 0) throw notEmulated('query', `rds:ModifyDBInstance parameter${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')} (emulated: ${[...MODIFIABLE].slice(1).join(', ')})`);
  if (instance.status !== 'available') throw new AwsError('InvalidDBInstanceState', 'Database instance is not in available state.');
  const requestedClass = optionalString(input, 'DBInstanceClass');
  if (requestedClass !== undefined) {
    checkInstanceClass(requestedClass, instance.engine, instance.engineVersion, ENGINES[instance.engine]?.license ?? '');
  }
  const multiAZ = optionalBool(input, 'MultiAZ');
  const publiclyAccessible = optionalBool(input, 'PubliclyAccessible');
  const deletionProtection = optionalBool(input, 'DeletionProtection');
  const copyTagsToSnapshot = optionalBool(input, 'CopyTagsToSnapshot');
  const applyImmediately = optionalBool(input, 'ApplyImmediately') === true;
  const retention = optionalInt(input, 'BackupRetentionPeriod');
  if (retention !== undefined && (retention < 0 || retention > 35)) {
    throw invalidParameter(`Invalid backup retention period: ${retention}. The backup retention period must be between 0 and 35 days.`);
  }
  const backupWindow = optionalString(input, 'PreferredBackupWindow');
  if (backupWindow !== undefined) checkBackupWindow(backupWindow);

  if (deletionProtection !== undefined) instance.deletionProtection = deletionProtection;
  if (copyTagsToSnapshot !== undefined) instance.copyTagsToSnapshot = copyTagsToSnapshot;
  if (backupWindow !== undefined) instance.preferredBackupWindow = backupWindow;
  if (retention !== undefined) {
    const current = instance.backupRetentionPeriod ?? DEFAULT_BACKUP_RETENTION_DAYS;
    delete instance.pendingBackupRetentionPeriod;
    // Turning automated backups on or off is an outage RDS schedules; from one non-zero period to another is not.
    if (current !== 0 && retention !== 0) instance.backupRetentionPeriod = retention;
    else if (retention !== current) instance.pendingBackupRetentionPeriod = retention;
  }
  const newClass = requestedClass !== undefined && requestedClass !== instance.instanceClass ? requestedClass : undefined;
  if (newClass) instance.pendingInstanceClass = newClass;
  if (multiAZ !== undefined) {
    if (multiAZ !== instance.multiAZ) instance.pendingMultiAZ = multiAZ;
    else delete instance.pendingMultiAZ;
  }
  const publicChange = publiclyAccessible !== undefined && publiclyAccessible !== instance.publiclyAccessible;
  if (publicChange) instance.publiclyAccessible = publiclyAccessible;
  const pending = instance.pendingInstanceClass !== undefined || instance.pendingMultiAZ !== undefined || instance.pendingBackupRetentionPeriod !== undefined;
  const applyPending = applyImmediately && pending;
  if (applyPending || publicChange) {
    // What is pending for the maintenance window is applied when `modifying` ends only if ApplyImmediately asked.
    instance.applyPendingOnModified = applyPending;
    beginTransition(ctx, ctx.account, ctx.region, instance, 'modifying');
    if (applyPending && instance.pendingInstanceClass) publishRdsEvent(ctx, ctx.account, ctx.region, instance, 'classChanging', ctx.clock.nowMs());
  }
  return answer(ctx, state, instance);
};

const deleteDBInstance: RdsOperation = (input, ctx) => {
  const { state, instance } = findInstance(ctx, requiredString(input, 'DBInstanceIdentifier'));
  const finalSnapshot = snapshotToTake(input, 'FinalDBSnapshotIdentifier', state);
  const skip = optionalBool(input, 'SkipFinalSnapshot') === true;
  if (!skip && !finalSnapshot) throw invalidCombination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  if (skip && finalSnapshot) throw invalidCombination('FinalDBSnapshotIdentifier can not be specified when deleting a DB instance with SkipFinalSnapshot enabled.');
  if (instance.deletionProtection) throw invalidCombination('Cannot delete protected DB Instance, please disable deletion protection and try again.');
  if (instance.status === 'deleting') throw new AwsError('InvalidDBInstanceState', `Instance ${instance.identifier} is already being deleted.`);
  if (finalSnapshot) {
    if (instance.status !== 'available') throw new AwsError('InvalidDBInstanceState', `Cannot create a snapshot because the database instance ${instance.identifier} is not currently in the available state.`);
    takeSnapshot(ctx, ctx.account, ctx.region, state, instance, finalSnapshot, instance.tags);
  }
  delete instance.autoStartAt;
  delete instance.pendingInstanceClass;
  beginTransition(ctx, ctx.account, ctx.region, instance, 'deleting');
  return answer(ctx, state, instance);
};

export const rds: ServiceDefinition = {
  name: 'rds',
  protocol: 'query',
  xmlns: 'http://rds.amazonaws.com/doc/2014-10-31/',
  operations: {
    CreateDBInstance: createDBInstance,
    DescribeDBInstances: describeDBInstances,
    StartDBInstance: startDBInstance,
    StopDBInstance: stopDBInstance,
    ModifyDBInstance: modifyDBInstance,
    DeleteDBInstance: deleteDBInstance,
    CreateDBSnapshot: createDBSnapshot,
    DescribeDBSnapshots: describeDBSnapshots,
    DeleteDBSnapshot: deleteDBSnapshot,
    CopyDBSnapshot: copyDBSnapshot,
    ModifyDBSnapshotAttribute: modifyDBSnapshotAttribute,
    DescribeDBSnapshotAttributes: describeDBSnapshotAttributes,
    CreateDBCluster: createDBCluster,
    DescribeDBClusters: describeDBClusters,
    ModifyDBCluster: modifyDBCluster,
    DeleteDBCluster: deleteDBCluster,
    StartDBCluster: startDBCluster,
    StopDBCluster: stopDBCluster,
    ListTagsForResource: listTagsForResource,
    AddTagsToResource: addTagsToResource,
    RemoveTagsFromResource: removeTagsFromResource,
  },
  start(rt) {
    armAllDbInstances(rt);
    armAllDbSnapshots(rt, rt.store.all<RdsState>(RDS_SERVICE));
    armAllDbClusters(rt, rt.store.all<RdsState>(RDS_SERVICE));
  },
};

export interface DbInstanceSeed {
  identifier: string;
  /** Default `postgres`. */
  engine?: string;
  /** Default `db.t3.micro`. */
  instanceClass?: string;
  /** GiB; default 20. */
  allocatedStorage?: number;
  /** Default `admin`. */
  masterUsername?: string;
  tags?: Record<string, string> | Tag[];
  /** Default `available`. */
  status?: 'available' | 'stopped';
  /** ISO-8601, for a stopped instance: when it stopped (default `now`); RDS starts it again 7 days later. */
  stoppedAt?: string;
  /** ISO-8601; default `now`. */
  createTime?: string;
  /** Default false. */
  publiclyAccessible?: boolean;
  /** Days, 0 (automated backups off) to 35; default 1, as RDS's. */
  backupRetentionPeriod?: number;
  /** Default false. */
  copyTagsToSnapshot?: boolean;
  /** Default false. */
  multiAZ?: boolean;
}

/**
 * Puts DB instances straight into the store (no events), for the stage's `--seed`. Returns their identifiers
 * (lower case, as RDS keeps them). A stopped instance's automatic start is armed by `rds.start()`, which
 * localcloud calls at startup, reset and after seeding (it is idempotent).
 */
export function seedDbInstances(store: Store, account: string, region: string, now: number, specs: DbInstanceSeed[]): string[] {
  const state = rdsState(store, account, region);
  const ids = specs.map((spec) => {
    const identifier = checkIdentifier(spec.identifier);
    if (state.instances[identifier]) throw new RangeError(`DB instance ${identifier} is already in ${region}`);
    const engineName = spec.engine ?? 'postgres';
    const engine = ENGINES[engineName];
    if (!engine) throw new RangeError(`DB instance ${identifier}: engine ${engineName} is not one of ${Object.keys(ENGINES).join(', ')}`);
    const status = spec.status ?? 'available';
    for (const flag of ['publiclyAccessible', 'multiAZ'] as const) {
      if (spec[flag] !== undefined && typeof spec[flag] !== 'boolean') throw new RangeError(`DB instance ${identifier}: ${flag} must be true or false`);
    }
    const stoppedAt = spec.stoppedAt === undefined ? now : Date.parse(spec.stoppedAt);
    if (Number.isNaN(stoppedAt)) throw new RangeError(`DB instance ${identifier}: stoppedAt is not an ISO-8601 time`);
    const tags = Array.isArray(spec.tags) ? spec.tags : Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const retention = spec.backupRetentionPeriod ?? DEFAULT_BACKUP_RETENTION_DAYS;
    if (!Number.isInteger(retention) || retention < 0 || retention > 35) throw new RangeError(`DB instance ${identifier}: backupRetentionPeriod must be an integer from 0 to 35`);
    state.instances[identifier] = {
      identifier,
      resourceId: newResourceId(),
      instanceClass: spec.instanceClass ?? 'db.t3.micro',
      engine: engineName,
      engineVersion: engine.version,
      status,
      ...(status === 'stopped' ? { autoStartAt: stoppedAt + AUTO_START_AFTER_MS } : {}),
      allocatedStorage: spec.allocatedStorage ?? 20,
      storageType: 'gp2',
      masterUsername: spec.masterUsername ?? 'admin',
      port: engine.port,
      availabilityZone: `${region}a`,
      multiAZ: spec.multiAZ ?? false,
      publiclyAccessible: spec.publiclyAccessible ?? false,
      storageEncrypted: false,
      deletionProtection: false,
      backupRetentionPeriod: retention,
      copyTagsToSnapshot: spec.copyTagsToSnapshot ?? false,
      createTime: spec.createTime ?? new Date(now).toISOString(),
      tags: checkTags(tags.map((t) => ({ Key: t.Key, Value: t.Value }))),
    };
    return identifier;
  });
  store.changed();
  return ids;
}
