/**
 * Instances: RunInstances (pending, then running on the virtual clock, with `EC2 Instance State-change
 * Notification` events) and DescribeInstances.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import type { RequestContext } from './types.js';
import {
  checkFilterNames,
  checkImageId,
  checkInstanceId,
  checkMaxResults,
  checkTagLimit,
  ec2State,
  existingEc2State,
  imagesNotFound,
  INSTANCE_STATE_CODES,
  instanceArn,
  instancesNotFound,
  invalidPaginationToken,
  matchesFilters,
  optionalInt,
  optionalString,
  requiredString,
  stringList,
  tagsFromSpecifications,
  treeList,
  wireFilters,
  type InstanceRecord,
  type InstanceStateName,
} from './ec2-model.js';
import { normalizeSeedTags } from './ec2-images.js';
import { pageAfter, randomId, type Runtime, type Tag } from './filters.js';

/** How long (virtual time) a launched instance stays `pending` before it is `running`. */
export const INSTANCE_RUNNING_DELAY_MS = 5_000;

/** RunInstances' documented default instance type. */
export const DEFAULT_INSTANCE_TYPE = 'm1.small';

/** At most this many instances per RunInstances call (a guard for the emulator, not an AWS quota). */
const MAX_INSTANCES_PER_CALL = 100;

const INSTANCE_FILTERS = [
  'instance-id',
  'instance-state-name',
  'instance-state-code',
  'image-id',
  'instance-type',
  'reservation-id',
  'availability-zone',
  'private-ip-address',
  'subnet-id',
  'vpc-id',
  'key-name',
  'architecture',
  'client-token',
];

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
    if (earlier.length > 0) return reservationXml(earlier[0].reservationId, earlier, ctx.account);
  }

  const tags = tagsFromSpecifications(input, 'instance', ['instance', 'volume', 'network-interface', 'spot-instances-request']);
  const placement = treeList(input, 'Placement')[0];
  const availabilityZone = (placement && optionalString(placement, 'AvailabilityZone')) ?? `${ctx.region}a`;
  const subnetId = optionalString(input, 'SubnetId') ?? randomId('subnet-');
  const now = ctx.clock.nowMs();
  const reservationId = randomId('r-');
  const count = Math.min(maxCount, MAX_INSTANCES_PER_CALL);
  const launched: InstanceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const instanceId = randomId('i-');
    checkTagLimit(instanceId, tags);
    const instance: InstanceRecord = {
      instanceId,
      imageId,
      instanceType: optionalString(input, 'InstanceType') ?? DEFAULT_INSTANCE_TYPE,
      state: 'pending',
      runningAt: now + INSTANCE_RUNNING_DELAY_MS,
      launchTime: new Date(now).toISOString(),
      reservationId,
      amiLaunchIndex: i,
      architecture: image.architecture,
      privateIpAddress: randomPrivateIp(),
      subnetId,
      vpcId: vpcOf(ctx.store, ctx.account, ctx.region),
      availabilityZone,
      rootDeviceName: image.rootDeviceName,
      volumeId: randomId('vol-'),
      ...(optionalString(input, 'KeyName') ? { keyName: optionalString(input, 'KeyName') } : {}),
      ...(clientToken ? { clientToken } : {}),
      tags: tags.map((t) => ({ ...t })),
    };
    state.instances[instanceId] = instance;
    launched.push(instance);
  }
  for (const instance of launched) {
    publishInstanceState(ctx, ctx.account, ctx.region, instance.instanceId, 'pending');
    armInstance(ctx, ctx.account, ctx.region, instance);
  }
  return reservationXml(reservationId, launched, ctx.account);
}

function randomPrivateIp(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  return `172.31.${byte()}.${byte()}`;
}

/** One default VPC per account and region, as AWS accounts have. */
function vpcOf(store: Store, account: string, region: string): string {
  const state = ec2State(store, account, region);
  return (state.defaultVpcId ??= randomId('vpc-'));
}

/** Schedules a pending instance's move to `running`. Safe to call twice: the move happens once. */
export function armInstance(rt: Runtime, account: string, region: string, instance: InstanceRecord): void {
  if (instance.state !== 'pending' || instance.runningAt === undefined) return;
  const instanceId = instance.instanceId;
  rt.clock.at(instance.runningAt, () => {
    const current = existingEc2State(rt.store, account, region)?.instances[instanceId];
    if (!current || current.state !== 'pending') return;
    const at = current.runningAt ?? rt.clock.nowMs();
    current.state = 'running';
    delete current.runningAt;
    rt.store.changed();
    publishInstanceState(rt, account, region, instanceId, 'running', new Date(at));
  });
}

export function armPendingInstances(rt: Runtime): void {
  for (const { account, region, state } of rt.store.all<{ instances?: Record<string, InstanceRecord> }>('ec2')) {
    for (const instance of Object.values(state.instances ?? {})) armInstance(rt, account, region, instance);
  }
}

function publishInstanceState(rt: Pick<Runtime, 'bus'>, account: string, region: string, instanceId: string, state: InstanceStateName, time?: Date): void {
  rt.bus.publish({
    source: 'aws.ec2',
    detailType: 'EC2 Instance State-change Notification',
    detail: { 'instance-id': instanceId, state },
    resources: [instanceArn(region, account, instanceId)],
    account,
    region,
    ...(time ? { time } : {}),
  });
}

export function describeInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const instanceIds = stringList(input, 'InstanceId');
  const filters = wireFilters(input);
  const maxResults = optionalInt(input, 'MaxResults');
  const nextToken = optionalString(input, 'NextToken');
  if (instanceIds.length > 0 && maxResults !== undefined) {
    throw new AwsError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  checkMaxResults(maxResults, 5, 1000);
  checkFilterNames(filters, INSTANCE_FILTERS);
  instanceIds.forEach(checkInstanceId);

  const instances = existingEc2State(ctx.store, ctx.account, ctx.region)?.instances ?? {};
  const missing = instanceIds.filter((id) => !instances[id]);
  if (missing.length > 0) throw instancesNotFound(missing);
  const all = instanceIds.length > 0 ? [...new Set(instanceIds)].map((id) => instances[id]) : Object.values(instances);
  const selected = all.filter((i) =>
    matchesFilters(
      filters,
      {
        'instance-id': i.instanceId,
        'instance-state-name': i.state,
        'instance-state-code': String(INSTANCE_STATE_CODES[i.state]),
        'image-id': i.imageId,
        'instance-type': i.instanceType,
        'reservation-id': i.reservationId,
        'availability-zone': i.availabilityZone,
        'private-ip-address': i.privateIpAddress,
        'subnet-id': i.subnetId,
        'vpc-id': i.vpcId,
        'key-name': i.keyName,
        architecture: i.architecture,
        'client-token': i.clientToken,
      },
      i.tags,
    ),
  );
  const { page, nextToken: next } = pageAfter(selected, (i) => i.instanceId, maxResults ?? 1000, nextToken, invalidPaginationToken);
  // A page holds instances; they are answered grouped by the reservation that launched them.
  const reservations = new Map<string, InstanceRecord[]>();
  for (const i of page) reservations.set(i.reservationId, [...(reservations.get(i.reservationId) ?? []), i]);
  return {
    reservationSet: [...reservations].map(([id, members]) => reservationXml(id, members, ctx.account)),
    ...(next ? { nextToken: next } : {}),
  };
}

function reservationXml(reservationId: string, instances: InstanceRecord[], account: string): Record<string, XmlValue> {
  return { reservationId, ownerId: account, groupSet: [], instancesSet: instances.map(instanceXml) };
}

function instanceXml(i: InstanceRecord): Record<string, XmlValue> {
  const dnsSuffix = i.availabilityZone.startsWith('us-east-1') ? 'ec2.internal' : `${i.availabilityZone.slice(0, -1)}.compute.internal`;
  return {
    instanceId: i.instanceId,
    imageId: i.imageId,
    instanceState: { code: INSTANCE_STATE_CODES[i.state], name: i.state },
    privateDnsName: `ip-${i.privateIpAddress.replace(/\./g, '-')}.${dnsSuffix}`,
    dnsName: '',
    reason: '',
    ...(i.keyName ? { keyName: i.keyName } : {}),
    amiLaunchIndex: i.amiLaunchIndex,
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    placement: { availabilityZone: i.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: i.subnetId,
    vpcId: i.vpcId,
    privateIpAddress: i.privateIpAddress,
    sourceDestCheck: true,
    groupSet: [],
    architecture: i.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: [
      { deviceName: i.rootDeviceName, ebs: { volumeId: i.volumeId, status: 'attached', attachTime: i.launchTime, deleteOnTermination: true } },
    ],
    virtualizationType: 'hvm',
    ...(i.clientToken ? { clientToken: i.clientToken } : {}),
    ...(i.tags.length > 0 ? { tagSet: i.tags.map((t: Tag) => ({ key: t.Key, value: t.Value })) } : {}),
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: true,
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
  };
}

/** A running instance for the stage's seed. */
export function seedInstance(
  store: Store,
  account: string,
  region: string,
  now: number,
  spec: { imageId?: string; instanceType?: string; tags?: Record<string, string> | Tag[]; state?: 'running' | 'stopped' },
): string {
  const state = ec2State(store, account, region);
  // Without an image id, the instance runs from the first image of the region (or one that is not emulated).
  const imageId = spec.imageId ?? Object.keys(state.images)[0] ?? randomId('ami-');
  const image = state.images[imageId];
  if (spec.imageId && !image) throw new RangeError(`instance: image ${spec.imageId} is not in the seed (seed images first)`);
  const instanceId = randomId('i-');
  state.instances[instanceId] = {
    instanceId,
    imageId,
    instanceType: spec.instanceType ?? DEFAULT_INSTANCE_TYPE,
    state: spec.state ?? 'running',
    launchTime: new Date(now).toISOString(),
    reservationId: randomId('r-'),
    amiLaunchIndex: 0,
    architecture: image?.architecture ?? 'x86_64',
    privateIpAddress: randomPrivateIp(),
    subnetId: randomId('subnet-'),
    vpcId: vpcOf(store, account, region),
    availabilityZone: `${region}a`,
    rootDeviceName: image?.rootDeviceName ?? '/dev/xvda',
    volumeId: randomId('vol-'),
    tags: normalizeSeedTags(spec.tags),
  };
  return instanceId;
}
