/**
 * AddTagsToResource, ListTagsForResource and RemoveTagsFromResource for the SSM resources localcloud keeps:
 * parameters (ResourceId = name), OpsItems (oi-…), managed nodes (mi-…) and the account's own documents (name).
 * Other resource types of the API answer InvalidResourceType, as AWS does for a type it can't tag in that place.
 */
import { AwsError, validation } from '../errors.js';
import { removeTags, upsertTags, type Tag } from './filters.js';
import { findManagedNode } from './ssm-activations.js';
import { documentsState } from './ssm-documents.js';
import { opsCenterState } from './ssm-opsitems.js';
import { parseNameSelector, ssmState } from './ssm-parameters.js';
import { checkTagCount, validateTags } from './ssm-tag-rules.js';
import type { Operation, RequestContext } from './types.js';

const RESOURCE_TYPES = ['Document', 'ManagedInstance', 'MaintenanceWindow', 'Parameter', 'PatchBaseline', 'OpsItem', 'OpsMetadata', 'Automation', 'Association'];

interface TagRequest {
  ResourceType?: string;
  ResourceId?: string;
}

const invalidId = (type: string, id: string) => new AwsError('InvalidResourceId', `The resource ID isn't valid. Verify that you entered the correct ID and try again. (${type} ${id} not found)`);

/** The tag list holder a request names. */
function taggable(input: TagRequest, ctx: RequestContext): { tags: Tag[] } {
  const type = input.ResourceType;
  if (!type) throw validation("1 validation error detected: Value null at 'resourceType' failed to satisfy constraint: Member must not be null");
  if (!RESOURCE_TYPES.includes(type)) {
    throw validation(`1 validation error detected: Value '${type}' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [${RESOURCE_TYPES.join(', ')}]`);
  }
  const id = input.ResourceId;
  if (!id) throw validation("1 validation error detected: Value null at 'resourceId' failed to satisfy constraint: Member must not be null");
  switch (type) {
    case 'Parameter': {
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const p = state.parameters[parseNameSelector(id, state).name];
      if (!p) throw invalidId(type, id);
      return p;
    }
    case 'OpsItem': {
      const item = opsCenterState(ctx.store, ctx.account, ctx.region).items[id];
      if (!item) throw invalidId(type, id);
      return item;
    }
    case 'ManagedInstance': {
      if (/^i-[0-9a-f]+$/.test(id)) {
        throw new AwsError('InvalidResourceType', `The resource type isn't valid: ${id} is an EC2 instance, not a managed node registered with an activation (mi-…).`);
      }
      const node = findManagedNode(ctx.store, ctx.account, ctx.region, id);
      if (!node) throw invalidId(type, id);
      return node;
    }
    case 'Document': {
      const doc = documentsState(ctx.store, ctx.account, ctx.region).documents[id];
      // Amazon's documents are not the account's to tag.
      if (!doc || doc.owner !== 'Self') throw invalidId(type, id);
      return doc;
    }
    default:
      throw new AwsError('InvalidResourceType', `The resource type isn't valid: localcloud does not keep ${type} resources.`);
  }
}

export const tagOperations: Record<string, Operation> = {
  AddTagsToResource(input: TagRequest & { Tags?: { Key?: string; Value?: string }[] }, ctx: RequestContext) {
    const tags = validateTags(input.Tags);
    const resource = taggable(input, ctx);
    const next = upsertTags(resource.tags, tags);
    checkTagCount(next);
    resource.tags = next;
    return {};
  },
  ListTagsForResource(input: TagRequest, ctx: RequestContext) {
    return { TagList: taggable(input, ctx).tags };
  },
  RemoveTagsFromResource(input: TagRequest & { TagKeys?: string[] }, ctx: RequestContext) {
    const keys = input.TagKeys;
    if (!keys) throw validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
    const resource = taggable(input, ctx);
    resource.tags = removeTags(resource.tags, keys.map((Key) => ({ Key })));
    return {};
  },
};
