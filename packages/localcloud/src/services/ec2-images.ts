/**
 * AMIs: CreateImage (pending, then available on the virtual clock with an `EC2 AMI State Change` event, and an
 * EBS snapshot of the instance's root volume), DescribeImages (the account's own images and other accounts' public
 * ones, `Owners`, `IncludeDisabled`), DisableImage and DeregisterImage (which leaves the snapshots).
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import type { RequestContext } from './types.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import {
  checkImageId,
  checkInstanceId,
  checkTagLimit,
  ec2State,
  existingEc2State,
  imageArn,
  imagesNotFound,
  instancesNotFound,
  isoTime,
  optionalBool,
  optionalString,
  requiredString,
  stringList,
  tagSetXml,
  tagsFromSpecifications,
  visibleImages,
  type EbsMapping,
  type ImageRecord,
  type SnapshotRecord,
  type VisibleImage,
} from './ec2-model.js';
import { randomId, type Runtime } from './filters.js';
import { armSnapshot, SNAPSHOT_COMPLETED_DELAY_MS } from './ec2-snapshots.js';

/** How long (virtual time) a new image stays `pending` before it is `available`. */
export const IMAGE_AVAILABLE_DELAY_MS = 60_000;

/** 3-128 characters: letters, numbers, ( ) [ ] space . / - ' @ _ */
const IMAGE_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

const imageDescribe: DescribeShape<VisibleImage> = {
  idParam: 'ImageId',
  idSetName: 'ImageIds',
  checkId: checkImageId,
  maxResults: { min: 1, max: 1000 },
  defaultPageSize: 1000,
  fields: {
    name: (v) => v.image.name,
    state: (v) => v.image.state,
    'image-id': (v) => v.image.imageId,
    'owner-id': (v) => v.owner,
    description: (v) => v.image.description,
    architecture: (v) => v.image.architecture,
    'image-type': () => 'machine',
    'is-public': (v) => String(v.image.public === true),
    'root-device-type': () => 'ebs',
    'source-instance-id': (v) => v.image.sourceInstanceId,
  },
  tagsOf: (v) => v.image.tags,
};

export function checkImageName(name: string): void {
  if (!IMAGE_NAME.test(name)) {
    throw new AwsError(
      'InvalidAMIName.Malformed',
      `AMI names must be between 3 and 128 characters long, and may contain only letters, numbers, spaces and ( ) [ ] . / - ' @ _ (got "${name}")`,
    );
  }
}

export function checkImageNameUnique(images: Record<string, ImageRecord>, name: string): void {
  const holder = Object.values(images).find((i) => i.name === name);
  if (holder) throw new AwsError('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${holder.imageId}`);
}

/** A root EBS mapping for a new image, with a snapshot id as EC2 would report it. */
export function rootMapping(rootDeviceName: string): EbsMapping {
  return { deviceName: rootDeviceName, snapshotId: randomId('snap-'), volumeSize: 8, volumeType: 'gp3', deleteOnTermination: true, encrypted: false };
}

export function createImage(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const instanceId = requiredString(input, 'InstanceId');
  const name = requiredString(input, 'Name');
  checkInstanceId(instanceId);
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const instance = state.instances[instanceId];
  if (!instance || instance.state === 'terminated') throw instancesNotFound([instanceId]);
  if (instance.state !== 'running' && instance.state !== 'stopped') {
    throw new AwsError('IncorrectState', `The instance '${instanceId}' is not in a state from which it can be imaged.`);
  }
  checkImageName(name);
  checkImageNameUnique(state.images, name);
  const description = optionalString(input, 'Description');
  if (description !== undefined && description.length > 255) {
    throw new AwsError('InvalidParameterValue', 'The description must be no longer than 255 characters.');
  }
  const tags = tagsFromSpecifications(input, 'image', ['image', 'snapshot']);
  const snapshotTags = tagsFromSpecifications(input, 'snapshot', ['image', 'snapshot']);
  const imageId = randomId('ami-');
  checkTagLimit(imageId, tags);
  optionalBool(input, 'NoReboot'); // accepted; the emulated instance does not reboot either way
  const now = ctx.clock.nowMs();
  const root = rootMapping(instance.rootDeviceName);
  const image: ImageRecord = {
    imageId,
    name,
    ...(description !== undefined ? { description } : {}),
    state: 'pending',
    creationDate: new Date(now).toISOString(),
    availableAt: now + IMAGE_AVAILABLE_DELAY_MS,
    requestId: ctx.requestId,
    sourceInstanceId: instanceId,
    architecture: instance.architecture,
    rootDeviceName: instance.rootDeviceName,
    blockDeviceMappings: [root],
    tags,
  };
  state.images[imageId] = image;
  // EC2 snapshots the instance's volumes for the image: the snapshots are the account's, listed by
  // DescribeSnapshots, and stay when the image is deregistered (deleting them is up to the owner).
  const snapshot: SnapshotRecord = {
    snapshotId: root.snapshotId,
    volumeId: instance.volumeId,
    volumeSize: root.volumeSize,
    description: `Created by CreateImage(${instanceId}) for ${imageId} from ${instance.volumeId}`,
    state: 'pending',
    startTime: isoTime(now),
    completedAt: now + SNAPSHOT_COMPLETED_DELAY_MS,
    encrypted: root.encrypted,
    tags: snapshotTags,
  };
  state.snapshots[snapshot.snapshotId] = snapshot;
  armSnapshot(ctx, ctx.account, ctx.region, snapshot);
  armImage(ctx, ctx.account, ctx.region, image);
  return { imageId };
}

/** Schedules a pending image's move to `available`. Safe to call twice: the move happens once. */
export function armImage(rt: Runtime, account: string, region: string, image: ImageRecord): void {
  if (image.state !== 'pending' || image.availableAt === undefined) return;
  const imageId = image.imageId;
  rt.clock.at(image.availableAt, () => completeImage(rt, account, region, imageId));
}

function completeImage(rt: Runtime, account: string, region: string, imageId: string): void {
  // Look the image up again: it may have been deregistered, or the emulator reset, since the timer was set.
  const image = existingEc2State(rt.store, account, region)?.images[imageId];
  if (!image || image.state !== 'pending') return;
  image.state = 'available';
  const at = image.availableAt ?? rt.clock.nowMs();
  delete image.availableAt;
  rt.store.changed();
  publishImageState(rt, account, region, image.imageId, 'available', image.requestId ?? '', new Date(at));
}

export function publishImageState(rt: Pick<Runtime, 'bus'>, account: string, region: string, imageId: string, state: string, requestId: string, time?: Date): void {
  rt.bus.publish({
    source: 'aws.ec2',
    detailType: 'EC2 AMI State Change',
    detail: { RequestId: requestId, ImageId: imageId, State: state, ErrorMessage: '' },
    resources: [imageArn(region, imageId)],
    account,
    region,
    ...(time ? { time } : {}),
  });
}

/** Re-arms every pending image of every account and region (startup, reset, after seeding). */
export function armPendingImages(rt: Runtime): void {
  for (const { account, region, state } of rt.store.all<{ images?: Record<string, ImageRecord> }>('ec2')) {
    for (const image of Object.values(state.images ?? {})) armImage(rt, account, region, image);
  }
}

export function describeImages(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const request = parseDescribeRequest(input, imageDescribe);
  const owners = stringList(input, 'Owner');
  // EC2 leaves disabled images out unless they are asked for.
  const includeDisabled = optionalBool(input, 'IncludeDisabled') === true;
  const visible = visibleImages(ctx.store, ctx.account, ctx.region);
  const selected = (v: VisibleImage) => ownedBy(owners, v.owner, ctx.account) && (includeDisabled || v.image.state !== 'disabled');
  const { page, nextToken } = scanPage(visible, request, (v) => v.image.imageId, imagesNotFound, selected);
  return { imagesSet: page.map(imageXml), ...(nextToken ? { nextToken } : {}) };
}

/** `Owners`: `self` or account ids (aliases such as `amazon` own nothing here); none given: every visible image. */
function ownedBy(owners: string[], owner: string, account: string): boolean {
  return owners.length === 0 || owners.some((o) => (o === 'self' ? owner === account : o === owner));
}

/** `2026-12-02T10:00:00.123Z` -> `2026-12-02T10:00:00.000Z`. */
export function wholeSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function imageXml({ image, owner }: VisibleImage): Record<string, XmlValue> {
  return {
    imageId: image.imageId,
    imageLocation: `${owner}/${image.name}`,
    imageState: image.state,
    imageOwnerId: owner,
    // EC2 prints an image's creation date at whole seconds (`2026-12-02T10:00:00.000Z`).
    creationDate: wholeSeconds(image.creationDate),
    isPublic: image.public === true,
    architecture: image.architecture,
    imageType: 'machine',
    ...(image.sourceInstanceId ? { sourceInstanceId: image.sourceInstanceId } : {}),
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    name: image.name,
    ...(image.description !== undefined ? { description: image.description } : {}),
    rootDeviceType: 'ebs',
    rootDeviceName: image.rootDeviceName,
    blockDeviceMapping: [
      ...image.blockDeviceMappings.map((m) => ({
        deviceName: m.deviceName,
        ebs: { snapshotId: m.snapshotId, volumeSize: m.volumeSize, deleteOnTermination: m.deleteOnTermination, volumeType: m.volumeType, encrypted: m.encrypted },
      })),
      ...(image.instanceStoreMappings ?? []).map((m) => ({ deviceName: m.deviceName, virtualName: m.virtualName })),
    ],
    virtualizationType: 'hvm',
    hypervisor: 'xen',
    enaSupport: true,
    sriovNetSupport: 'simple',
    ...tagSetXml(image.tags),
  };
}

export function deregisterImage(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const imageId = requiredString(input, 'ImageId');
  checkImageId(imageId);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  if (!state?.images[imageId]) throw imagesNotFound([imageId]);
  delete state.images[imageId];
  publishImageState(ctx, ctx.account, ctx.region, imageId, 'deregistered', ctx.requestId);
  return { return: true };
}

/**
 * DisableImage: only the owner may disable an image; it becomes `disabled`, private, hidden from DescribeImages
 * unless `IncludeDisabled`, and cannot be launched, and EC2 raises an `EC2 AMI State Change` (`disabled`).
 */
export function disableImage(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const imageId = requiredString(input, 'ImageId');
  checkImageId(imageId);
  const image = existingEc2State(ctx.store, ctx.account, ctx.region)?.images[imageId];
  if (!image) throw imagesNotFound([imageId]);
  if (image.state !== 'available') throw new AwsError('IncorrectState', `The image '${imageId}' is ${image.state}; only an available image can be disabled.`);
  image.state = 'disabled';
  delete image.public;
  ctx.store.changed();
  publishImageState(ctx, ctx.account, ctx.region, imageId, 'disabled', ctx.requestId);
  return { return: true };
}

/** Images for the stage's seed: available by default, with the given creation date (ISO) and tags. */
export function seedImage(
  store: Store,
  account: string,
  region: string,
  now: number,
  spec: {
    name: string;
    tags?: Record<string, string> | { Key: string; Value: string }[];
    creationDate?: string;
    state?: 'pending' | 'available';
    description?: string;
    architecture?: string;
    public?: boolean;
    instanceStore?: number;
  },
): string {
  if (spec.instanceStore !== undefined && (!Number.isInteger(spec.instanceStore) || spec.instanceStore < 0 || spec.instanceStore > 24)) {
    throw new RangeError(`image ${spec.name}: instanceStore must be a whole number of instance store volumes from 0 to 24`);
  }
  const state = ec2State(store, account, region);
  checkImageName(spec.name);
  checkImageNameUnique(state.images, spec.name);
  const creation = spec.creationDate ? new Date(spec.creationDate) : new Date(now);
  if (Number.isNaN(creation.getTime())) throw new RangeError(`image ${spec.name}: creationDate ${spec.creationDate} is not an ISO-8601 time`);
  const imageId = randomId('ami-');
  const pending = spec.state === 'pending';
  const root = rootMapping('/dev/xvda');
  // The image's root snapshot exists, as for any registered image: DescribeSnapshots lists it, DeleteSnapshot takes it
  // once the image is deregistered. Its volume is reported as vol-ffffffff (no volume of this account made it).
  const started = creation.toISOString();
  state.snapshots[root.snapshotId] = {
    snapshotId: root.snapshotId,
    volumeId: 'vol-ffffffff',
    volumeSize: root.volumeSize,
    description: `Created for ${imageId} (seeded image ${spec.name})`,
    state: 'completed',
    startTime: started,
    completionTime: started,
    encrypted: root.encrypted,
    tags: [],
  };
  state.images[imageId] = {
    imageId,
    name: spec.name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    state: pending ? 'pending' : 'available',
    creationDate: creation.toISOString(),
    ...(pending ? { availableAt: Math.max(now, creation.getTime()) + IMAGE_AVAILABLE_DELAY_MS, requestId: randomUUID() } : {}),
    architecture: spec.architecture ?? 'x86_64',
    rootDeviceName: '/dev/xvda',
    blockDeviceMappings: [root],
    // Instance store volumes mapped as EC2 names them: /dev/sdb -> ephemeral0, /dev/sdc -> ephemeral1 …
    ...(spec.instanceStore ? { instanceStoreMappings: Array.from({ length: spec.instanceStore }, (_, n) => ({ deviceName: `/dev/sd${String.fromCharCode(98 + n)}`, virtualName: `ephemeral${n}` })) } : {}),
    tags: normalizeSeedTags(spec.tags),
    ...(spec.public === true ? { public: true } : {}),
  };
  return imageId;
}

export function normalizeSeedTags(tags: Record<string, string> | { Key: string; Value: string }[] | undefined): { Key: string; Value: string }[] {
  if (!tags) return [];
  if (Array.isArray(tags)) return tags.map((t) => ({ Key: t.Key, Value: t.Value }));
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
