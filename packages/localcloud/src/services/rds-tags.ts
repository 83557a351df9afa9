/**
 * RDS resource tags by ARN: ListTagsForResource, AddTagsToResource (a key already there takes the new value) and
 * RemoveTagsFromResource, for DB instances (`…:db:<id>`), Aurora DB clusters (`…:cluster:<id>`) and manual DB
 * snapshots (`…:snapshot:<id>`) of the caller's account and region. Shapes and error codes follow the RDS API
 * reference; tag rules are checkTags' (at most 50, no `aws:` or `rds:` key).
 *
 * @example
 * // ResourceName=arn:aws:rds:us-east-1:000000000000:cluster:ledger -> { TagList: [{ Key: 'team', Value: 'db' }] }
 */
import { list, type QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Tag } from './filters.js';
import { dbClusterNotFound } from './rds-clusters.js';
import { checkTags, dbInstanceNotFound, existingRdsState, invalidParameter, requiredString, wireTags } from './rds-model.js';
import { dbSnapshotNotFound } from './rds-snapshots.js';
import type { RequestContext } from './types.js';

type RdsOperation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

const RESOURCE_ARN = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):(db|cluster|snapshot):([A-Za-z0-9-]+)$/;

/** The tag list (kept on the record, changed in place) of the resource an ARN names, or RDS's NotFound for it. */
function taggedResource(ctx: RequestContext, resourceName: string): { tags: Tag[]; setTags: (tags: Tag[]) => void } {
  const m = RESOURCE_ARN.exec(resourceName);
  if (!m) throw invalidParameter(`The specified resource name does not match an RDS resource in this region: ${resourceName}`);
  const [, region, account, type, given] = m as unknown as [string, string, string, 'db' | 'cluster' | 'snapshot', string];
  const id = given.toLowerCase();
  const state = region === ctx.region && account === ctx.account ? existingRdsState(ctx.store, ctx.account, ctx.region) : undefined;
  if (type === 'db') {
    const instance = state?.instances[id];
    if (!instance) throw dbInstanceNotFound(given);
    return { tags: instance.tags, setTags: (tags) => (instance.tags = tags) };
  }
  if (type === 'cluster') {
    const cluster = state?.clusters?.[id];
    if (!cluster) throw dbClusterNotFound(given);
    return { tags: cluster.tags, setTags: (tags) => (cluster.tags = tags) };
  }
  const snapshot = state?.snapshots?.[id];
  if (!snapshot || snapshot.status === 'deleted') throw dbSnapshotNotFound(given);
  return { tags: snapshot.tags, setTags: (tags) => (snapshot.tags = tags) };
}

export const listTagsForResource: RdsOperation = (input, ctx) => {
  const { tags } = taggedResource(ctx, requiredString(input, 'ResourceName'));
  return { TagList: new XmlList('Tag', tags.map((t) => ({ Key: t.Key, Value: t.Value }))) };
};

export const addTagsToResource: RdsOperation = (input, ctx) => {
  const resource = taggedResource(ctx, requiredString(input, 'ResourceName'));
  const added = checkTags(wireTags(input));
  if (added.length === 0) throw invalidParameter('The parameter Tags must contain at least one tag.');
  const merged = new Map(resource.tags.map((t) => [t.Key, t.Value]));
  for (const t of added) merged.set(t.Key, t.Value);
  // Checked as a whole before anything is written: a request that would pass 50 tags changes nothing.
  resource.setTags(checkTags([...merged].map(([Key, Value]) => ({ Key, Value }))));
  return {};
};

export const removeTagsFromResource: RdsOperation = (input, ctx) => {
  const resource = taggedResource(ctx, requiredString(input, 'ResourceName'));
  const keys = list(input.TagKeys).filter((k): k is string => typeof k === 'string');
  if (keys.length === 0) throw invalidParameter('The parameter TagKeys must contain at least one key.');
  resource.setTags(resource.tags.filter((t) => !keys.includes(t.Key)));
  return {};
};
