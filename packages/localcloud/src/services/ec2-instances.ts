/**
 * Instances: RunInstances (pending, then running on the virtual clock, with `EC2 Instance State-change
 * Notification` events, and a root volume each) and DescribeInstances. Later state changes: ec2-instance-lifecycle.ts.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { encryptionOf } from './ec2-ebs-encryption.js';
import { DEFAULT_METADATA_OPTIONS, metadataOptionsOf } from './ec2-metadata-options.js';
import { defaultVpc, launchGroups } from './ec2-security-groups.js';
import { defaultSubnetId } from './ec2-vpcs.js';
import type { RequestContext } from './types.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import { armInstance, checkInstanceType, INSTANCE_RUNNING_DELAY_MS, publishInstanceState } from './ec2-instance-lifecycle.js';
import {
  checkImageId,
  checkInstanceId,
  checkTagLimit,
  ec2State,
  existingEc2State,
  imagesNotFound,
  INSTANCE_STATE_CODES,
  instancesNotFound,
  optionalInt,
  optionalString,
  requiredString,
  tagSetXml,
  tagsFromSpecifications,
  treeList,
  type Ec2State,
  type ImageRecord,
  type InstanceRecord,
  type StartErrorScript,
  type VolumeType,
} from './ec2-model.js';
import { normalizeSeedTags } from './ec2-images.js';
import { checkAvailabilityZone, createRootVolume, volumesAttachedTo } from './ec2-volumes.js';
import { randomId, type Tag } from './filters.js';

/** RunInstances' documented default instance type. */
export const DEFAULT_INSTANCE_TYPE = 'm1.small';

/** At most this many instances per RunInstances call (a guard for the emulator, not an AWS quota). */
const MAX_INSTANCES_PER_CALL = 100;

const INSTANCE_DESCRIBE: DescribeShape<InstanceRecord> = {
  idParam: 'InstanceId',
  idSetName: 'instancesSet',
  checkId: checkInstanceId,
  maxResults: { min: 5, max: 1000 },
  defaultPageSize: 1000,
  fields: {
    'instance-id': (i) => i.instanceId,
    'instance-state-name': (i) => i.state,
    'instance-state-code': (i) => String(INSTANCE_STATE_CODES[i.state]),
    'image-id': (i) => i.imageId,
    'instance-type': (i) => i.instanceType,
    'reservation-id': (i) => i.reservationId,
    'availability-zone': (i) => i.availabilityZone,
    'private-ip-address': (i) => i.privateIpAddress,
    'subnet-id': (i) => i.subnetId,
    'vpc-id': (i) => i.vpcId,
    'key-name': (i) => i.keyName,
    architecture: (i) => i.architecture,
    'client-token': (i) => i.clientToken,
  },
  tagsOf: (i) => i.tags,
};

export function runInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const imageId = requiredString(input, 'ImageId');
  const minCount = optionalInt(input, 'MinCount');
  const maxCount = optionalInt(input, 'MaxCount');
  if (minCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MinCount');
  if (maxCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MaxCount');
  if (minCount < 1) throw new AwsError('InvalidParameterValue', `Value (${minCount}) for parameter minCount is invalid. Expected a positive integer.`);
  if (maxCount < minCount) throw new AwsError('InvalidParameterValue', `Value (${maxCount}) for parameter maxCount is invalid. It cannot be lower than minCount (${minCount}).`);
  if (minCount > MAX_INSTANCES_PER_CALL) {
    throw new AwsError('InstanceLimitExceeded', `You have requested more instances (${minCount}) than localcloud launches in one call (${MAX_INSTANCES_PER_CALL}).`);
  }
  checkImageId(imageId);
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const image = state.images[imageId];
  if (!image) throw imagesNotFound([imageId]);
  if (image.state !== 'available') throw new AwsError('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is not available (its state is ${image.state})`);

  const clientToken = optionalString(input, 'ClientToken');
  if (clientToken) {
    // Idempotency: the same client token answers with the reservation it launched.
    const earlier = Object.values(state.instances).filter((i) => i.clientToken === clientToken);
    if (earlier.length > 0) return reservationXml(earlier[0].reservationId, earlier, state, ctx.account);
  }

  const tags = tagsFromSpecifications(input, 'instance', ['instance', 'volume', 'network-interface', 'spot-instances-request']);
  const volumeTags = tagsFromSpecifications(input, 'volume', ['instance', 'volume', 'network-interface', 'spot-instances-request']);
  const instanceType = optionalString(input, 'InstanceType') ?? DEFAULT_INSTANCE_TYPE;
  checkInstanceType(instanceType);
  const placement = treeList(input, 'Placement')[0];
  const availabilityZone = (placement && optionalString(placement, 'AvailabilityZone')) ?? `${ctx.region}a`;
  checkAvailabilityZone(ctx.region, availabilityZone);
  // Without SubnetId an instance goes to the default subnet of its zone.
  const subnetId = optionalString(input, 'SubnetId') ?? defaultSubnetId(state, ctx.region, availabilityZone);
  const keyName = optionalString(input, 'KeyName');
  const securityGroupIds = launchGroups(state, input).map((g) => g.groupId);
  const metadataOptions = metadataOptionsOf(treeList(input, 'MetadataOptions')[0], DEFAULT_METADATA_OPTIONS);
  const now = ctx.clock.nowMs();
  const reservationId = randomId('r-');
  const count = Math.min(maxCount, MAX_INSTANCES_PER_CALL);
  const launched: InstanceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const instance = newInstance(state, ctx.region, image, now, {
      instanceType,
      state: 'pending',
      reservationId,
      amiLaunchIndex: i,
      subnetId,
      availabilityZone,
      ...(keyName ? { keyName } : {}),
      ...(clientToken ? { clientToken } : {}),
      securityGroupIds,
      metadataOptions,
      tags,
    });
    checkTagLimit(instance.instanceId, tags);
    launched.push(instance);
  }
  for (const instance of launched) {
    state.instances[instance.instanceId] = instance;
    const root = rootOf(image);
    createRootVolume(state, instance, now, { ...root, ...encryptionOf(ctx, state, {}, { encrypted: root.encrypted ?? false }) }, volumeTags);
    instance.settlesAt = now + INSTANCE_RUNNING_DELAY_MS;
    publishInstanceState(ctx, ctx.account, ctx.region, instance.instanceId, 'pending');
    armInstance(ctx, ctx.account, ctx.region, instance);
  }
  return reservationXml(reservationId, launched, state, ctx.account);
}

/** An instance record (not yet stored) launched from `image`; defaults for what the caller leaves out. */
export function newInstance(
  state: Ec2State,
  region: string,
  image: ImageRecord | undefined,
  now: number,
  spec: Partial<
    Pick<
      InstanceRecord,
      'instanceId' | 'imageId' | 'instanceType' | 'state' | 'reservationId' | 'amiLaunchIndex' | 'subnetId' | 'availabilityZone' | 'volumeId' | 'keyName' | 'clientToken' | 'securityGroupIds' | 'metadataOptions' | 'tags'
    >
  >,
): InstanceRecord {
  return {
    instanceId: spec.instanceId ?? randomId('i-'),
    imageId: spec.imageId ?? image?.imageId ?? randomId('ami-'),
    instanceType: spec.instanceType ?? DEFAULT_INSTANCE_TYPE,
    state: spec.state ?? 'running',
    launchTime: new Date(now).toISOString(),
    reservationId: spec.reservationId ?? randomId('r-'),
    amiLaunchIndex: spec.amiLaunchIndex ?? 0,
    architecture: image?.architecture ?? 'x86_64',
    privateIpAddress: randomPrivateIp(),
    subnetId: spec.subnetId ?? defaultSubnetId(state, region, spec.availabilityZone ?? `${region}a`),
    vpcId: defaultVpc(state).vpcId,
    securityGroupIds: spec.securityGroupIds ?? [defaultVpc(state).defaultGroup.groupId],
    networkInterfaceId: randomId('eni-'),
    macAddress: randomMac(),
    metadataOptions: spec.metadataOptions ?? { ...DEFAULT_METADATA_OPTIONS },
    availabilityZone: spec.availabilityZone ?? `${region}a`,
    rootDeviceName: image?.rootDeviceName ?? '/dev/xvda',
    volumeId: spec.volumeId ?? randomId('vol-'),
    ...(spec.keyName ? { keyName: spec.keyName } : {}),
    ...(spec.clientToken ? { clientToken: spec.clientToken } : {}),
    tags: (spec.tags ?? []).map((t) => ({ ...t })),
  };
}

/** The root volume an image gives its instances (its root mapping; 8 GiB gp3 when the image is not emulated). */
export function rootOf(image: ImageRecord | undefined): { size: number; type: VolumeType; snapshotId?: string; encrypted?: boolean } {
  const mapping = image?.blockDeviceMappings.find((m) => m.deviceName === image.rootDeviceName);
  const type = mapping?.volumeType as VolumeType | undefined;
  return { size: mapping?.volumeSize ?? 8, type: type ?? 'gp3', ...(mapping ? { snapshotId: mapping.snapshotId, encrypted: mapping.encrypted } : {}) };
}

function randomMac(): string {
  const byte = () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return `0e:${byte()}:${byte()}:${byte()}:${byte()}:${byte()}`;
}

function randomPrivateIp(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  return `172.31.${byte()}.${byte()}`;
}

export function describeInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const request = parseDescribeRequest(input, INSTANCE_DESCRIBE);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const { page, nextToken } = scanPage(state?.instances ?? {}, request, (i) => i.instanceId, instancesNotFound);
  // A page holds instances; they are answered grouped by the reservation that launched them.
  const reservations = new Map<string, InstanceRecord[]>();
  for (const i of page) reservations.set(i.reservationId, [...(reservations.get(i.reservationId) ?? []), i]);
  return {
    reservationSet: [...reservations].map(([id, members]) => reservationXml(id, members, state!, ctx.account)),
    ...(nextToken ? { nextToken } : {}),
  };
}

function reservationXml(reservationId: string, instances: InstanceRecord[], state: Ec2State, account: string): Record<string, XmlValue> {
  return { reservationId, ownerId: account, groupSet: [], instancesSet: instances.map((i) => instanceXml(i, state, account)) };
}

/** The instance's attached EBS volumes, root first (a state written before volumes were emulated has only the root id). */
function blockDevicesXml(i: InstanceRecord, state: Ec2State): XmlValue[] {
  const volumes = volumesAttachedTo(state, i.instanceId);
  if (volumes.length === 0 && i.state !== 'terminated' && !state.volumes[i.volumeId]) {
    return [{ deviceName: i.rootDeviceName, ebs: { volumeId: i.volumeId, status: 'attached', attachTime: i.launchTime, deleteOnTermination: true } }];
  }
  return volumes
    .sort((a, b) => Number(b.volumeId === i.volumeId) - Number(a.volumeId === i.volumeId))
    .map((v) => ({
      deviceName: v.attachment!.device,
      ebs: { volumeId: v.volumeId, status: v.attachment!.state, attachTime: v.attachment!.attachTime, deleteOnTermination: v.attachment!.deleteOnTermination },
    }));
}

/** The instance's security groups as EC2 lists them (`groupSet`): id and name. */
function groupsXml(i: InstanceRecord, state: Ec2State): { groupId: string; groupName: string }[] {
  const groups = state.securityGroups ?? {};
  const ids = i.securityGroupIds ?? [defaultVpc(state).defaultGroup.groupId];
  return ids.map((id) => ({ groupId: id, groupName: groups[id]?.groupName ?? '' }));
}

/** The primary network interface of a live instance, as DescribeInstances reports it. */
function networkInterfaceXml(i: InstanceRecord, state: Ec2State, account: string, privateDnsName: string): Record<string, XmlValue> {
  const eni = i.networkInterfaceId ?? `eni-${i.instanceId.slice(2)}`;
  return {
    networkInterfaceId: eni,
    subnetId: i.subnetId,
    vpcId: i.vpcId,
    description: '',
    ownerId: account,
    status: 'in-use',
    macAddress: i.macAddress ?? '0e:00:00:00:00:00',
    privateIpAddress: i.privateIpAddress,
    privateDnsName,
    sourceDestCheck: true,
    groupSet: groupsXml(i, state),
    attachment: { attachmentId: `eni-attach-${eni.slice(4)}`, deviceIndex: 0, status: 'attached', attachTime: i.launchTime, deleteOnTermination: true, networkCardIndex: 0 },
    privateIpAddressesSet: [{ privateIpAddress: i.privateIpAddress, privateDnsName, primary: true }],
    ipv6AddressesSet: [],
    interfaceType: 'interface',
  };
}

function instanceXml(i: InstanceRecord, state: Ec2State, account: string): Record<string, XmlValue> {
  const dnsSuffix = i.availabilityZone.startsWith('us-east-1') ? 'ec2.internal' : `${i.availabilityZone.slice(0, -1)}.compute.internal`;
  // A terminated instance has no network: EC2 reports no subnet, VPC, address, interfaces or groups for it.
  const live = i.state !== 'terminated';
  const privateDnsName = live ? `ip-${i.privateIpAddress.replace(/\./g, '-')}.${dnsSuffix}` : '';
  const metadata = i.metadataOptions ?? DEFAULT_METADATA_OPTIONS;
  return {
    instanceId: i.instanceId,
    imageId: i.imageId,
    instanceState: { code: INSTANCE_STATE_CODES[i.state], name: i.state },
    privateDnsName,
    dnsName: '',
    reason: i.stateTransitionReason ?? '',
    ...(i.keyName ? { keyName: i.keyName } : {}),
    amiLaunchIndex: i.amiLaunchIndex,
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    placement: { availabilityZone: i.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    ...(live ? { subnetId: i.subnetId, vpcId: i.vpcId, privateIpAddress: i.privateIpAddress } : {}),
    sourceDestCheck: true,
    groupSet: live ? groupsXml(i, state) : [],
    networkInterfaceSet: live ? [networkInterfaceXml(i, state, account, privateDnsName)] : [],
    metadataOptions: { state: 'applied', ...metadata },
    hibernationOptions: { configured: i.hibernationConfigured === true },
    architecture: i.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: blockDevicesXml(i, state),
    virtualizationType: 'hvm',
    ...(i.clientToken ? { clientToken: i.clientToken } : {}),
    ...tagSetXml(i.tags),
    ...(i.stateReason ? { stateReason: i.stateReason } : {}),
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: true,
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
  };
}

/** An instance of the stage's seed. */
export interface InstanceSeed {
  /** An image id returned for this seed's images; default the region's first image. */
  imageId?: string;
  instanceType?: string;
  tags?: Record<string, string> | Tag[];
  state?: 'running' | 'stopped';
  /** Default the region's first zone (`us-east-1a`). */
  availabilityZone?: string;
  /** Enabled for hibernation at launch (DescribeInstances HibernationOptions.Configured); default false. */
  hibernation?: boolean;
  /** How every StartInstances of it fails: `{ code, message? }` (pending, then stopped with that StateReason) or `{ api, message? }` (the call fails with that error code). */
  startError?: StartErrorScript;
}

/** A running (or stopped) instance for the stage's seed, with its root volume. */
export function seedInstance(store: Store, account: string, region: string, now: number, spec: InstanceSeed): string {
  if (spec.hibernation !== undefined && typeof spec.hibernation !== 'boolean') throw new RangeError('instance: hibernation must be true or false');
  const startError = spec.startError === undefined ? undefined : checkStartError(spec.startError);
  const state = ec2State(store, account, region);
  // Without an image id, the instance runs from the first image of the region (or one that is not emulated).
  const imageId = spec.imageId ?? Object.keys(state.images)[0];
  const image = imageId === undefined ? undefined : state.images[imageId];
  if (spec.imageId && !image) throw new RangeError(`instance: image ${spec.imageId} is not in the seed (seed images first)`);
  if (spec.instanceType !== undefined) checkInstanceType(spec.instanceType);
  const instance = newInstance(state, region, image, now, {
    ...(imageId ? { imageId } : {}),
    ...(spec.instanceType ? { instanceType: spec.instanceType } : {}),
    state: spec.state ?? 'running',
    ...(spec.availabilityZone ? { availabilityZone: spec.availabilityZone } : {}),
    tags: normalizeSeedTags(spec.tags),
  });
  if (spec.hibernation) instance.hibernationConfigured = true;
  if (startError) instance.startError = startError;
  state.instances[instance.instanceId] = instance;
  createRootVolume(state, instance, now, rootOf(image));
  return instance.instanceId;
}

/** A seed's `startError`, checked: exactly one of `code` (a StateReason code) and `api` (an EC2 error code). */
function checkStartError(given: unknown): StartErrorScript {
  const e = (typeof given === 'object' && given !== null ? given : {}) as Record<string, unknown>;
  const code = /^[A-Za-z][A-Za-z0-9.]*$/;
  const message = e.message;
  if (message !== undefined && typeof message !== 'string') throw new RangeError('instance: startError.message must be a string');
  const withMessage = message === undefined ? {} : { message };
  if (typeof e.code === 'string' && e.api === undefined && code.test(e.code)) return { code: e.code, ...withMessage };
  if (typeof e.api === 'string' && e.code === undefined && code.test(e.api)) return { api: e.api, ...withMessage };
  throw new RangeError('instance: startError needs either code (a StateReason code, e.g. Client.InvalidKMSKey.InvalidState) or api (an EC2 error code, e.g. InsufficientInstanceCapacity)');
}
