import { DEFAULT_ACCOUNT } from './server.js';
import { seedEc2, type Ec2Seed } from './services/ec2.js';
import { seedParameters, type SeedParameter } from './services/ssm.js';
import type { Store } from './store.js';

/**
 * A fleet to load into localcloud (the stage's `--seed FILE`, YAML):
 *
 * ```yaml
 * regions:
 *   us-east-1:
 *     images:      [{ name, creationDate?, tags?, state?, description? }]
 *     instances:   [{ image?: <image name>, type?, tags?, state? }]
 *     parameters:  [{ name, value, type?, tier?, dataType?, description?, tags?, policies?, lastModifiedDate? }]
 * ```
 */
export interface Fleet {
  account?: string;
  regions: Record<
    string,
    {
      images?: NonNullable<Ec2Seed['images']>;
      instances?: (Omit<NonNullable<Ec2Seed['instances']>[number], 'imageId' | 'instanceType'> & { image?: string; type?: string })[];
      parameters?: SeedParameter[];
    }
  >;
}

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
    for (const key of Object.keys(content)) check(['images', 'instances', 'parameters'].includes(key), `regions.${region}.${key}`, 'is not a known resource kind (images, instances, parameters)');
    for (const kind of ['images', 'instances', 'parameters'] as const) {
      const list = content[kind];
      check(list === undefined || Array.isArray(list), `regions.${region}.${kind}`, 'must be a list');
    }
    content.images?.forEach((img, i) => check(typeof img?.name === 'string', `regions.${region}.images[${i}].name`, 'is required'));
    content.parameters?.forEach((p, i) => {
      check(typeof p?.name === 'string', `regions.${region}.parameters[${i}].name`, 'is required');
      check(typeof p.value === 'string', `regions.${region}.parameters[${i}].value`, 'is required (a string)');
    });
    content.instances?.forEach((inst, i) => check(inst === null || typeof inst === 'object', `regions.${region}.instances[${i}]`, 'must be a mapping'));
  }
}

/** Loads a fleet straight into the store (no events); returns a one-line summary. */
export function seedFleet(store: Store, fleet: unknown): string {
  checkFleet(fleet);
  const account = fleet.account ?? DEFAULT_ACCOUNT;
  const counts = { images: 0, instances: 0, parameters: 0 };
  for (const [region, content] of Object.entries(fleet.regions)) {
    const { imageIds } = seedEc2(store, account, region, { images: content.images ?? [] });
    const byName = new Map((content.images ?? []).map((img, i) => [img.name, imageIds[i]]));
    const instances = (content.instances ?? []).map((inst, i) => {
      const { image, type, ...rest } = inst ?? {};
      const imageId = image === undefined ? undefined : byName.get(image);
      check(image === undefined || imageId !== undefined, `regions.${region}.instances[${i}].image`, `names no image of this fleet (${[...byName.keys()].join(', ') || 'none'})`);
      return { ...rest, imageId, instanceType: type };
    });
    seedEc2(store, account, region, { instances });
    seedParameters(store, account, region, content.parameters ?? []);
    counts.images += imageIds.length;
    counts.instances += instances.length;
    counts.parameters += content.parameters?.length ?? 0;
  }
  return `${counts.images} images, ${counts.instances} instances, ${counts.parameters} parameters in ${Object.keys(fleet.regions).join(', ')}`;
}
