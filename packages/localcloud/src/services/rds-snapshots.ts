/**
 * RDS DB snapshots (manual): CreateDBSnapshot (`creating`, then `available` on the virtual clock),
 * DescribeDBSnapshots, DeleteDBSnapshot, CopyDBSnapshot and the `restore` attribute (ModifyDBSnapshotAttribute,
 * DescribeDBSnapshotAttributes), with the shapes and error codes of the RDS API reference. StopDBInstance's
 * DBSnapshotIdentifier and DeleteDBInstance's FinalDBSnapshotIdentifier take their snapshots here too.
 */
import { AwsError, notEmulated } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import { pageAfter, type Runtime } from './filters.js';
import {
  checkTags,
  dbInstanceNotFound,
  ENGINES,
  existingRdsState,
  identifierOf,
  invalidCombination,
  invalidParameter,
  namedList,
  optionalBool,
  optionalInt,
  optionalString,
  rdsState,
  requiredString,
  wireFilters,
  wireTags,
  type DbInstanceRecord,
  type DbSnapshotRecord,
  type RdsState,
} from './rds-model.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) a new DB snapshot stays `creating`. */
export const DB_SNAPSHOT_AVAILABLE_DELAY_MS = 2 * 60_000;
/** "Up to 20 AWS account IDs" may be given the restore attribute of a manual snapshot. */
const MAX_RESTORE_ACCOUNTS = 20;

type RdsOperation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

const SNAPSHOT_FILTERS = ['db-instance-id', 'db-snapshot-id', 'dbi-resource-id', 'snapshot-type', 'engine'];
const SNAPSHOT_TYPES = ['automated', 'manual', 'shared', 'public', 'awsbackup'];

/** 1-255 letters, digits and hyphens; a letter first; no trailing hyphen and no two hyphens in a row. */
const SNAPSHOT_IDENTIFIER = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,254}$/;

/** Checks a snapshot identifier as RDS does (naming the parameter) and returns it in lower case, as RDS keeps it. */
export function checkSnapshotIdentifier(identifier: string, parameter: string): string {
  if (!SNAPSHOT_IDENTIFIER.test(identifier) || identifier.endsWith('-')) {
    throw invalidParameter(
      `The parameter ${parameter} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  return identifier.toLowerCase();
}

/** A snapshot identifier or ARN (`arn:aws:rds:us-east-1:123456789012:snapshot:name`), as identifier. */
function snapshotIdOf(idOrArn: string): string {
  const arn = /^arn:aws[a-z-]*:rds:[^:]+:\d{12}:snapshot:(.+)$/.exec(idOrArn);
  return (arn ? arn[1] : idOrArn).toLowerCase();
}

export const dbSnapshotNotFound = (identifier: string) => new AwsError('DBSnapshotNotFound', `DBSnapshot ${identifier} not found.`, 404);
const snapshotArn = (region: string, account: string, identifier: string) => `arn:aws:rds:${region}:${account}:snapshot:${identifier}`;

function snapshotsOf(state: RdsState): Record<string, DbSnapshotRecord> {
  return (state.snapshots ??= {});
}

/**
 * Takes a manual snapshot of an instance, `creating` until DB_SNAPSHOT_AVAILABLE_DELAY_MS have passed. Throws
 * DBSnapshotAlreadyExists for an identifier in use; the caller has checked the instance's status. An instance with
 * CopyTagsToSnapshot gives a snapshot taken without tags of its own the instance's tags.
 */
export function takeSnapshot(rt: Runtime, account: string, region: string, state: RdsState, instance: DbInstanceRecord, identifier: string, tags: DbSnapshotRecord['tags']): DbSnapshotRecord {
  const snapshots = snapshotsOf(state);
  if (snapshots[identifier]) throw new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${identifier} already exists.`);
  const now = rt.clock.nowMs();
  const snapshot: DbSnapshotRecord = {
    identifier,
    instanceIdentifier: instance.identifier,
    instanceResourceId: instance.resourceId,
    engine: instance.engine,
    engineVersion: instance.engineVersion,
    allocatedStorage: instance.allocatedStorage,
    storageType: instance.storageType,
    port: instance.port,
    availabilityZone: instance.availabilityZone,
    masterUsername: instance.masterUsername,
    ...(instance.createTime ? { instanceCreateTime: instance.createTime } : {}),
    encrypted: instance.storageEncrypted,
    status: 'creating',
    availableAt: now + DB_SNAPSHOT_AVAILABLE_DELAY_MS,
    createTime: new Date(now).toISOString(),
    restoreAccounts: [],
    tags: tags.length === 0 && instance.copyTagsToSnapshot ? instance.tags.map((t) => ({ ...t })) : tags,
  };
  snapshots[identifier] = snapshot;
  armDbSnapshot(rt, account, region, snapshot);
  return snapshot;
}

/** Schedules a creating snapshot's end. Idempotent: a timer that finds it moved on does nothing. */
export function armDbSnapshot(rt: Runtime, account: string, region: string, snapshot: DbSnapshotRecord): void {
  const at = snapshot.availableAt;
  if (snapshot.status !== 'creating' || at === undefined) return;
  const identifier = snapshot.identifier;
  rt.clock.at(at, () => {
    const current = existingRdsState(rt.store, account, region)?.snapshots?.[identifier];
    if (!current || current.status !== 'creating' || current.availableAt !== at) return;
    current.status = 'available';
    delete current.availableAt;
    rt.store.changed();
  });
}

export function armAllDbSnapshots(rt: Runtime, regions: { account: string; region: string; state: RdsState }[]): void {
  for (const { account, region, state } of regions) for (const s of Object.values(state.snapshots ?? {})) armDbSnapshot(rt, account, region, s);
}

/** The `DBSnapshot` element with the SDK's member names. */
export function dbSnapshotXml(s: DbSnapshotRecord, account: string, region: string): Record<string, XmlValue> {
  const engine = ENGINES[s.engine];
  return {
    DBSnapshotIdentifier: s.identifier,
    DBInstanceIdentifier: s.instanceIdentifier,
    // RDS gives the snapshot's time once it has been taken.
    ...(s.status === 'creating' ? {} : { SnapshotCreateTime: s.createTime }),
    Engine: s.engine,
    AllocatedStorage: s.allocatedStorage,
    Status: s.status,
    Port: s.port,
    AvailabilityZone: s.availabilityZone,
    ...(s.instanceCreateTime ? { InstanceCreateTime: s.instanceCreateTime } : {}),
    MasterUsername: s.masterUsername,
    EngineVersion: s.engineVersion,
    LicenseModel: engine?.license ?? 'general-public-license',
    SnapshotType: 'manual',
    OptionGroupName: `default:${s.engine}-${s.engineVersion.split('.')[0]}`,
    PercentProgress: s.status === 'creating' ? 0 : 100,
    ...(s.sourceRegion ? { SourceRegion: s.sourceRegion } : {}),
    ...(s.sourceSnapshotArn ? { SourceDBSnapshotIdentifier: s.sourceSnapshotArn } : {}),
    StorageType: s.storageType,
    Encrypted: s.encrypted,
    ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
    DBSnapshotArn: snapshotArn(region, account, s.identifier),
    IAMDatabaseAuthenticationEnabled: false,
    ProcessorFeatures: new XmlList('ProcessorFeature', []),
    DbiResourceId: s.instanceResourceId,
    TagList: new XmlList('Tag', s.tags.map((t) => ({ Key: t.Key, Value: t.Value }))),
    OriginalSnapshotCreateTime: s.createTime,
    SnapshotTarget: 'region',
  };
}

export const createDBSnapshot: RdsOperation = (input, ctx) => {
  const identifier = checkSnapshotIdentifier(requiredString(input, 'DBSnapshotIdentifier'), 'DBSnapshotIdentifier');
  const instanceId = requiredString(input, 'DBInstanceIdentifier');
  const tags = checkTags(wireTags(input));
  const state = rdsState(ctx.store, ctx.account, ctx.region);
  const instance = state.instances[identifierOf(instanceId)];
  if (!instance) throw dbInstanceNotFound(instanceId);
  if (snapshotsOf(state)[identifier]) throw new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${identifier} already exists.`);
  if (instance.status !== 'available') {
    throw new AwsError('InvalidDBInstanceState', `Cannot create a snapshot because the database instance ${instance.identifier} is not currently in the available state.`);
  }
  return { DBSnapshot: dbSnapshotXml(takeSnapshot(ctx, ctx.account, ctx.region, state, instance, identifier, tags), ctx.account, ctx.region) };
};

export const describeDBSnapshots: RdsOperation = (input, ctx) => {
  const requested = optionalString(input, 'DBSnapshotIdentifier');
  const instanceId = optionalString(input, 'DBInstanceIdentifier');
  const type = optionalString(input, 'SnapshotType');
  if (type !== undefined && !SNAPSHOT_TYPES.includes(type)) throw invalidParameter(`Invalid snapshot type: ${type}. Valid values: ${SNAPSHOT_TYPES.join(', ')}.`);
  const filters = wireFilters(input);
  for (const f of filters) if (!SNAPSHOT_FILTERS.includes(f.name)) throw invalidParameter(`Unrecognized filter name: ${f.name}.`);
  const maxRecords = optionalInt(input, 'MaxRecords') ?? 100;
  if (maxRecords < 20 || maxRecords > 100) throw invalidParameter(`Invalid value ${maxRecords} for MaxRecords. Must be between 20 and 100`);

  const state = existingRdsState(ctx.store, ctx.account, ctx.region);
  let snapshots = Object.values(state?.snapshots ?? {});
  if (requested !== undefined) {
    const found = state?.snapshots?.[snapshotIdOf(requested)];
    if (!found) throw dbSnapshotNotFound(requested);
    snapshots = [found];
  }
  // Only manual snapshots of this account exist here; IncludeShared and IncludePublic add none.
  const selected = snapshots
    .filter((s) => instanceId === undefined || identifierOf(instanceId) === s.instanceIdentifier)
    .filter(() => type === undefined || type === 'manual')
    .filter((s) =>
      filters.every(({ name, values }) => {
        if (name === 'db-instance-id') return values.some((v) => identifierOf(v) === s.instanceIdentifier);
        if (name === 'db-snapshot-id') return values.some((v) => snapshotIdOf(v) === s.identifier);
        if (name === 'dbi-resource-id') return values.includes(s.instanceResourceId);
        if (name === 'engine') return values.includes(s.engine);
        return values.includes('manual');
      }),
    )
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
  const { page, nextToken } = pageAfter(selected, (s) => s.identifier, maxRecords, optionalString(input, 'Marker'), () => invalidParameter('The parameter Marker is not valid.'));
  return {
    DBSnapshots: new XmlList('DBSnapshot', page.map((s) => dbSnapshotXml(s, ctx.account, ctx.region))),
    ...(nextToken ? { Marker: nextToken } : {}),
  };
};

function existingSnapshot(ctx: RequestContext, given: string): { state: RdsState; snapshot: DbSnapshotRecord } {
  const state = existingRdsState(ctx.store, ctx.account, ctx.region);
  const snapshot = state?.snapshots?.[snapshotIdOf(given)];
  if (!state || !snapshot) throw dbSnapshotNotFound(given);
  return { state, snapshot };
}

export const deleteDBSnapshot: RdsOperation = (input, ctx) => {
  const { state, snapshot } = existingSnapshot(ctx, requiredString(input, 'DBSnapshotIdentifier'));
  if (snapshot.status !== 'available') throw new AwsError('InvalidDBSnapshotState', 'Cannot delete the snapshot because it is not currently in the available or failed state.');
  delete snapshotsOf(state)[snapshot.identifier];
  return { DBSnapshot: dbSnapshotXml({ ...snapshot, status: 'deleted' }, ctx.account, ctx.region) };
};

export const copyDBSnapshot: RdsOperation = (input, ctx) => {
  const source = requiredString(input, 'SourceDBSnapshotIdentifier');
  const target = checkSnapshotIdentifier(requiredString(input, 'TargetDBSnapshotIdentifier'), 'TargetDBSnapshotIdentifier');
  const sourceArn = /^arn:aws[a-z-]*:rds:([^:]+):(\d{12}):snapshot:/.exec(source);
  if (sourceArn && (sourceArn[1] !== ctx.region || sourceArn[2] !== ctx.account)) {
    throw notEmulatedCopy(`a copy from ${sourceArn[2] !== ctx.account ? 'another account' : 'another region'} (${source})`);
  }
  for (const p of ['PreSignedUrl', 'OptionGroupName', 'TargetCustomAvailabilityZone', 'CopyOptionGroup']) if (optionalString(input, p) !== undefined) throw notEmulatedCopy(`parameter ${p}`);
  const { state, snapshot } = existingSnapshot(ctx, source);
  if (snapshot.status !== 'available') throw new AwsError('InvalidDBSnapshotState', `Snapshot ${snapshot.identifier} is not in available state.`);
  if (snapshotsOf(state)[target]) throw new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${target} already exists.`);
  const kmsKeyId = optionalString(input, 'KmsKeyId');
  const copyTags = optionalBool(input, 'CopyTags') === true;
  const tags = checkTags(wireTags(input));
  const now = ctx.clock.nowMs();
  const copy: DbSnapshotRecord = {
    ...snapshot,
    identifier: target,
    status: 'creating',
    availableAt: now + DB_SNAPSHOT_AVAILABLE_DELAY_MS,
    // The copy keeps the source's creation time (OriginalSnapshotCreateTime); SnapshotCreateTime is its own.
    createTime: snapshot.createTime,
    sourceSnapshotArn: snapshotArn(ctx.region, ctx.account, snapshot.identifier),
    ...(kmsKeyId ? { kmsKeyId, encrypted: true } : {}),
    restoreAccounts: [],
    tags: tags.length > 0 ? tags : copyTags ? snapshot.tags : [],
  };
  snapshotsOf(state)[target] = copy;
  armDbSnapshot(ctx, ctx.account, ctx.region, copy);
  return { DBSnapshot: dbSnapshotXml(copy, ctx.account, ctx.region) };
};

const notEmulatedCopy = (what: string) => notEmulated('query', `rds:CopyDBSnapshot ${what}`);

function attributesXml(s: DbSnapshotRecord): Record<string, XmlValue> {
  return {
    DBSnapshotAttributesResult: {
      DBSnapshotIdentifier: s.identifier,
      DBSnapshotAttributes: new XmlList('DBSnapshotAttribute', [{ AttributeName: 'restore', AttributeValues: new XmlList('AttributeValue', s.restoreAccounts) }]),
    },
  };
}

const valuesOf = (input: QueryTree, name: string) => namedList(input, name, 'AttributeValue').filter((v): v is string => typeof v === 'string');

/** The `restore` attribute: account ids (or `all`, making the snapshot public) that may copy or restore it. */
export const modifyDBSnapshotAttribute: RdsOperation = (input, ctx) => {
  const { snapshot } = existingSnapshot(ctx, requiredString(input, 'DBSnapshotIdentifier'));
  const attribute = requiredString(input, 'AttributeName');
  if (attribute !== 'restore') throw invalidParameter(`Invalid snapshot attribute name: ${attribute}. The only attribute that can be modified is restore.`);
  const add = valuesOf(input, 'ValuesToAdd');
  const remove = valuesOf(input, 'ValuesToRemove');
  for (const v of [...add, ...remove]) if (v !== 'all' && !/^\d{12}$/.test(v)) throw invalidParameter(`Invalid account id or 'all': ${v}`);
  if (add.includes('all') && snapshot.encrypted) throw invalidCombination('Encrypted snapshots cannot be shared publicly.');
  const next = [...new Set([...snapshot.restoreAccounts.filter((v) => !remove.includes(v)), ...add])];
  if (next.filter((v) => v !== 'all').length > MAX_RESTORE_ACCOUNTS) throw new AwsError('SharedSnapshotQuotaExceeded', `You have exceeded the maximum number of accounts (${MAX_RESTORE_ACCOUNTS}) you can share a manual DB snapshot with.`);
  snapshot.restoreAccounts = next;
  return attributesXml(snapshot);
};

export const describeDBSnapshotAttributes: RdsOperation = (input, ctx) => attributesXml(existingSnapshot(ctx, requiredString(input, 'DBSnapshotIdentifier')).snapshot);
