import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_ACCOUNT } from './server.js';
import { seedEc2, seedVolumes, type Ec2Seed } from './services/ec2.js';
import type { VolumeSeed } from './services/ec2-volume-seed.js';
import { seedDbClusters, seedDbInstances, type DbClusterSeed, type DbInstanceSeed } from './services/rds.js';
import { seedBuckets, type BucketSeed } from './services/s3-buckets.js';
import { configureAgent, seedDocuments, seedParameters, type AgentSettings, type SeedDocument, type SeedParameter } from './services/ssm.js';
import { checkAgentSettings } from './services/ssm-managed-nodes.js';
import type { Store } from './store.js';

/**
 * A fleet to load into localcloud (the stage's `--seed FILE`, YAML):
 *
 * ```yaml
 * account: <12 digits>   # default 000000000000; another account's public images are seen by every account
 * regions:
 *   us-east-1:
 *     images:      [{ name, creationDate?, tags?, state?, description?, public?, instanceStore? }]
 *     instances:   [{ image?: <image name>, type?, tags?, state?, availabilityZone?, hibernation?: true (enabled for hibernation),
 *                    startError?: { code: <StateReason code>, message? }   # StartInstances accepted: pending, then stopped
 *                               | { api: <EC2 error code>, message? },      # StartInstances fails with that error
 *                    agent?: { status?: online|offline, platform?, result?: success|failure|timeout, exitCode?, output?,
 *                              error?, durationSeconds?, documents?: { <document name>: { result?, exitCode?, … } },
 *                              patches?: { installed?, missing?, failed?, baselineId? } } }]   # agent: an SSM managed node
 *     volumes:     [{ size?, type?, availabilityZone?, tags?, createTime?, attachedTo?: <instance Name tag or id>,
 *                    history?: [{ instanceId: <Name tag or id>, attachedAt, detachedAt? }] }]
 *     parameters:  [{ name, value, type?, tier?, dataType?, description?, tags?, policies?, lastModifiedDate? }]
 *     dbInstances: [{ identifier, engine?, instanceClass?, allocatedStorage?, tags?, status?, stoppedAt?, publiclyAccessible?,
 *                    backupRetentionPeriod?, copyTagsToSnapshot?, multiAZ? }]
 *     dbClusters:  [{ identifier, engine? (aurora-postgresql | aurora-mysql), deletionProtection?, copyTagsToSnapshot?, tags?,
 *                    status? (available | stopped), stoppedAt?, instances?: [<member DB instance identifier>] }]
 *     buckets:     [{ name, versioning?, encryption?, creationDate? }]
 *     documents:   [{ name, file (relative to the fleet file) | content, format?, owner?, documentType? }]
 * ```
 */
export interface Fleet {
  account?: string;
  regions: Record<
    string,
    {
      images?: NonNullable<Ec2Seed['images']>;
      instances?: (Omit<NonNullable<Ec2Seed['instances']>[number], 'imageId' | 'instanceType'> & { image?: string; type?: string; agent?: AgentSettings })[];
      volumes?: VolumeSeed[];
      parameters?: SeedParameter[];
      dbInstances?: DbInstanceSeed[];
      dbClusters?: DbClusterSeed[];
      buckets?: BucketSeed[];
      documents?: (Omit<SeedDocument, 'content'> & { content?: string; file?: string })[];
    }
  >;
}

const KINDS = ['images', 'instances', 'volumes', 'parameters', 'dbInstances', 'dbClusters', 'buckets', 'documents'] as const;

export class SeedError extends Error {
  override name = 'SeedError';
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

function check(condition: boolean, path: string, message: string): asserts condition {
  if (!condition) throw new SeedError(`fleet.${path} ${message}`);
}

function checkFleet(fleet: unknown): asserts fleet is Fleet {
  check(typeof fleet === 'object' && fleet !== null, '', 'must be a mapping with a `regions` key');
  const regions = (fleet as Fleet).regions;
  check(typeof regions === 'object' && regions !== null && !Array.isArray(regions), 'regions', 'must map region names to their resources');
  for (const [region, content] of Object.entries(regions)) {
    check(REGION.test(region), `regions.${region}`, 'is not a region name (like eu-west-1)');
    check(typeof content === 'object' && content !== null, `regions.${region}`, 'must be a mapping of images, instances, parameters');
    for (const key of Object.keys(content)) check((KINDS as readonly string[]).includes(key), `regions.${region}.${key}`, `is not a known resource kind (${KINDS.join(', ')})`);
    for (const kind of KINDS) {
      const list = content[kind];
      check(list === undefined || Array.isArray(list), `regions.${region}.${kind}`, 'must be a list');
    }
    content.images?.forEach((img, i) => check(typeof img?.name === 'string', `regions.${region}.images[${i}].name`, 'is required'));
    content.parameters?.forEach((p, i) => {
      check(typeof p?.name === 'string', `regions.${region}.parameters[${i}].name`, 'is required');
      check(typeof p.value === 'string', `regions.${region}.parameters[${i}].value`, 'is required (a string)');
    });
    content.instances?.forEach((inst, i) => {
      check(inst === null || typeof inst === 'object', `regions.${region}.instances[${i}]`, 'must be a mapping');
      if (inst?.agent === undefined) return;
      try {
        checkAgentSettings(inst.agent, `fleet.regions.${region}.instances[${i}].agent`);
      } catch (e) {
        throw new SeedError((e as Error).message);
      }
    });
    content.dbInstances?.forEach((db, i) => check(typeof db?.identifier === 'string', `regions.${region}.dbInstances[${i}].identifier`, 'is required'));
    content.dbClusters?.forEach((db, i) => check(typeof db?.identifier === 'string', `regions.${region}.dbClusters[${i}].identifier`, 'is required'));
    content.buckets?.forEach((b, i) => check(typeof b?.name === 'string', `regions.${region}.buckets[${i}].name`, 'is required'));
    content.documents?.forEach((d, i) => {
      check(typeof d?.name === 'string', `regions.${region}.documents[${i}].name`, 'is required');
      check(typeof d.content === 'string' || typeof d.file === 'string', `regions.${region}.documents[${i}]`, 'needs `file` or `content`');
    });
  }
}

/** Loads a fleet straight into the store (no events); `baseDir` resolves document files. Returns a one-line summary. */
export function seedFleet(store: Store, fleet: unknown, baseDir = process.cwd()): string {
  checkFleet(fleet);
  const account = fleet.account ?? DEFAULT_ACCOUNT;
  const now = Date.now() + store.clockOffsetMs;
  const counts = { images: 0, instances: 0, volumes: 0, parameters: 0, dbInstances: 0, dbClusters: 0, buckets: 0, documents: 0 };
  for (const [region, content] of Object.entries(fleet.regions)) {
    const { imageIds } = seedEc2(store, account, region, { images: content.images ?? [] });
    const byName = new Map((content.images ?? []).map((img, i) => [img.name, imageIds[i]]));
    const instances = (content.instances ?? []).map((inst, i) => {
      // The agent is not EC2's: it is configured once the instance exists.
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { image, type, agent, ...rest } = inst ?? {};
      const imageId = image === undefined ? undefined : byName.get(image);
      check(image === undefined || imageId !== undefined, `regions.${region}.instances[${i}].image`, `names no image of this fleet (${[...byName.keys()].join(', ') || 'none'})`);
      return { ...rest, imageId, instanceType: type };
    });
    const { instanceIds } = seedEc2(store, account, region, { instances });
    (content.instances ?? []).forEach((inst, i) => {
      if (inst?.agent !== undefined) configureAgent(store, account, region, instanceIds[i], inst.agent, now);
    });
    // A fleet names instances by their Name tag; volumes refer to them that way.
    const instancesByName = new Map(instances.flatMap((inst, i) => {
      const tags = inst.tags;
      const name = Array.isArray(tags) ? tags.find((t) => t.Key === 'Name')?.Value : tags?.Name;
      return name ? [[name, instanceIds[i]] as const] : [];
    }));
    const instanceRef = (ref: string | undefined) => (ref === undefined ? undefined : (instancesByName.get(ref) ?? ref));
    const volumes = (content.volumes ?? []).map((v) => ({
      ...v,
      attachedTo: instanceRef(v.attachedTo),
      history: v.history?.map((h) => ({ ...h, instanceId: instanceRef(h.instanceId)! })),
    }));
    seedVolumes(store, account, region, now, volumes);
    seedParameters(store, account, region, content.parameters ?? []);
    seedDbInstances(store, account, region, now, content.dbInstances ?? []);
    seedDbClusters(store, account, region, now, content.dbClusters ?? []);
    seedBuckets(store, account, region, content.buckets ?? []);
    const documents = (content.documents ?? []).map(({ file, content: text, ...doc }, i) => {
      if (text !== undefined) return { ...doc, content: text };
      try {
        return { ...doc, content: readFileSync(resolve(baseDir, file!), 'utf8') };
      } catch (e) {
        throw new SeedError(`fleet.regions.${region}.documents[${i}].file ${file}: ${(e as Error).message}`);
      }
    });
    seedDocuments(store, account, region, documents);
    counts.images += imageIds.length;
    counts.instances += instances.length;
    counts.volumes += volumes.length;
    counts.parameters += content.parameters?.length ?? 0;
    counts.dbInstances += content.dbInstances?.length ?? 0;
    counts.dbClusters += content.dbClusters?.length ?? 0;
    counts.buckets += content.buckets?.length ?? 0;
    counts.documents += documents.length;
  }
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`);
  return `${parts.join(', ') || 'nothing'} in ${Object.keys(fleet.regions).join(', ')}`;
}
