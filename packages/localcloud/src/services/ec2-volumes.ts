/**
 * EBS volumes: CreateVolume (creating, then available on the virtual clock), DescribeVolumes (indexed, see
 * ec2-volume-index.ts), AttachVolume (in-use, attaching then attached), DetachVolume (detaching, then
 * available), DeleteVolume; root volumes of instances and what happens to volumes when an instance terminates.
 * Request and error shapes follow the EC2 API reference (CreateVolume, DescribeVolumes, AttachVolume,
 * DetachVolume, DeleteVolume) and its error code list.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { parseDescribeRequest } from './ec2-describe.js';
import { availabilityZoneId, encryptionOf } from './ec2-ebs-encryption.js';
import {
  checkInstanceId,
  checkSnapshotId,
  checkTagLimit,
  checkVolumeId,
  ec2State,
  existingEc2State,
  instancesNotFound,
  isoTime,
  optionalBool,
  optionalInt,
  optionalString,
  requiredString,
  snapshotsNotFound,
  tagSetXml,
  tagsFromSpecifications,
  VOLUME_TYPES,
  volumesNotFound,
  type Ec2State,
  type InstanceRecord,
  type VolumeRecord,
  type VolumeType,
} from './ec2-model.js';
import { changeVolume, dropVolume, putVolume, VOLUME_DESCRIBE, volumeIndex, volumesById } from './ec2-volume-index.js';
import { randomId, type Runtime, type Tag } from './filters.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) a new volume stays `creating`. */
export const VOLUME_AVAILABLE_DELAY_MS = 5_000;
/** How long an attachment stays `attaching`, and a detaching volume `in-use`. */
export const VOLUME_ATTACH_DELAY_MS = 2_000;
export const VOLUME_DETACH_DELAY_MS = 2_000;

/** CreateVolume's documented default type. */
export const DEFAULT_VOLUME_TYPE: VolumeType = 'gp2';

/** Sizes (GiB) and IOPS per volume type, from CreateVolume's `Size` and `Iops` documentation. */
const VOLUME_LIMITS: Record<VolumeType, { size: [number, number]; iops?: [number, number]; iopsPerGiB?: number; defaultIops?: number; iopsRequired?: boolean }> = {
  gp2: { size: [1, 16_384] },
  gp3: { size: [1, 65_536], iops: [3_000, 80_000], iopsPerGiB: 500, defaultIops: 3_000 },
  io1: { size: [4, 16_384], iops: [100, 64_000], iopsPerGiB: 50, iopsRequired: true },
  io2: { size: [4, 65_536], iops: [100, 256_000], iopsPerGiB: 1_000, iopsRequired: true },
  st1: { size: [125, 16_384] },
  sc1: { size: [125, 16_384] },
  standard: { size: [1, 1_024] },
};
/** gp3 throughput, MiB/s: "Valid Range: 125 - 2000", default 125. */
const GP3_THROUGHPUT: [number, number] = [125, 2_000];

/** Linux (`/dev/sdf`, `/dev/xvdb`) and Windows (`xvdf`) device names. */
const DEVICE = /^(?:\/dev\/(?:sd[a-z]{1,2}|xvd[a-z]{1,2}|hd[a-z])\d{0,2}|xvd[a-z]{1,2})$/;

/** gp2's baseline: 3 IOPS per GiB, at least 100 and at most 16,000. */
function gp2Iops(size: number): number {
  return Math.min(16_000, Math.max(100, 3 * size));
}

/** The IOPS and throughput EC2 reports for a volume of a type (defaults where the caller gave none). */
export function volumePerformance(type: VolumeType, size: number, iops?: number, throughput?: number): { iops?: number; throughput?: number } {
  if (type === 'gp2') return { iops: gp2Iops(size) };
  if (type === 'gp3') return { iops: iops ?? VOLUME_LIMITS.gp3.defaultIops, throughput: throughput ?? GP3_THROUGHPUT[0] };
  if (type === 'io1' || type === 'io2') return { iops };
  return {};
}

export function checkVolumeType(type: string): asserts type is VolumeType {
  if (!(VOLUME_TYPES as readonly string[]).includes(type)) {
    throw new AwsError('InvalidParameterValue', `Value (${type}) for parameter volumeType is invalid. Valid values: ${VOLUME_TYPES.join(', ')}`);
  }
}

export function checkVolumeSize(type: VolumeType, size: number): void {
  const [min, max] = VOLUME_LIMITS[type].size;
  if (size < min || size > max) throw new AwsError('InvalidParameterValue', `Volume of ${size}GiB is invalid for volume type ${type}: the size must be between ${min} and ${max} GiB.`);
}

function checkPerformance(type: VolumeType, size: number, iops: number | undefined, throughput: number | undefined): void {
  const limits = VOLUME_LIMITS[type];
  if (iops === undefined && limits.iopsRequired) throw new AwsError('MissingParameter', `The parameter iops must be specified for ${type} volumes.`);
  if (iops !== undefined) {
    if (!limits.iops) throw new AwsError('InvalidParameterCombination', `The parameter iops is not supported for ${type} volumes.`);
    const [min, max] = limits.iops;
    if (iops < min || iops > max) throw new AwsError('InvalidParameterValue', `The iops value ${iops} is invalid for ${type} volumes: it must be between ${min} and ${max}.`);
    if (limits.iopsPerGiB && iops / size > limits.iopsPerGiB) {
      throw new AwsError('InvalidParameterValue', `Iops to volume size ratio of ${(iops / size).toFixed(6)} is too high; maximum is ${limits.iopsPerGiB.toFixed(6)}`);
    }
  }
  if (throughput !== undefined) {
    if (type !== 'gp3') throw new AwsError('InvalidParameterCombination', `The parameter throughput is not supported for ${type} volumes.`);
    const [min, max] = GP3_THROUGHPUT;
    if (throughput < min || throughput > max) throw new AwsError('InvalidParameterValue', `The throughput value ${throughput} is invalid: it must be between ${min} and ${max} MiB/s.`);
  }
}

/** An Availability Zone of the region: the region's name and one letter (us-east-1a). */
export function checkAvailabilityZone(region: string, zone: string): void {
  if (!(zone.length === region.length + 1 && zone.startsWith(region) && /[a-z]$/.test(zone))) {
    throw new AwsError('InvalidZone.NotFound', `The zone '${zone}' does not exist.`);
  }
}

export function createVolume(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const zone = optionalString(input, 'AvailabilityZone');
  if (zone === undefined) {
    if (optionalString(input, 'AvailabilityZoneId') !== undefined) {
      throw new AwsError('InvalidParameterValue', 'localcloud does not emulate Availability Zone IDs: give AvailabilityZone (like us-east-1a).');
    }
    throw new AwsError('MissingParameter', 'The request must contain the parameter AvailabilityZone');
  }
  checkAvailabilityZone(ctx.region, zone);
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const clientToken = optionalString(input, 'ClientToken');
  // Idempotency: a retried request (same client token) answers with the volume it created.
  const earlier = clientToken ? volumeIndex(state).byToken(clientToken) : undefined;
  if (earlier) return volumeXml(earlier);

  const type = optionalString(input, 'VolumeType') ?? DEFAULT_VOLUME_TYPE;
  checkVolumeType(type);
  const snapshotId = optionalString(input, 'SnapshotId');
  let size = optionalInt(input, 'Size');
  let source: { encrypted: boolean; kmsKeyId?: string } | undefined;
  if (snapshotId !== undefined) {
    checkSnapshotId(snapshotId);
    const snapshot = state.snapshots[snapshotId];
    if (!snapshot) throw snapshotsNotFound([snapshotId]);
    if (snapshot.state !== 'completed') throw new AwsError('IncorrectState', `Snapshot '${snapshotId}' is in the '${snapshot.state}' state.`);
    if (size !== undefined && size < snapshot.volumeSize) {
      throw new AwsError('InvalidParameterValue', `Volume of size ${size}GiB is smaller than snapshot '${snapshotId}', expect size >= ${snapshot.volumeSize}GiB`);
    }
    size ??= snapshot.volumeSize;
    source = snapshot;
  }
  const encryption = encryptionOf(ctx, state, { encrypted: optionalBool(input, 'Encrypted'), kmsKeyId: optionalString(input, 'KmsKeyId') }, source);
  if (size === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter size or snapshotId');
  checkVolumeSize(type, size);
  const iops = optionalInt(input, 'Iops');
  const throughput = optionalInt(input, 'Throughput');
  checkPerformance(type, size, iops, throughput);
  if (optionalBool(input, 'MultiAttachEnabled')) throw new AwsError('UnsupportedOperation', 'localcloud does not emulate EBS Multi-Attach.');
  const tags = tagsFromSpecifications(input, 'volume', ['volume']);
  const volumeId = randomId('vol-');
  checkTagLimit(volumeId, tags);

  const now = ctx.clock.nowMs();
  const volume: VolumeRecord = {
    volumeId,
    size,
    volumeType: type,
    ...volumePerformance(type, size, iops, throughput),
    availabilityZone: zone,
    ...(snapshotId !== undefined ? { snapshotId } : {}),
    ...encryption,
    state: 'creating',
    createTime: isoTime(now),
    availableAt: now + VOLUME_AVAILABLE_DELAY_MS,
    attachmentHistory: [],
    ...(clientToken ? { clientToken } : {}),
    tags,
  };
  putVolume(state, volume);
  armVolume(ctx, ctx.account, ctx.region, volume);
  return volumeXml(volume);
}

export function describeVolumes(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const request = parseDescribeRequest(input, VOLUME_DESCRIBE);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  if (request.ids.length > 0) return { volumeSet: volumesById(state, request).map(volumeXml) };
  if (!state) return { volumeSet: [] };
  const { page, nextToken } = volumeIndex(state).page(request);
  return { volumeSet: page.map(volumeXml), ...(nextToken ? { nextToken } : {}) };
}

function volumeOf(state: Ec2State | undefined, volumeId: string): VolumeRecord {
  checkVolumeId(volumeId);
  const volume = state?.volumes[volumeId];
  if (!volume) throw volumesNotFound([volumeId]);
  return volume;
}

export function attachVolume(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const device = requiredString(input, 'Device');
  const instanceId = requiredString(input, 'InstanceId');
  const volumeId = requiredString(input, 'VolumeId');
  checkInstanceId(instanceId);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const volume = volumeOf(state, volumeId);
  const instance = state!.instances[instanceId];
  if (!instance) throw instancesNotFound([instanceId]);
  if (volume.availabilityZone !== instance.availabilityZone) {
    throw new AwsError('InvalidVolume.ZoneMismatch', `The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`);
  }
  if (volume.state === 'in-use') throw new AwsError('VolumeInUse', `${volumeId} is already attached to an instance`);
  if (volume.state !== 'available') throw new AwsError('IncorrectState', `Volume '${volumeId}' is in the '${volume.state}' state.`);
  if (instance.state !== 'running' && instance.state !== 'stopped') {
    throw new AwsError('IncorrectInstanceState', `Instance '${instanceId}' is not 'running' or 'stopped' (it is '${instance.state}').`);
  }
  if (!DEVICE.test(device)) throw new AwsError('InvalidParameterValue', `Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`);
  if (devicesInUse(state!, instance).has(device)) {
    throw new AwsError('InvalidParameterValue', `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`);
  }
  const now = ctx.clock.nowMs();
  attach(state!, volume, instanceId, device, now, { state: 'attaching', settlesAt: now + VOLUME_ATTACH_DELAY_MS, deleteOnTermination: false });
  armVolume(ctx, ctx.account, ctx.region, volume);
  return attachmentXml(volume);
}

/** Device names taken on an instance: its root device and those of its attached volumes. */
export function devicesInUse(state: Ec2State, instance: InstanceRecord): Set<string> {
  return new Set([instance.rootDeviceName, ...volumesAttachedTo(state, instance.instanceId).map((v) => v.attachment!.device)]);
}

/** Records an attachment: the volume is in-use from now, and its history gains an open period. */
function attach(
  state: Ec2State,
  volume: VolumeRecord,
  instanceId: string,
  device: string,
  at: number,
  how: { state: 'attaching' | 'attached'; settlesAt?: number; deleteOnTermination: boolean },
): void {
  changeVolume(state, volume, (v) => {
    v.state = 'in-use';
    v.attachment = { instanceId, device, state: how.state, attachTime: isoTime(at), deleteOnTermination: how.deleteOnTermination, ...(how.settlesAt ? { settlesAt: how.settlesAt } : {}) };
    v.attachmentHistory.push({ instanceId, device, attachedAt: isoTime(at) });
  });
}

export function detachVolume(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const volumeId = requiredString(input, 'VolumeId');
  const instanceId = optionalString(input, 'InstanceId');
  const device = optionalString(input, 'Device');
  const force = optionalBool(input, 'Force') ?? false;
  if (instanceId !== undefined) checkInstanceId(instanceId);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const volume = volumeOf(state, volumeId);
  const attachment = volume.attachment;
  if (!attachment) throw new AwsError('IncorrectState', `Volume '${volumeId}' is in the '${volume.state}' state.`);
  if ((instanceId !== undefined && instanceId !== attachment.instanceId) || (device !== undefined && device !== attachment.device)) {
    throw new AwsError('InvalidAttachment.NotFound', `Volume '${volumeId}' is not attached to instance '${instanceId ?? attachment.instanceId}' at '${device ?? attachment.device}'`);
  }
  const instance = state!.instances[attachment.instanceId];
  if (instance && instance.volumeId === volumeId && instance.state !== 'stopped') {
    throw new AwsError('IncorrectState', `Unable to detach root volume '${volumeId}' from instance '${instance.instanceId}'`);
  }
  const now = ctx.clock.nowMs();
  // Force ends a detachment now (EC2: for a volume stuck detaching; the instance gets no chance to flush).
  const settlesAt = force ? now : now + VOLUME_DETACH_DELAY_MS;
  if (attachment.state !== 'detaching' || (attachment.settlesAt ?? Infinity) > settlesAt) {
    changeVolume(state!, volume, (v) => {
      v.attachment = { ...attachment, state: 'detaching', settlesAt };
    });
    armVolume(ctx, ctx.account, ctx.region, volume);
  }
  return attachmentXml(volume);
}

export function deleteVolume(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const volumeId = requiredString(input, 'VolumeId');
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const volume = volumeOf(state, volumeId);
  if (volume.attachment) throw new AwsError('VolumeInUse', `Volume ${volumeId} is currently attached to ${volume.attachment.instanceId}`);
  if (volume.state !== 'available' && volume.state !== 'error') throw new AwsError('IncorrectState', `Volume '${volumeId}' is in the '${volume.state}' state.`);
  dropVolume(state!, volume);
  return { return: true };
}

/** Schedules a volume's pending move (creating -> available, attaching -> attached, detaching -> available). Idempotent. */
export function armVolume(rt: Runtime, account: string, region: string, volume: VolumeRecord): void {
  const volumeId = volume.volumeId;
  if (volume.state === 'creating' && volume.availableAt !== undefined) {
    const at = volume.availableAt;
    rt.clock.at(at, () => {
      const state = existingEc2State(rt.store, account, region);
      const current = state?.volumes[volumeId];
      // A timer armed twice, or outdated by a later change, finds the record moved on and does nothing.
      if (!state || !current || current.state !== 'creating' || current.availableAt !== at) return;
      changeVolume(state, current, (v) => {
        v.state = 'available';
        delete v.availableAt;
      });
      rt.store.changed();
    });
  }
  const attachment = volume.attachment;
  if (attachment?.settlesAt !== undefined) {
    const at = attachment.settlesAt;
    rt.clock.at(at, () => {
      const state = existingEc2State(rt.store, account, region);
      const current = state?.volumes[volumeId];
      if (!state || !current?.attachment || current.attachment.settlesAt !== at) return;
      if (current.attachment.state === 'detaching') detach(state, current, at);
      else changeVolume(state, current, (v) => {
        v.attachment = { ...v.attachment!, state: 'attached' };
        delete v.attachment.settlesAt;
      });
      rt.store.changed();
    });
  }
}

/** Ends a volume's attachment: available again, its history period closed. */
function detach(state: Ec2State, volume: VolumeRecord, at: number): void {
  changeVolume(state, volume, (v) => {
    delete v.attachment;
    v.state = 'available';
    const open = v.attachmentHistory[v.attachmentHistory.length - 1];
    if (open && open.detachedAt === undefined) open.detachedAt = isoTime(at);
  });
}

export function armPendingVolumes(rt: Runtime, regions: { account: string; region: string; state: Ec2State }[]): void {
  for (const { account, region, state } of regions) {
    for (const volume of Object.values(state.volumes)) {
      if (volume.availableAt !== undefined || volume.attachment?.settlesAt !== undefined) armVolume(rt, account, region, volume);
    }
  }
}

/** Volumes attached (or attaching, detaching) to an instance, in creation order. */
export function volumesAttachedTo(state: Ec2State, instanceId: string): VolumeRecord[] {
  return volumeIndex(state).lookup('attachment.instance-id', instanceId);
}

/**
 * The root volume of a new instance, attached at its root device from launch and deleted on termination (as
 * RunInstances makes it from the image's root mapping).
 */
export function createRootVolume(
  state: Ec2State,
  instance: Pick<InstanceRecord, 'instanceId' | 'volumeId' | 'availabilityZone' | 'rootDeviceName'>,
  launchedAt: number,
  root: { size: number; type: VolumeType; snapshotId?: string; encrypted?: boolean; kmsKeyId?: string },
  tags: Tag[] = [],
): VolumeRecord {
  const volume: VolumeRecord = {
    volumeId: instance.volumeId,
    size: root.size,
    volumeType: root.type,
    ...volumePerformance(root.type, root.size),
    availabilityZone: instance.availabilityZone,
    ...(root.snapshotId ? { snapshotId: root.snapshotId } : {}),
    encrypted: root.encrypted === true,
    ...(root.encrypted && root.kmsKeyId ? { kmsKeyId: root.kmsKeyId } : {}),
    state: 'available',
    createTime: isoTime(launchedAt),
    attachmentHistory: [],
    tags,
  };
  putVolume(state, volume);
  attach(state, volume, instance.instanceId, instance.rootDeviceName, launchedAt, { state: 'attached', deleteOnTermination: true });
  return volume;
}

/** What termination does to an instance's volumes: those marked DeleteOnTermination go, the others are detached. */
export function releaseVolumesOf(state: Ec2State, instanceId: string, at: number): void {
  for (const volume of volumesAttachedTo(state, instanceId)) {
    if (volume.attachment!.deleteOnTermination) dropVolume(state, volume);
    else detach(state, volume, at);
  }
}

function attachmentXml(volume: VolumeRecord): Record<string, XmlValue> {
  const a = volume.attachment!;
  return { volumeId: volume.volumeId, instanceId: a.instanceId, device: a.device, status: a.state, attachTime: a.attachTime, deleteOnTermination: a.deleteOnTermination };
}

export function volumeXml(v: VolumeRecord): Record<string, XmlValue> {
  return {
    volumeId: v.volumeId,
    size: v.size,
    snapshotId: v.snapshotId ?? '',
    availabilityZone: v.availabilityZone,
    availabilityZoneId: availabilityZoneId(v.availabilityZone),
    status: v.state,
    createTime: v.createTime,
    attachmentSet: v.attachment ? [attachmentXml(v)] : [],
    volumeType: v.volumeType,
    ...(v.iops !== undefined ? { iops: v.iops } : {}),
    ...(v.throughput !== undefined ? { throughput: v.throughput } : {}),
    encrypted: v.encrypted,
    ...(v.kmsKeyId ? { kmsKeyId: v.kmsKeyId } : {}),
    multiAttachEnabled: false,
    ...tagSetXml(v.tags),
  };
}
