/**
 * EC2 (ec2Query protocol, XML answers): images and instances with their lifecycles on the virtual clock,
 * and tags on both. Operations return objects with EC2's wire element names; the server writes the XML.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { armPendingImages, createImage, deregisterImage, describeImages, seedImage } from './ec2-images.js';
import { armPendingInstances, describeInstances, runInstances, seedInstance } from './ec2-instances.js';
import {
  checkImageId,
  checkInstanceId,
  checkTagLimit,
  ec2State,
  existingEc2State,
  imagesNotFound,
  instancesNotFound,
  optionalString,
  storeNow,
  stringList,
  treeList,
  validateTagsToSet,
  wireTags,
  type Ec2State,
} from './ec2-model.js';
import { removeTags, upsertTags, type Tag } from './filters.js';
import type { Operation, RequestContext, ServiceDefinition } from './types.js';

export { IMAGE_AVAILABLE_DELAY_MS } from './ec2-images.js';
export { INSTANCE_RUNNING_DELAY_MS, DEFAULT_INSTANCE_TYPE } from './ec2-instances.js';
export { findImage } from './ec2-model.js';

type Ec2Operation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

/** `DryRun=true` answers as EC2 does once permissions are checked: the request would have succeeded. */
function withDryRun(op: Ec2Operation): Operation {
  return (input: QueryTree, ctx: RequestContext) => {
    if (optionalString(input, 'DryRun') === 'true') throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    return op(input, ctx);
  };
}

/** The tag list of each resource id, checked (all of them) before anything changes. */
function taggedResources(state: Ec2State | undefined, ids: string[]): Map<string, { tags: Tag[] }> {
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const found = new Map<string, { tags: Tag[] }>();
  const missingImages: string[] = [];
  const missingInstances: string[] = [];
  for (const id of ids) {
    if (id.startsWith('ami-')) {
      checkImageId(id);
      const image = state?.images[id];
      if (image) found.set(id, image);
      else missingImages.push(id);
    } else if (id.startsWith('i-')) {
      checkInstanceId(id);
      const instance = state?.instances[id];
      if (instance) found.set(id, instance);
      else missingInstances.push(id);
    } else {
      throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
    }
  }
  if (missingImages.length > 0) throw imagesNotFound(missingImages);
  if (missingInstances.length > 0) throw instancesNotFound(missingInstances);
  return found;
}

function createTags(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const wire = wireTags(treeList(input, 'Tag'));
  if (wire.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter Tag');
  const tags = validateTagsToSet(wire);
  const resources = taggedResources(ec2State(ctx.store, ctx.account, ctx.region), stringList(input, 'ResourceId'));
  const updated = [...resources].map(([id, r]) => {
    const next = upsertTags(r.tags, tags);
    checkTagLimit(id, next);
    return [r, next] as const;
  });
  for (const [resource, next] of updated) resource.tags = next;
  return { return: true };
}

function deleteTags(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  // No tag list at all removes every tag of the resources.
  const remove = 'Tag' in input ? wireTags(treeList(input, 'Tag')) : undefined;
  const resources = taggedResources(existingEc2State(ctx.store, ctx.account, ctx.region), stringList(input, 'ResourceId'));
  for (const resource of resources.values()) resource.tags = removeTags(resource.tags, remove);
  return { return: true };
}

export const ec2: ServiceDefinition = {
  name: 'ec2',
  protocol: 'ec2',
  xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  operations: {
    RunInstances: withDryRun(runInstances),
    DescribeInstances: withDryRun(describeInstances),
    CreateImage: withDryRun(createImage),
    DescribeImages: withDryRun(describeImages),
    DeregisterImage: withDryRun(deregisterImage),
    CreateTags: withDryRun(createTags),
    DeleteTags: withDryRun(deleteTags),
  },
  start(rt) {
    armPendingImages(rt);
    armPendingInstances(rt);
  },
};

export interface Ec2Seed {
  images?: {
    name: string;
    tags?: Record<string, string> | Tag[];
    /** ISO-8601; default now (virtual). */
    creationDate?: string;
    /** Default `available`; a `pending` image becomes available once `ec2.start()` arms it. */
    state?: 'pending' | 'available';
    description?: string;
    architecture?: string;
  }[];
  instances?: {
    /** An image id returned for this seed's images; default the region's first image. */
    imageId?: string;
    instanceType?: string;
    tags?: Record<string, string> | Tag[];
    state?: 'running' | 'stopped';
  }[];
}

/**
 * Puts images and instances straight into the store (no events), for the stage's `--seed`. Returns the new ids
 * in the order given. Pending images are armed by `ec2.start()`, which localcloud calls at startup and reset;
 * call it again after seeding a running emulator (it is idempotent).
 */
export function seedEc2(store: Store, account: string, region: string, seed: Ec2Seed): { imageIds: string[]; instanceIds: string[] } {
  const now = storeNow(store);
  const imageIds = (seed.images ?? []).map((spec) => seedImage(store, account, region, now, spec));
  const instanceIds = (seed.instances ?? []).map((spec) => seedInstance(store, account, region, now, spec));
  store.changed();
  return { imageIds, instanceIds };
}
