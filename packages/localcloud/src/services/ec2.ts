/**
 * EC2 (ec2Query protocol, XML answers): regions, images, instances (with their status checks), volumes and
 * snapshots with their lifecycles on the virtual clock, and tags on all of them. Operations return objects with
 * EC2's wire element names; the server writes the XML.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { armPendingImages, createImage, deregisterImage, describeImages, disableImage, seedImage } from './ec2-images.js';
import { armPendingInstances, modifyInstanceAttribute, startInstances, stopInstances, terminateInstances } from './ec2-instance-lifecycle.js';
import { describeInstances, runInstances, seedInstance, type InstanceSeed } from './ec2-instances.js';
import { describeInstanceStatus } from './ec2-instance-status.js';
import {
  allEc2States,
  checkImageId,
  checkInstanceId,
  checkSnapshotId,
  checkTagLimit,
  checkVolumeId,
  ec2State,
  existingEc2State,
  imagesNotFound,
  instancesNotFound,
  optionalString,
  snapshotsNotFound,
  storeNow,
  stringList,
  treeList,
  validateTagsToSet,
  volumesNotFound,
  wireTags,
  type Ec2State,
} from './ec2-model.js';
import { describeRegions } from './ec2-regions.js';
import { modifyInstanceMetadataOptions } from './ec2-metadata-options.js';
import {
  authorizeSecurityGroupEgress,
  authorizeSecurityGroupIngress,
  createSecurityGroup,
  deleteSecurityGroup,
  describeSecurityGroupRules,
  describeSecurityGroups,
  revokeSecurityGroupEgress,
  revokeSecurityGroupIngress,
} from './ec2-security-groups.js';
import { checkSubnetId, describeSubnets, describeVpcs, modifySubnetAttribute, subnetNotFound } from './ec2-vpcs.js';
import { armPendingSnapshots, copySnapshot, createSnapshot, deleteSnapshot, describeSnapshotAttribute, describeSnapshots, modifySnapshotAttribute } from './ec2-snapshots.js';
import {
  disableEbsEncryptionByDefault,
  enableEbsEncryptionByDefault,
  getEbsDefaultKmsKeyId,
  getEbsEncryptionByDefault,
  modifyEbsDefaultKmsKeyId,
  resetEbsDefaultKmsKeyId,
} from './ec2-ebs-encryption.js';
import { changeVolume } from './ec2-volume-index.js';
import { armPendingVolumes, attachVolume, createVolume, deleteVolume, describeVolumes, detachVolume } from './ec2-volumes.js';
import { removeTags, upsertTags, type Tag } from './filters.js';
import type { Operation, RequestContext, ServiceDefinition } from './types.js';

export { IMAGE_AVAILABLE_DELAY_MS } from './ec2-images.js';
export { DEFAULT_INSTANCE_TYPE } from './ec2-instances.js';
export {
  INSTANCE_FORCED_STOP_DELAY_MS,
  INSTANCE_RUNNING_DELAY_MS,
  INSTANCE_STOPPED_DELAY_MS,
  INSTANCE_TERMINATED_DELAY_MS,
} from './ec2-instance-lifecycle.js';
export { findImage } from './ec2-model.js';
export { SNAPSHOT_COMPLETED_DELAY_MS } from './ec2-snapshots.js';
export { generateVolumes, seedVolumes, type GenerateVolumesOptions, type VolumeSeed } from './ec2-volume-seed.js';
export { VOLUME_ATTACH_DELAY_MS, VOLUME_AVAILABLE_DELAY_MS, VOLUME_DETACH_DELAY_MS } from './ec2-volumes.js';

type Ec2Operation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

/** `DryRun=true` answers as EC2 does once permissions are checked: the request would have succeeded. */
function withDryRun(op: Ec2Operation): Operation {
  return (input: QueryTree, ctx: RequestContext) => {
    if (optionalString(input, 'DryRun') === 'true') throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    return op(input, ctx);
  };
}

/** A taggable resource: its tags, and how to replace them (volumes keep their indexes in step). */
interface Tagged {
  tags: Tag[];
  setTags(tags: Tag[]): void;
}

const RESOURCE_KINDS: { prefix: string; check: (id: string) => void; records: (s: Ec2State) => Record<string, { tags: Tag[] }>; notFound: (ids: string[]) => AwsError }[] = [
  { prefix: 'ami-', check: checkImageId, records: (s) => s.images, notFound: imagesNotFound },
  { prefix: 'i-', check: checkInstanceId, records: (s) => s.instances, notFound: instancesNotFound },
  { prefix: 'vol-', check: checkVolumeId, records: (s) => s.volumes, notFound: volumesNotFound },
  { prefix: 'snap-', check: checkSnapshotId, records: (s) => s.snapshots, notFound: snapshotsNotFound },
  { prefix: 'subnet-', check: checkSubnetId, records: (s) => s.subnets ?? {}, notFound: subnetNotFound },
];

/** The tags of each resource id, checked (all of them) before anything changes. */
function taggedResources(state: Ec2State | undefined, ids: string[]): Map<string, Tagged> {
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const found = new Map<string, Tagged>();
  const missing = new Map<(typeof RESOURCE_KINDS)[number], string[]>();
  for (const id of ids) {
    const kind = RESOURCE_KINDS.find((k) => id.startsWith(k.prefix));
    if (!kind) throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
    kind.check(id);
    const record = state && kind.records(state)[id];
    if (!state || !record) missing.set(kind, [...(missing.get(kind) ?? []), id]);
    else if (kind.prefix === 'vol-') found.set(id, { tags: record.tags, setTags: (tags) => changeVolume(state, state.volumes[id], (v) => (v.tags = tags)) });
    else found.set(id, { tags: record.tags, setTags: (tags) => (record.tags = tags) });
  }
  const [firstMissing] = missing;
  if (firstMissing) throw firstMissing[0].notFound(firstMissing[1]);
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
  for (const [resource, next] of updated) resource.setTags(next);
  return { return: true };
}

function deleteTags(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  // No tag list at all removes every tag of the resources.
  const remove = 'Tag' in input ? wireTags(treeList(input, 'Tag')) : undefined;
  const resources = taggedResources(existingEc2State(ctx.store, ctx.account, ctx.region), stringList(input, 'ResourceId'));
  for (const resource of resources.values()) resource.setTags(removeTags(resource.tags, remove));
  return { return: true };
}

export const ec2: ServiceDefinition = {
  name: 'ec2',
  protocol: 'ec2',
  xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  operations: {
    DescribeRegions: withDryRun(describeRegions),
    RunInstances: withDryRun(runInstances),
    DescribeInstances: withDryRun(describeInstances),
    DescribeInstanceStatus: withDryRun(describeInstanceStatus),
    StartInstances: withDryRun(startInstances),
    StopInstances: withDryRun(stopInstances),
    TerminateInstances: withDryRun(terminateInstances),
    ModifyInstanceAttribute: withDryRun(modifyInstanceAttribute),
    CreateImage: withDryRun(createImage),
    DescribeImages: withDryRun(describeImages),
    DeregisterImage: withDryRun(deregisterImage),
    DisableImage: withDryRun(disableImage),
    CreateVolume: withDryRun(createVolume),
    DescribeVolumes: withDryRun(describeVolumes),
    AttachVolume: withDryRun(attachVolume),
    DetachVolume: withDryRun(detachVolume),
    DeleteVolume: withDryRun(deleteVolume),
    CreateSnapshot: withDryRun(createSnapshot),
    DescribeSnapshots: withDryRun(describeSnapshots),
    DeleteSnapshot: withDryRun(deleteSnapshot),
    CopySnapshot: withDryRun(copySnapshot),
    ModifySnapshotAttribute: withDryRun(modifySnapshotAttribute),
    DescribeSnapshotAttribute: withDryRun(describeSnapshotAttribute),
    ModifyInstanceMetadataOptions: withDryRun(modifyInstanceMetadataOptions),
    CreateSecurityGroup: withDryRun(createSecurityGroup),
    DescribeSecurityGroups: withDryRun(describeSecurityGroups),
    DescribeSecurityGroupRules: withDryRun(describeSecurityGroupRules),
    AuthorizeSecurityGroupIngress: withDryRun(authorizeSecurityGroupIngress),
    AuthorizeSecurityGroupEgress: withDryRun(authorizeSecurityGroupEgress),
    RevokeSecurityGroupIngress: withDryRun(revokeSecurityGroupIngress),
    RevokeSecurityGroupEgress: withDryRun(revokeSecurityGroupEgress),
    DeleteSecurityGroup: withDryRun(deleteSecurityGroup),
    DescribeVpcs: withDryRun(describeVpcs),
    DescribeSubnets: withDryRun(describeSubnets),
    ModifySubnetAttribute: withDryRun(modifySubnetAttribute),
    GetEbsEncryptionByDefault: withDryRun(getEbsEncryptionByDefault),
    EnableEbsEncryptionByDefault: withDryRun(enableEbsEncryptionByDefault),
    DisableEbsEncryptionByDefault: withDryRun(disableEbsEncryptionByDefault),
    GetEbsDefaultKmsKeyId: withDryRun(getEbsDefaultKmsKeyId),
    ModifyEbsDefaultKmsKeyId: withDryRun(modifyEbsDefaultKmsKeyId),
    ResetEbsDefaultKmsKeyId: withDryRun(resetEbsDefaultKmsKeyId),
    CreateTags: withDryRun(createTags),
    DeleteTags: withDryRun(deleteTags),
  },
  start(rt) {
    const regions = allEc2States(rt.store);
    armPendingImages(rt);
    armPendingInstances(rt, regions);
    armPendingVolumes(rt, regions);
    armPendingSnapshots(rt, regions);
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
    /** A public image: every account sees it (seed it under another `account` to play a stranger's AMI). */
    public?: boolean;
    /** Instance store volumes the image maps (`/dev/sdb` as `ephemeral0`, …); default none. */
    instanceStore?: number;
  }[];
  instances?: InstanceSeed[];
}

/**
 * Puts images and instances (each with its root volume) straight into the store (no events), for the stage's
 * `--seed`; volumes go in with `seedVolumes`, after the instances they are attached to. Returns the new ids
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
