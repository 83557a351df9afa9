/**
 * EC2's persisted state (per account and region) and what the image and instance modules share: ids, ARNs,
 * the query-protocol input helpers, tags from the wire, filters and the EC2 error shapes.
 */
import { AwsError } from '../errors.js';
import type { QueryTree, QueryValue } from '../protocols/query.js';
import { list } from '../protocols/query.js';
import type { Store } from '../store.js';
import { matchesAnyWildcard, type Tag } from './filters.js';

export const EC2_SERVICE = 'ec2';

export type ImageState = 'pending' | 'available' | 'failed';
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
  tags: Tag[];
}

export interface InstanceRecord {
  instanceId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  /** Epoch ms (virtual time) at which a pending instance is running. */
  runningAt?: number;
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
  volumeId: string;
  keyName?: string;
  clientToken?: string;
  tags: Tag[];
}

/** Plain JSON, persisted by the store. Records are keyed by id; key order is creation order. */
export interface Ec2State {
  images: Record<string, ImageRecord>;
  instances: Record<string, InstanceRecord>;
  /** The account's default VPC in the region, made on first launch. */
  defaultVpcId?: string;
}

export function ec2State(store: Store, account: string, region: string): Ec2State {
  return store.scope<Ec2State>(EC2_SERVICE, account, region, () => ({ images: {}, instances: {} }));
}

/** The state of one account and region if it exists, without creating it (timers fire after a reset too). */
export function existingEc2State(store: Store, account: string, region: string): Ec2State | undefined {
  return store.all<Ec2State>(EC2_SERVICE).find((s) => s.account === account && s.region === region)?.state;
}

/** An image of an account and region, for other services (SSM's `aws:ec2:image` data type). */
export function findImage(store: Store, account: string, region: string, imageId: string): ImageRecord | undefined {
  return existingEc2State(store, account, region)?.images[imageId];
}

export const IMAGE_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export const imageArn = (region: string, imageId: string) => `arn:aws:ec2:${region}::image/${imageId}`;
export const instanceArn = (region: string, account: string, instanceId: string) => `arn:aws:ec2:${region}:${account}:instance/${instanceId}`;

// --- query-protocol input ----------------------------------------------------------------------------------

export function optionalString(input: QueryTree, name: string): string | undefined {
  const v = input[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(input: QueryTree, name: string): string {
  const v = optionalString(input, name);
  if (v === undefined || v === '') throw new AwsError('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

export function optionalInt(input: QueryTree, name: string): number | undefined {
  const v = optionalString(input, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new AwsError('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid. Expected an integer.`);
  return n;
}

export function optionalBool(input: QueryTree, name: string): boolean | undefined {
  const v = optionalString(input, name);
  return v === undefined ? undefined : v === 'true';
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

/** `Filter.N.Name` / `Filter.N.Value.M`. */
export function wireFilters(input: QueryTree): { name: string; values: string[] }[] {
  return treeList(input, 'Filter').map((f) => {
    const name = optionalString(f, 'Name');
    if (!name) throw new AwsError('InvalidParameterValue', 'The filter name must be specified');
    return { name, values: stringList(f, 'Value') };
  });
}

/**
 * Whether a resource passes every filter (values of one filter are ORed, filters are ANDed). `fields` gives the
 * resource's value for each supported filter name; `tag:K` and `tag-key` work on its tags. An unknown filter
 * name is an error, as in EC2.
 */
export function matchesFilters(
  filters: { name: string; values: string[] }[],
  fields: Record<string, string | undefined>,
  tags: Tag[],
): boolean {
  return filters.every(({ name, values }) => {
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      return tags.some((t) => t.Key === key && matchesAnyWildcard(t.Value, values));
    }
    if (name === 'tag-key') return tags.some((t) => matchesAnyWildcard(t.Key, values));
    if (name === 'tag-value') return tags.some((t) => matchesAnyWildcard(t.Value, values));
    if (!(name in fields)) throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
    return matchesAnyWildcard(fields[name], values);
  });
}

export function checkFilterNames(filters: { name: string }[], known: string[]): void {
  for (const { name } of filters) {
    if (name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value' || known.includes(name)) continue;
    throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
}

export function checkMaxResults(maxResults: number | undefined, min: number, max: number): void {
  if (maxResults !== undefined && (maxResults < min || maxResults > max)) {
    throw new AwsError('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Parameter must be between ${min} and ${max}.`);
  }
}

export const invalidPaginationToken = () => new AwsError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');

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

export function checkImageId(id: string): void {
  if (!IMAGE_ID.test(id)) throw new AwsError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
}

export function checkInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id)) throw new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
}

/** Virtual now from the store alone (seeding runs without a clock): real time plus the persisted offset. */
export function storeNow(store: Store): number {
  return Date.now() + store.clockOffsetMs;
}
