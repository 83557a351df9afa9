/**
 * RDS's persisted state (per account and region), identifiers, engines, the query-protocol input helpers with
 * RDS's error codes, and the `DBInstance` element as the SDK reads it.
 */
import { randomBytes } from 'node:crypto';
import { AwsError } from '../errors.js';
import { type QueryTree, type QueryValue, list, optionalBool, optionalString, requiredString } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import type { Tag } from './filters.js';
import type { DbClusterRecord } from './rds-clusters.js';

export const RDS_SERVICE = 'rds';

export type DbInstanceStatus = 'creating' | 'available' | 'stopping' | 'stopped' | 'starting' | 'modifying' | 'deleting';

export interface DbInstanceRecord {
  /** Lower case: RDS keeps identifiers in lower case whatever case they were given in. */
  identifier: string;
  /** `db-` + 26 characters, the DbiResourceId. */
  resourceId: string;
  instanceClass: string;
  engine: string;
  engineVersion: string;
  status: DbInstanceStatus;
  /** The Aurora DB cluster this instance is a member of: it is stopped and started with its cluster only. */
  dbClusterIdentifier?: string;
  /** Epoch ms (virtual) at which the current transitional status (creating, stopping …) ends. */
  transitionAt?: number;
  /** Epoch ms (virtual) at which a stopped instance is started again by RDS: 7 days after it stopped. */
  autoStartAt?: number;
  /** A class change not applied yet: ApplyImmediately=false, or the change being applied while `modifying`. */
  pendingInstanceClass?: string;
  /** A Multi-AZ change not applied yet (PendingModifiedValues.MultiAZ). */
  pendingMultiAZ?: boolean;
  /** A backup retention change between 0 and non-zero not applied yet (PendingModifiedValues.BackupRetentionPeriod). */
  pendingBackupRetentionPeriod?: number;
  /** Days automated backups are kept, 0 (none) to 35; absent in records written before it was emulated: RDS's default 1. */
  backupRetentionPeriod?: number;
  /** `hh24:mi-hh24:mi` UTC; absent: the default below. */
  preferredBackupWindow?: string;
  /** Whether snapshots of the instance take its tags; absent: false. */
  copyTagsToSnapshot?: boolean;
  /** Whether the current `modifying` applies the pending class and Multi-AZ change (ApplyImmediately), or only PubliclyAccessible. */
  applyPendingOnModified?: boolean;
  allocatedStorage: number;
  storageType: string;
  masterUsername: string;
  dbName?: string;
  port: number;
  availabilityZone: string;
  multiAZ: boolean;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  deletionProtection: boolean;
  /** ISO-8601; set when creation completes, as RDS reports InstanceCreateTime only from then. */
  createTime?: string;
  tags: Tag[];
}

/** A manual DB snapshot: what it was taken of, and its status (`creating`, then `available`). */
export interface DbSnapshotRecord {
  /** Lower case, as RDS keeps it. */
  identifier: string;
  instanceIdentifier: string;
  instanceResourceId: string;
  engine: string;
  engineVersion: string;
  allocatedStorage: number;
  storageType: string;
  port: number;
  availabilityZone: string;
  masterUsername: string;
  instanceCreateTime?: string;
  encrypted: boolean;
  kmsKeyId?: string;
  status: 'creating' | 'available' | 'deleted';
  /** Epoch ms (virtual) at which a creating snapshot is available. */
  availableAt?: number;
  /** ISO-8601: when the snapshot (or, for a copy, its source) was taken. */
  createTime: string;
  /** A copy's source snapshot ARN. */
  sourceSnapshotArn?: string;
  sourceRegion?: string;
  /** The `restore` attribute: account ids, or `all` (public). */
  restoreAccounts: string[];
  tags: Tag[];
}

/** Plain JSON, persisted by the store. */
export interface RdsState {
  instances: Record<string, DbInstanceRecord>;
  /** By identifier; absent in state files written before DB snapshots were emulated. */
  snapshots?: Record<string, DbSnapshotRecord>;
  /** Aurora DB clusters by identifier (rds-clusters.ts); absent before they were emulated. */
  clusters?: Record<string, DbClusterRecord>;
  /** The random part of the account's endpoint names in the region (`<id>.<suffix>.<region>.rds.amazonaws.com`). */
  endpointSuffix: string;
}

export function rdsState(store: Store, account: string, region: string): RdsState {
  return store.scope<RdsState>(RDS_SERVICE, account, region, () => ({
    instances: {},
    endpointSuffix: [...randomBytes(12)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join(''),
  }));
}

/** The state of one account and region if it exists, without creating it (timers fire after a reset too). */
export function existingRdsState(store: Store, account: string, region: string): RdsState | undefined {
  return store.all<RdsState>(RDS_SERVICE).find((s) => s.account === account && s.region === region)?.state;
}

export const dbInstanceArn = (region: string, account: string, identifier: string) => `arn:aws:rds:${region}:${account}:db:${identifier}`;

export function newResourceId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return 'db-' + [...randomBytes(26)].map((b) => alphabet[b % alphabet.length]).join('');
}

export const endpointAddress = (state: RdsState, region: string, identifier: string) => `${identifier}.${state.endpointSuffix}.${region}.rds.amazonaws.com`;

// --- engines ------------------------------------------------------------------------------------------------

interface EngineFacts {
  version: string;
  port: number;
  /** AllocatedStorage range in GiB for general-purpose storage. */
  storage: [number, number];
  license: string;
  parameterGroupFamily: string;
}

const SQLSERVER: Omit<EngineFacts, 'license'> = { version: '16.00.4165.4.v1', port: 1433, storage: [20, 16384], parameterGroupFamily: 'sqlserver-16.0' };
const ORACLE: Omit<EngineFacts, 'license'> = { version: '19.0.0.0.ru-2024-10.rur-2024-10.r1', port: 1521, storage: [20, 65536], parameterGroupFamily: 'oracle-19' };

/** The engines of DB instances outside Aurora, with the defaults a CreateDBInstance without them gets. */
export const ENGINES: Record<string, EngineFacts> = {
  mysql: { version: '8.0.39', port: 3306, storage: [20, 65536], license: 'general-public-license', parameterGroupFamily: 'mysql8.0' },
  mariadb: { version: '10.11.9', port: 3306, storage: [20, 65536], license: 'general-public-license', parameterGroupFamily: 'mariadb10.11' },
  postgres: { version: '16.4', port: 5432, storage: [20, 65536], license: 'postgresql-license', parameterGroupFamily: 'postgres16' },
  'oracle-ee': { ...ORACLE, license: 'bring-your-own-license' },
  'oracle-se2': { ...ORACLE, license: 'bring-your-own-license' },
  'sqlserver-ee': { ...SQLSERVER, license: 'license-included' },
  'sqlserver-se': { ...SQLSERVER, license: 'license-included' },
  'sqlserver-ex': { ...SQLSERVER, license: 'license-included' },
  'sqlserver-web': { ...SQLSERVER, license: 'license-included' },
};

export const STORAGE_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'standard'];

// --- validation ---------------------------------------------------------------------------------------------

export const invalidParameter = (message: string) => new AwsError('InvalidParameterValue', message);
export const invalidCombination = (message: string) => new AwsError('InvalidParameterCombination', message);

export function dbInstanceNotFound(identifier: string): AwsError {
  return new AwsError('DBInstanceNotFound', `DBInstance ${identifier} not found.`, 404);
}

/** 1-63 letters, digits and hyphens; a letter first; no trailing hyphen and no two hyphens in a row. */
const IDENTIFIER = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}$/;

/** Checks an instance identifier as RDS does and returns it in lower case, the form RDS keeps. */
export function checkIdentifier(identifier: string): string {
  if (!IDENTIFIER.test(identifier) || identifier.endsWith('-')) {
    throw invalidParameter(
      'The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.',
    );
  }
  return identifier.toLowerCase();
}

/** An identifier or an instance ARN (DescribeDBInstances and its `db-instance-id` filter take both). */
export function identifierOf(idOrArn: string): string {
  const arn = /^arn:aws[a-z-]*:rds:[^:]+:\d{12}:db:(.+)$/.exec(idOrArn);
  return (arn ? arn[1] : idOrArn).toLowerCase();
}

export function checkInstanceClass(instanceClass: string, engine: string, engineVersion: string, license: string): void {
  if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) {
    throw invalidCombination(
      `RDS does not support creating a DB instance with the following combination: DBInstanceClass=${instanceClass}, Engine=${engine}, EngineVersion=${engineVersion}, LicenseModel=${license}. For supported combinations of instance class and database engine version, see the documentation.`,
    );
  }
}

/** Tags as RDS checks them: at most 50, key 1-128 characters without the `aws:` or `rds:` prefix, value up to 256. */
export function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > 50) throw new AwsError('TagQuotaPerResourceExceeded', 'Cannot have more than 50 tags on a resource.');
  for (const t of tags) {
    if (t.Key.length < 1 || t.Key.length > 128) throw invalidParameter(`Tag key must be between 1 and 128 characters long: ${t.Key}`);
    if (/^(aws|rds):/i.test(t.Key)) throw invalidParameter(`Tag keys beginning with aws: or rds: are reserved: ${t.Key}`);
    if (t.Value.length > 256) throw invalidParameter(`Tag value must be at most 256 characters long: ${t.Key}`);
  }
  return tags;
}

// --- query-protocol input (the readers every query service shares live in protocols/query.ts) -----------------------------------------------------------------------------------

export { optionalBool, optionalString, requiredString };


export function optionalInt(input: QueryTree, name: string): number | undefined {
  const v = optionalString(input, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw invalidParameter(`Invalid value ${v} for ${name}: an integer is expected.`);
  return n;
}

/**
 * A list whose items the model names (`Tags.Tag.1.Key`, `Filters.Filter.1.Values.Value.1`): the query decoder
 * keeps that item name as a level of its own, so it is unwrapped here. `member` lists arrive unwrapped already.
 */
export function namedList(input: QueryTree, name: string, itemName: string): QueryValue[] {
  const v = input[name];
  if (v === undefined || v === '') return [];
  if (typeof v === 'object' && !Array.isArray(v) && itemName in v) return list(v[itemName]);
  return list(v);
}

export function wireTags(input: QueryTree): Tag[] {
  return namedList(input, 'Tags', 'Tag').map((t) => {
    const tag = typeof t === 'object' && !Array.isArray(t) ? t : {};
    const key = optionalString(tag, 'Key');
    if (key === undefined) throw invalidParameter('A tag key must be specified.');
    return { Key: key, Value: optionalString(tag, 'Value') ?? '' };
  });
}

export function wireFilters(input: QueryTree): { name: string; values: string[] }[] {
  return namedList(input, 'Filters', 'Filter').map((f) => {
    const filter = typeof f === 'object' && !Array.isArray(f) ? f : {};
    const name = optionalString(filter, 'Name');
    if (!name) throw invalidParameter('The filter name must be specified.');
    const values = namedList(filter, 'Values', 'Value').filter((v): v is string => typeof v === 'string');
    if (values.length === 0) throw invalidParameter(`Filter ${name} must have at least one value.`);
    return { name, values };
  });
}

/** Every instance's weekly maintenance window here (RDS picks one at random per region). */
export const MAINTENANCE_WINDOW = 'sun:05:00-sun:05:30';
export const DEFAULT_BACKUP_WINDOW = '03:00-03:30';
export const DEFAULT_BACKUP_RETENTION_DAYS = 1;

/**
 * Checks a PreferredBackupWindow as the RDS API reference states it: `hh24:mi-hh24:mi` in UTC, at least 30
 * minutes, not overlapping the maintenance window (a daily window meets the weekly one on its day).
 *
 * @example
 * checkBackupWindow('22:00-22:30'); // ok; '22:00-22:10' throws InvalidParameterValue
 */
export function checkBackupWindow(window: string): void {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(window);
  if (!m) throw invalidParameter(`The backup window must be in the format hh24:mi-hh24:mi: ${window}`);
  const start = Number(m[1]) * 60 + Number(m[2]);
  let end = Number(m[3]) * 60 + Number(m[4]);
  if (end <= start) end += 24 * 60;
  if (end - start < 30) throw invalidParameter('The backup window must be at least 30 minutes.');
  if (end - start > 24 * 60) throw invalidParameter('The backup window must be at most 24 hours.');
  const [mStart, mEnd] = [5 * 60, 5 * 60 + 30];
  const overlaps = [0, 24 * 60].some((shift) => start < mEnd + shift && mStart + shift < end);
  if (overlaps) throw invalidParameter('The backup window and maintenance window must not overlap.');
}

/** The standby's zone of a Multi-AZ instance: the next zone letter of the region (us-east-1a -> us-east-1b). */
export function secondaryZone(zone: string): string {
  const letter = zone.at(-1) === 'a' ? 'b' : 'a';
  return zone.slice(0, -1) + letter;
}

// --- the DBInstance element ---------------------------------------------------------------------------------

/** The `DBInstance` element with the SDK's member names, for every operation that answers one. */
export function dbInstanceXml(i: DbInstanceRecord, state: RdsState, account: string, region: string): Record<string, XmlValue> {
  const engine = ENGINES[i.engine];
  // RDS gives no endpoint before the instance exists.
  const endpoint = i.status === 'creating' ? undefined : { Address: endpointAddress(state, region, i.identifier), Port: i.port };
  return {
    DBInstanceIdentifier: i.identifier,
    DBInstanceClass: i.instanceClass,
    Engine: i.engine,
    DBInstanceStatus: i.status,
    ...(i.dbClusterIdentifier ? { DBClusterIdentifier: i.dbClusterIdentifier } : {}),
    MasterUsername: i.masterUsername,
    ...(i.dbName ? { DBName: i.dbName } : {}),
    Endpoint: endpoint,
    AllocatedStorage: i.allocatedStorage,
    InstanceCreateTime: i.createTime,
    PreferredBackupWindow: i.preferredBackupWindow ?? DEFAULT_BACKUP_WINDOW,
    BackupRetentionPeriod: i.backupRetentionPeriod ?? DEFAULT_BACKUP_RETENTION_DAYS,
    DBSecurityGroups: new XmlList('DBSecurityGroup', []),
    VpcSecurityGroups: new XmlList('VpcSecurityGroupMembership', []),
    DBParameterGroups: new XmlList('DBParameterGroup', [
      { DBParameterGroupName: `default.${engine?.parameterGroupFamily ?? i.engine}`, ParameterApplyStatus: 'in-sync' },
    ]),
    AvailabilityZone: i.availabilityZone,
    // A Multi-AZ instance's standby is in another zone of the region.
    ...(i.multiAZ ? { SecondaryAvailabilityZone: secondaryZone(i.availabilityZone) } : {}),
    PreferredMaintenanceWindow: MAINTENANCE_WINDOW,
    PendingModifiedValues: {
      ...(i.pendingInstanceClass ? { DBInstanceClass: i.pendingInstanceClass } : {}),
      ...(i.pendingMultiAZ !== undefined ? { MultiAZ: i.pendingMultiAZ } : {}),
      ...(i.pendingBackupRetentionPeriod !== undefined ? { BackupRetentionPeriod: i.pendingBackupRetentionPeriod } : {}),
    },
    MultiAZ: i.multiAZ,
    EngineVersion: i.engineVersion,
    AutoMinorVersionUpgrade: true,
    ReadReplicaDBInstanceIdentifiers: new XmlList('ReadReplicaDBInstanceIdentifier', []),
    LicenseModel: engine?.license ?? 'general-public-license',
    OptionGroupMemberships: new XmlList('OptionGroupMembership', []),
    PubliclyAccessible: i.publiclyAccessible,
    StorageType: i.storageType,
    DbInstancePort: 0,
    StorageEncrypted: i.storageEncrypted,
    DbiResourceId: i.resourceId,
    CACertificateIdentifier: 'rds-ca-rsa2048-g1',
    CopyTagsToSnapshot: i.copyTagsToSnapshot ?? false,
    MonitoringInterval: 0,
    DBInstanceArn: dbInstanceArn(region, account, i.identifier),
    IAMDatabaseAuthenticationEnabled: false,
    PerformanceInsightsEnabled: false,
    DeletionProtection: i.deletionProtection,
    TagList: new XmlList('Tag', i.tags.map((t) => ({ Key: t.Key, Value: t.Value }))),
    ...(i.status === 'stopped' && i.autoStartAt !== undefined ? { AutomaticRestartTime: new Date(i.autoStartAt).toISOString() } : {}),
    BackupTarget: 'region',
    NetworkType: 'IPV4',
  };
}
