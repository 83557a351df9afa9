/**
 * EC2's persisted state (per account and region) and what the EC2 modules share: records, ids, ARNs, the
 * query-protocol input helpers, tags from the wire and the EC2 error shapes.
 */
import { AwsError } from '../errors.js';
import type { QueryTree, QueryValue } from '../protocols/query.js';
import { list, optionalBool, optionalString, requiredString } from '../protocols/query.js';
import { dictionary, type Store } from '../store.js';
import type { SecurityGroupRecord } from './ec2-security-groups.js';
import type { SubnetRecord } from './ec2-vpcs.js';
import type { Tag } from './filters.js';

export const EC2_SERVICE = 'ec2';

export type ImageState = 'pending' | 'available' | 'failed' | 'disabled';
export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface EbsMapping {
  deviceName: string;
  snapshotId: string;
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  encrypted: boolean;
}

export interface ImageRecord {
  imageId: string;
  name: string;
  description?: string;
  state: ImageState;
  /** ISO-8601 with milliseconds, as EC2 reports it. */
  creationDate: string;
  /** Epoch ms (virtual time) at which a pending image becomes available. */
  availableAt?: number;
  /** The CreateImage request, reported again in the `EC2 AMI State Change` event. */
  requestId?: string;
  sourceInstanceId?: string;
  architecture: string;
  rootDeviceName: string;
  blockDeviceMappings: EbsMapping[];
  /** Instance store volumes the image maps (`/dev/sdb` -> `ephemeral0`); seeded only. */
  instanceStoreMappings?: { deviceName: string; virtualName: string }[];
  tags: Tag[];
  /** Launchable by every account (a public AMI): other accounts see it in DescribeImages. */
  public?: boolean;
}

export interface InstanceRecord {
  instanceId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  /**
   * Epoch ms (virtual time) at which a transient state gives way to the next one: pending -> running,
   * stopping -> stopped, shutting-down -> terminated. Absent in the stable states.
   */
  settlesAt?: number;
  /** EC2's `reason` (`User initiated (2026-11-22 10:00:00 GMT)`) and `stateReason` after a stop or termination. */
  stateTransitionReason?: string;
  stateReason?: { code: string; message: string };
  /** ISO-8601. */
  launchTime: string;
  reservationId: string;
  amiLaunchIndex: number;
  architecture: string;
  privateIpAddress: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  rootDeviceName: string;
  /** The root volume, a record in `Ec2State.volumes` attached at `rootDeviceName`. */
  volumeId: string;
  keyName?: string;
  clientToken?: string;
  /** The VPC security groups of its primary network interface (absent in state written before they were emulated: the VPC's default group). */
  securityGroupIds?: string[];
  /** The primary network interface (`eni-…`) and its MAC address. */
  networkInterfaceId?: string;
  macAddress?: string;
  /** Instance metadata service options (RunInstances MetadataOptions, ModifyInstanceMetadataOptions). */
  metadataOptions?: MetadataOptions;
  /** Enabled for hibernation at launch (HibernationOptions.Configured): StopInstances `Hibernate` hibernates it. */
  hibernationConfigured?: boolean;
  /** A start failure scripted by the seed (see StartErrorScript); every StartInstances meets it. */
  startError?: StartErrorScript;
  tags: Tag[];
}

/**
 * How StartInstances fails for an instance, as the seed scripts it:
 * - `{ code, message? }`: the call is accepted, the instance goes `pending`, then back to `stopped` with that
 *   StateReason, as EC2 does when a volume's KMS key cannot be used (`Client.InvalidKMSKey.InvalidState`);
 * - `{ api, message? }`: the call fails with that error code (`InsufficientInstanceCapacity`), changing nothing.
 */
export type StartErrorScript = { code: string; message?: string } | { api: string; message?: string };

export interface MetadataOptions {
  httpTokens: 'optional' | 'required';
  httpPutResponseHopLimit: number;
  httpEndpoint: 'enabled' | 'disabled';
  httpProtocolIpv6: 'enabled' | 'disabled';
  instanceMetadataTags: 'enabled' | 'disabled';
}

export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';
export const VOLUME_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const;
export type VolumeType = (typeof VOLUME_TYPES)[number];
export type AttachmentState = 'attaching' | 'attached' | 'detaching';

export interface VolumeAttachmentRecord {
  instanceId: string;
  device: string;
  state: AttachmentState;
  /** ISO-8601. */
  attachTime: string;
  deleteOnTermination: boolean;
  /** Epoch ms (virtual time) at which attaching becomes attached, or detaching ends the attachment. */
  settlesAt?: number;
}

/** One period a volume spent attached to an instance; the current one has no `detachedAt`. ISO-8601 times. */
export interface AttachmentPeriod {
  instanceId: string;
  device?: string;
  attachedAt: string;
  detachedAt?: string;
}

export interface VolumeRecord {
  volumeId: string;
  /** GiB. */
  size: number;
  volumeType: VolumeType;
  /** Provisioned (gp3, io1, io2) or baseline (gp2) IOPS; absent for st1, sc1, standard. */
  iops?: number;
  /** gp3 only, MiB/s. */
  throughput?: number;
  availabilityZone: string;
  snapshotId?: string;
  encrypted: boolean;
  /** The KMS key ARN of an encrypted volume. */
  kmsKeyId?: string;
  state: VolumeState;
  /** ISO-8601 with milliseconds. */
  createTime: string;
  /** Epoch ms (virtual time) at which a creating volume is available. */
  availableAt?: number;
  attachment?: VolumeAttachmentRecord;
  /**
   * Every attachment the volume has had, oldest first. EC2 does not report it; it is kept so that the seed can
   * describe a volume "created a year ago, detached yesterday" and tests of the stale-EBS scanner can read it.
   */
  attachmentHistory: AttachmentPeriod[];
  /** The CreateVolume client token, for idempotent retries. */
  clientToken?: string;
  tags: Tag[];
}

export type SnapshotState = 'pending' | 'completed' | 'error';

export interface SnapshotRecord {
  snapshotId: string;
  volumeId: string;
  volumeSize: number;
  description?: string;
  state: SnapshotState;
  /** ISO-8601 with milliseconds. */
  startTime: string;
  /** Epoch ms (virtual time) at which a pending snapshot is completed. */
  completedAt?: number;
  /** ISO-8601, once completed. */
  completionTime?: string;
  encrypted: boolean;
  /** The KMS key ARN of an encrypted snapshot. */
  kmsKeyId?: string;
  /** CopySnapshot's copy: the source snapshot id (its volume is reported as vol-ffffffff, as EC2 does). */
  sourceSnapshotId?: string;
  /** createVolumePermission: account ids it is shared with, and whether it is public (group `all`). */
  sharedWith?: string[];
  publicShare?: boolean;
  tags: Tag[];
}

/** Plain JSON, persisted by the store. Records are keyed by id; key order is creation order. */
export interface Ec2State {
  images: Record<string, ImageRecord>;
  instances: Record<string, InstanceRecord>;
  /** Indexed (ec2-volume-index.ts): add, remove and change volumes only through putVolume, dropVolume, changeVolume. */
  volumes: Record<string, VolumeRecord>;
  snapshots: Record<string, SnapshotRecord>;
  /** The account's default VPC in the region, made on first launch. */
  defaultVpcId?: string;
  /** The default VPC's subnets by id (ec2-vpcs.ts), made with it; absent in state written before they were emulated. */
  subnets?: Record<string, SubnetRecord>;
  /** VPC security groups by id (ec2-security-groups.ts); absent in state written before they were emulated. */
  securityGroups?: Record<string, SecurityGroupRecord>;
  /** EBS encryption by default (EnableEbsEncryptionByDefault): new volumes and snapshot copies are encrypted. */
  ebsEncryptionByDefault?: boolean;
  /** ModifyEbsDefaultKmsKeyId's key ARN; absent: the AWS managed key `alias/aws/ebs`. */
  ebsDefaultKmsKeyId?: string;
}

export function ec2State(store: Store, account: string, region: string): Ec2State {
  return withCollections(store.scope<Ec2State>(EC2_SERVICE, account, region, () => ({ images: {}, instances: {}, volumes: {}, snapshots: {} })));
}

/** The state of one account and region if it exists, without creating it (timers fire after a reset too). */
export function existingEc2State(store: Store, account: string, region: string): Ec2State | undefined {
  const state = store.all<Ec2State>(EC2_SERVICE).find((s) => s.account === account && s.region === region)?.state;
  return state && withCollections(state);
}

/** Every region's EC2 state, for timers re-armed at startup. */
export function allEc2States(store: Store): { account: string; region: string; state: Ec2State }[] {
  return store.all<Ec2State>(EC2_SERVICE).map((s) => ({ ...s, state: withCollections(s.state) }));
}

/** State files written before volumes and snapshots were emulated lack their collections. */
function withCollections(state: Ec2State): Ec2State {
  state.volumes ??= dictionary();
  state.snapshots ??= dictionary();
  return state;
}

/** An image an account can see in a region, with the account that owns it. */
export interface VisibleImage {
  image: ImageRecord;
  owner: string;
}

/** The account's own images and every other account's public images in the region, by image id. */
export function visibleImages(store: Store, account: string, region: string): Record<string, VisibleImage> {
  const visible: Record<string, VisibleImage> = {};
  for (const s of allEc2States(store)) {
    if (s.region !== region) continue;
    for (const image of Object.values(s.state.images)) {
      if (s.account === account || image.public === true) visible[image.imageId] = { image, owner: s.account };
    }
  }
  return visible;
}

/** An image an account can use in a region (its own or a public one), for other services (SSM's `aws:ec2:image`). */
export function findImage(store: Store, account: string, region: string, imageId: string): ImageRecord | undefined {
  return existingEc2State(store, account, region)?.images[imageId] ?? visibleImages(store, account, region)[imageId]?.image;
}

export const IMAGE_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const VOLUME_ID = /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const SNAPSHOT_ID = /^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export const imageArn = (region: string, imageId: string) => `arn:aws:ec2:${region}::image/${imageId}`;
export const instanceArn = (region: string, account: string, instanceId: string) => `arn:aws:ec2:${region}:${account}:instance/${instanceId}`;

// --- query-protocol input (the readers every query service shares live in protocols/query.ts) ----------------------------------------------------------------------------------

export { optionalBool, optionalString, requiredString };


export function optionalInt(input: QueryTree, name: string): number | undefined {
  const v = optionalString(input, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new AwsError('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid. Expected an integer.`);
  return n;
}

export function stringList(input: QueryTree, name: string): string[] {
  return list<QueryValue>(input[name]).filter((v): v is string => typeof v === 'string');
}

export function treeList(input: QueryTree, name: string): QueryTree[] {
  return list<QueryValue>(input[name]).filter((v): v is QueryTree => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/** `Tag.N.Key` / `Tag.N.Value` (Value may be absent: DeleteTags by key). */
export function wireTags(items: QueryTree[]): { Key: string; Value?: string }[] {
  return items.map((t) => {
    const key = optionalString(t, 'Key');
    if (key === undefined) throw new AwsError('InvalidParameterValue', 'Tag keys must be specified');
    const value = optionalString(t, 'Value');
    return value === undefined ? { Key: key } : { Key: key, Value: value };
  });
}

export const MAX_TAGS_PER_RESOURCE = 50;

/** Checks tags to be set on a resource as EC2 does: key 1-128, value up to 256, no `aws:` prefix. */
export function validateTagsToSet(tags: { Key: string; Value?: string }[]): Tag[] {
  return tags.map((t) => {
    if (t.Key.length < 1 || t.Key.length > 128) {
      throw new AwsError('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters (or is empty): ${t.Key}`);
    }
    if (t.Key.toLowerCase().startsWith('aws:')) throw new AwsError('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    const value = t.Value ?? '';
    if (value.length > 256) throw new AwsError('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters: ${t.Key}`);
    return { Key: t.Key, Value: value };
  });
}

export function checkTagLimit(resourceId: string, tags: Tag[]): void {
  if (tags.length > MAX_TAGS_PER_RESOURCE) {
    throw new AwsError('TagLimitExceeded', `The maximum number of tags (${MAX_TAGS_PER_RESOURCE}) for resource ${resourceId} has been exceeded.`);
  }
}

/** Tags of `TagSpecification.N` for one resource type; other resource types the operation allows are ignored. */
export function tagsFromSpecifications(input: QueryTree, resourceType: string, allowed: string[]): Tag[] {
  let tags: Tag[] = [];
  for (const spec of treeList(input, 'TagSpecification')) {
    const type = optionalString(spec, 'ResourceType');
    if (!type || !allowed.includes(type)) {
      throw new AwsError('InvalidParameterValue', `'${type ?? ''}' is not a valid taggable resource type for this operation.`);
    }
    if (type === resourceType) tags = tags.concat(validateTagsToSet(wireTags(treeList(spec, 'Tag'))));
  }
  return tags;
}

/** The NotFound error EC2 gives for a list of missing ids: `The image id '[ami-…]' does not exist`. */
export function imagesNotFound(ids: string[]): AwsError {
  return new AwsError('InvalidAMIID.NotFound', `The image id${ids.length > 1 ? 's' : ''} '[${ids.join(', ')}]' ${ids.length > 1 ? 'do' : 'does'} not exist`);
}

export function instancesNotFound(ids: string[]): AwsError {
  return new AwsError(
    'InvalidInstanceID.NotFound',
    `The instance ID${ids.length > 1 ? 's' : ''} '${ids.join(', ')}' ${ids.length > 1 ? 'do' : 'does'} not exist`,
  );
}

/** `The volume 'vol-…' does not exist.` */
export function volumesNotFound(ids: string[]): AwsError {
  return new AwsError('InvalidVolume.NotFound', `The volume${ids.length > 1 ? 's' : ''} '${ids.join(', ')}' ${ids.length > 1 ? 'do' : 'does'} not exist.`);
}

export function snapshotsNotFound(ids: string[]): AwsError {
  return new AwsError('InvalidSnapshot.NotFound', `The snapshot${ids.length > 1 ? 's' : ''} '${ids.join(', ')}' ${ids.length > 1 ? 'do' : 'does'} not exist.`);
}

export function checkImageId(id: string): void {
  if (!IMAGE_ID.test(id)) throw new AwsError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
}

export function checkInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id)) throw new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
}

export function checkVolumeId(id: string): void {
  if (!VOLUME_ID.test(id)) throw new AwsError('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
}

export function checkSnapshotId(id: string): void {
  if (!SNAPSHOT_ID.test(id)) throw new AwsError('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`);
}

/** EC2's timestamps: ISO-8601 with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `Tag.N` as EC2 writes tags in its answers (`tagSet`), left out when there are none. */
export function tagSetXml(tags: Tag[]): { tagSet?: { key: string; value: string }[] } {
  return tags.length > 0 ? { tagSet: tags.map((t) => ({ key: t.Key, value: t.Value })) } : {};
}

/** Virtual now from the store alone (seeding runs without a clock): real time plus the persisted offset. */
export function storeNow(store: Store): number {
  return Date.now() + store.clockOffsetMs;
}
