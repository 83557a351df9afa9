/**
 * EBS snapshots: CreateSnapshot (pending, then completed on the virtual clock), DescribeSnapshots and
 * DeleteSnapshot, with the shapes and errors of the EC2 API reference.
 */
import { AwsError, notEmulated } from '../errors.js';
import { encryptionOf } from './ec2-ebs-encryption.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import {
  checkSnapshotId,
  checkTagLimit,
  checkVolumeId,
  ec2State,
  existingEc2State,
  isoTime,
  optionalBool,
  optionalString,
  requiredString,
  snapshotsNotFound,
  stringList,
  tagSetXml,
  treeList,
  tagsFromSpecifications,
  volumesNotFound,
  type Ec2State,
  type SnapshotRecord,
} from './ec2-model.js';
import { randomId, type Runtime } from './filters.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) a new snapshot stays `pending`. */
export const SNAPSHOT_COMPLETED_DELAY_MS = 30_000;

function snapshotDescribe(account: string): DescribeShape<SnapshotRecord> {
  return {
    idParam: 'SnapshotId',
    idSetName: 'snapshotSet',
    checkId: checkSnapshotId,
    // "This value can be between 5 and 1,000; if MaxResults is given a value larger than 1,000, only 1,000 results are returned."
    maxResults: { min: 5, max: 1000, capAtMax: true },
    fields: {
      description: (s) => s.description,
      encrypted: (s) => String(s.encrypted),
      'owner-alias': () => undefined,
      'owner-id': () => account,
      progress: (s) => progressOf(s),
      'snapshot-id': (s) => s.snapshotId,
      'start-time': (s) => s.startTime,
      status: (s) => s.state,
      'storage-tier': () => 'standard',
      'transfer-type': () => 'standard',
      'volume-id': (s) => s.volumeId,
      'volume-size': (s) => String(s.volumeSize),
    },
    tagsOf: (s) => s.tags,
  };
}

export function createSnapshot(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const volumeId = requiredString(input, 'VolumeId');
  checkVolumeId(volumeId);
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const volume = state.volumes[volumeId];
  if (!volume) throw volumesNotFound([volumeId]);
  if (volume.state !== 'available' && volume.state !== 'in-use') throw new AwsError('IncorrectState', `Volume '${volumeId}' is in the '${volume.state}' state.`);
  const description = optionalString(input, 'Description');
  if (description !== undefined && description.length > 255) throw new AwsError('InvalidParameterValue', 'The description must be no longer than 255 characters.');
  const tags = tagsFromSpecifications(input, 'snapshot', ['snapshot']);
  const snapshotId = randomId('snap-');
  checkTagLimit(snapshotId, tags);
  const now = ctx.clock.nowMs();
  const snapshot: SnapshotRecord = {
    snapshotId,
    volumeId,
    volumeSize: volume.size,
    ...(description !== undefined ? { description } : {}),
    state: 'pending',
    startTime: isoTime(now),
    completedAt: now + SNAPSHOT_COMPLETED_DELAY_MS,
    encrypted: volume.encrypted,
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
    tags,
  };
  state.snapshots[snapshotId] = snapshot;
  armSnapshot(ctx, ctx.account, ctx.region, snapshot);
  return snapshotXml(snapshot, ctx.account);
}

/** Schedules a pending snapshot's completion. Idempotent: a timer that finds it moved on does nothing. */
export function armSnapshot(rt: Runtime, account: string, region: string, snapshot: SnapshotRecord): void {
  if (snapshot.state !== 'pending' || snapshot.completedAt === undefined) return;
  const { snapshotId, completedAt: at } = snapshot;
  rt.clock.at(at, () => {
    const current = existingEc2State(rt.store, account, region)?.snapshots[snapshotId];
    if (!current || current.state !== 'pending' || current.completedAt !== at) return;
    current.state = 'completed';
    current.completionTime = isoTime(at);
    delete current.completedAt;
    rt.store.changed();
  });
}

export function armPendingSnapshots(rt: Runtime, regions: { account: string; region: string; state: Ec2State }[]): void {
  for (const { account, region, state } of regions) {
    for (const snapshot of Object.values(state.snapshots)) armSnapshot(rt, account, region, snapshot);
  }
}

export function describeSnapshots(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const request = parseDescribeRequest(input, snapshotDescribe(ctx.account));
  const owners = stringList(input, 'Owner');
  // Only the account's own snapshots exist here: `self` or the account id select them, other owners nothing.
  const owned = owners.length === 0 || owners.some((o) => o === 'self' || o === ctx.account);
  // RestorableByUserIds: the snapshots those accounts may create volumes from (`all`: the public ones).
  const restorableBy = stringList(input, 'RestorableBy');
  const restorable = (s: SnapshotRecord) =>
    restorableBy.length === 0 || restorableBy.some((id) => (id === 'all' ? s.publicShare === true : id === 'self' || id === ctx.account || (s.sharedWith ?? []).includes(id)));
  const snapshots = existingEc2State(ctx.store, ctx.account, ctx.region)?.snapshots ?? {};
  const { page, nextToken } = scanPage(snapshots, request, (s) => s.snapshotId, snapshotsNotFound, (s) => owned && restorable(s));
  return { snapshotSet: page.map((s) => snapshotXml(s, ctx.account)), ...(nextToken ? { nextToken } : {}) };
}

export function deleteSnapshot(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const snapshotId = requiredString(input, 'SnapshotId');
  checkSnapshotId(snapshotId);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  if (!state?.snapshots[snapshotId]) throw snapshotsNotFound([snapshotId]);
  const image = Object.values(state.images).find((i) => i.blockDeviceMappings.some((m) => m.snapshotId === snapshotId));
  if (image) throw new AwsError('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${image.imageId}`);
  delete state.snapshots[snapshotId];
  return { return: true };
}

/** The volume id EC2 reports for a snapshot made by CopySnapshot: "arbitrary", not a volume that exists. */
export const COPIED_SNAPSHOT_VOLUME_ID = 'vol-ffffffff';

/**
 * CopySnapshot: a copy of a completed snapshot of the account, from this region or another (SourceRegion), pending
 * then completed on the virtual clock. The copy is encrypted when asked, when its source is, or when encryption
 * by default is on; without a Description it gets EC2's `[Copied snap-… from us-east-1]`.
 */
export function copySnapshot(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const sourceId = requiredString(input, 'SourceSnapshotId');
  const sourceRegion = requiredString(input, 'SourceRegion');
  checkSnapshotId(sourceId);
  // PresignedUrl and DestinationRegion (the SDK adds them) authorise the read in the source region: localcloud's regions share one store.
  if (optionalString(input, 'CompletionDurationMinutes') !== undefined) throw notEmulated('ec2', 'ec2:CopySnapshot parameter CompletionDurationMinutes (time-based copies)');
  const source = existingEc2State(ctx.store, ctx.account, sourceRegion)?.snapshots[sourceId];
  if (!source) throw snapshotsNotFound([sourceId]);
  if (source.state !== 'completed') throw new AwsError('IncorrectState', `Snapshot '${sourceId}' is in the '${source.state}' state.`);
  const description = optionalString(input, 'Description') ?? `[Copied ${sourceId} from ${sourceRegion}]`;
  if (description.length > 255) throw new AwsError('InvalidParameterValue', 'The description must be no longer than 255 characters.');
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const encryption = encryptionOf(ctx, state, { encrypted: optionalBool(input, 'Encrypted'), kmsKeyId: optionalString(input, 'KmsKeyId') }, source.encrypted ? source : undefined);
  const tags = tagsFromSpecifications(input, 'snapshot', ['snapshot']);
  const snapshotId = randomId('snap-');
  checkTagLimit(snapshotId, tags);
  const now = ctx.clock.nowMs();
  const copy: SnapshotRecord = {
    snapshotId,
    volumeId: COPIED_SNAPSHOT_VOLUME_ID,
    volumeSize: source.volumeSize,
    description,
    state: 'pending',
    startTime: isoTime(now),
    completedAt: now + SNAPSHOT_COMPLETED_DELAY_MS,
    ...encryption,
    sourceSnapshotId: sourceId,
    tags,
  };
  state.snapshots[snapshotId] = copy;
  armSnapshot(ctx, ctx.account, ctx.region, copy);
  return { snapshotId, ...tagSetXml(tags) };
}

/** The account ids and groups (`all`: public) a snapshot's createVolumePermission holds. */
type Permission = { userId: string } | { group: 'all' };

function permissionsOf(s: SnapshotRecord): Permission[] {
  return [...(s.publicShare ? [{ group: 'all' as const }] : []), ...(s.sharedWith ?? []).map((userId) => ({ userId }))];
}

function existingSnapshot(input: QueryTree, ctx: RequestContext): SnapshotRecord {
  const snapshotId = requiredString(input, 'SnapshotId');
  checkSnapshotId(snapshotId);
  const snapshot = existingEc2State(ctx.store, ctx.account, ctx.region)?.snapshots[snapshotId];
  if (!snapshot) throw snapshotsNotFound([snapshotId]);
  return snapshot;
}

function attributeOf(input: QueryTree): string {
  // EC2 takes the attribute's name in any case (AWS's own remediation scripts send `CreateVolumePermission`).
  const attribute = requiredString(input, 'Attribute');
  const known = ['createVolumePermission', 'productCodes'].find((a) => a.toLowerCase() === attribute.toLowerCase());
  if (!known) throw new AwsError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Valid values: createVolumePermission, productCodes`);
  return known;
}

/**
 * ModifySnapshotAttribute for createVolumePermission: share with account ids or make public (group `all`), and
 * undo either, as `OperationType` with `UserId.N` / `UserGroup.N` or as `CreateVolumePermission.Add|Remove.N`.
 * An encrypted snapshot cannot be made public.
 */
export function modifySnapshotAttribute(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const snapshot = existingSnapshot(input, ctx);
  if (optionalString(input, 'Attribute') !== undefined && attributeOf(input) !== 'createVolumePermission') {
    throw new AwsError('InvalidParameterCombination', 'Only the createVolumePermission attribute of a snapshot can be modified.');
  }
  const add: Permission[] = [];
  const remove: Permission[] = [];
  const operation = optionalString(input, 'OperationType');
  if (operation !== undefined && operation !== 'add' && operation !== 'remove') throw new AwsError('InvalidParameterValue', `Value (${operation}) for parameter operationType is invalid. Valid values: add, remove`);
  const direct: Permission[] = [...stringList(input, 'UserId').map((userId) => ({ userId })), ...stringList(input, 'UserGroup').map((g) => ({ group: g as 'all' }))];
  if (direct.length > 0) {
    if (operation === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter operationType');
    (operation === 'add' ? add : remove).push(...direct);
  }
  for (const tree of treeList(input, 'CreateVolumePermission')) {
    for (const [key, into] of [['Add', add], ['Remove', remove]] as const) {
      for (const p of treeList(tree, key)) {
        const userId = optionalString(p, 'UserId');
        const group = optionalString(p, 'Group');
        if (userId !== undefined) into.push({ userId });
        if (group !== undefined) into.push({ group: group as 'all' });
      }
    }
  }
  if (add.length === 0 && remove.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter createVolumePermission, userId or userGroup');
  for (const p of [...add, ...remove]) {
    if ('group' in p && p.group !== 'all') throw new AwsError('InvalidParameterValue', `Value (${String(p.group)}) for parameter group is invalid. Valid values: all`);
    if ('userId' in p && !/^\d{12}$/.test(p.userId)) throw new AwsError('InvalidParameterValue', `Value (${p.userId}) for parameter userId is invalid. An AWS account id is 12 digits.`);
  }
  if (snapshot.encrypted && add.some((p) => 'group' in p)) throw new AwsError('OperationNotPermitted', 'Encrypted snapshots cannot be made public.');
  const users = new Set(snapshot.sharedWith ?? []);
  for (const p of remove) if ('userId' in p) users.delete(p.userId);
  for (const p of add) if ('userId' in p) users.add(p.userId);
  const makePublic = add.some((p) => 'group' in p);
  const makePrivate = remove.some((p) => 'group' in p);
  snapshot.sharedWith = [...users];
  if (makePublic) snapshot.publicShare = true;
  else if (makePrivate) delete snapshot.publicShare;
  return { return: true };
}

export function describeSnapshotAttribute(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const snapshot = existingSnapshot(input, ctx);
  const attribute = attributeOf(input);
  return { snapshotId: snapshot.snapshotId, ...(attribute === 'createVolumePermission' ? { createVolumePermission: permissionsOf(snapshot) } : { productCodes: [] }) };
}

function progressOf(snapshot: SnapshotRecord): string {
  return snapshot.state === 'completed' ? '100%' : '0%';
}

function snapshotXml(s: SnapshotRecord, account: string): Record<string, XmlValue> {
  return {
    snapshotId: s.snapshotId,
    volumeId: s.volumeId,
    status: s.state,
    startTime: s.startTime,
    ...(s.completionTime ? { completionTime: s.completionTime } : {}),
    progress: progressOf(s),
    ownerId: account,
    // EC2 always reports a description: "" when the snapshot was given none.
    description: s.description ?? '',
    volumeSize: s.volumeSize,
    encrypted: s.encrypted,
    ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}),
    storageTier: 'standard',
    ...tagSetXml(s.tags),
  };
}
