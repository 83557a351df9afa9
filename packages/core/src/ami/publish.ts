import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { ConcurrentUpdateError, ConflictError, NotFoundError } from '../errors.js';
import type { FamilyHead, ImageInfo, PublicationKind, PublicationRecord, PublicationSource } from './model.js';
import type { ImageCatalog, ImageParameter, PublicationStore } from './ports.js';
import { decidePublication, isNewer, labelFor, parameterNameFor, resolveFamily } from './rules.js';

export interface AmiPublisherDeps {
  config: OpsautoConfig;
  clock: Clock;
  images: ImageCatalog;
  parameters: ImageParameter;
  store: PublicationStore;
}

export type PublishResult =
  | { outcome: 'published'; family: string; imageId: string; parameterName: string; parameterVersion: number }
  | { outcome: 'skipped'; imageId: string; family?: string; reason: 'image-not-found' | 'no-family' | 'not-available' | 'duplicate' | 'older-than-published' | 'superseded' };

/** Bounds the optimistic-lock loops; each retry means another writer made progress. */
const MAX_ATTEMPTS = 25;

/**
 * Publishes an image into its family's parameter if it is newer than anything published before.
 * Safe under duplicates, retries and concurrent events: the family head is claimed with a conditional write,
 * and the parameter is then made to match the head (re-checked after writing, so a slower writer of an older
 * image can never leave the parameter behind).
 *
 * @example
 * await publishImage(deps, { region: 'eu-west-1', imageId: 'ami-0abc', source: 'ec2-ami-state-change' });
 */
export async function publishImage(deps: AmiPublisherDeps, input: { region: string; imageId: string; source: PublicationSource }): Promise<PublishResult> {
  const image = await deps.images.describe(input.region, input.imageId);
  if (!image) return { outcome: 'skipped', imageId: input.imageId, reason: 'image-not-found' };
  const family = resolveFamily(image, deps.config);
  if (!family) return { outcome: 'skipped', imageId: image.imageId, reason: 'no-family' };

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await deps.store.getHead(input.region, family);
    const decision = decidePublication(head, image);
    if (decision.action === 'skip') return { outcome: 'skipped', imageId: image.imageId, family, reason: decision.reason };
    const claimed = decision.resume ? head! : claimHead(deps, head, image, family, 'publish');
    try {
      if (!decision.resume) await deps.store.putHead(claimed, head?.version);
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) continue;
      throw e;
    }
    const final = await convergeParameter(deps, input.region, family, input.source);
    if (final.imageId !== image.imageId) return { outcome: 'skipped', imageId: image.imageId, family, reason: 'superseded' };
    return { outcome: 'published', family, imageId: image.imageId, parameterName: final.parameterName, parameterVersion: final.parameterVersion! };
  }
  throw new ConcurrentUpdateError(`could not claim family ${family} in ${input.region} after ${MAX_ATTEMPTS} attempts`);
}

function claimHead(deps: AmiPublisherDeps, head: FamilyHead | undefined, image: ImageInfo, family: string, kind: PublicationKind): FamilyHead {
  const newer = !head || isNewer(image, { creationDate: head.highWaterCreationDate, imageId: head.highWaterImageId });
  return {
    region: image.region,
    family,
    parameterName: parameterNameFor(family, deps.config),
    imageId: image.imageId,
    creationDate: image.creationDate,
    highWaterImageId: newer ? image.imageId : head.highWaterImageId,
    highWaterCreationDate: newer ? image.creationDate : head.highWaterCreationDate,
    status: 'pending',
    kind,
    updatedAt: deps.clock.now().toISOString(),
    version: (head?.version ?? 0) + 1,
  };
}

/**
 * Makes the parameter hold the head's image, then confirms the head. It returns only after reading the head and
 * then finding the parameter equal to it, and re-checks after every write of its own: so whichever writer writes
 * last also checks last, and a slower writer of an older image can never leave the parameter behind.
 */
async function convergeParameter(deps: AmiPublisherDeps, region: string, family: string, source: PublicationSource): Promise<FamilyHead> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await deps.store.getHead(region, family);
    if (!head) throw new NotFoundError(`family ${family} has no head in ${region}`);
    const current = await deps.parameters.current(region, head.parameterName);
    if (current?.value !== head.imageId) {
      const written = await deps.parameters.put(region, head.parameterName, head.imageId, `opsauto: current AMI of family ${family}`);
      await deps.parameters.label(region, head.parameterName, written, [labelFor(head.imageId)]);
      continue;
    }
    if (head.status === 'published') return head;
    // Claimed and verified: label again (a retry may have died between put and label), record, confirm.
    await deps.parameters.label(region, head.parameterName, current.version, [labelFor(head.imageId)]);
    const image = await deps.images.describe(region, head.imageId);
    const record: PublicationRecord = {
      region,
      family,
      sequence: head.version,
      kind: head.kind,
      imageId: head.imageId,
      imageName: image?.name,
      creationDate: head.creationDate,
      parameterName: head.parameterName,
      parameterVersion: current.version,
      at: deps.clock.now().toISOString(),
      source: head.kind === 'rollback' ? 'rollback' : source,
    };
    await deps.store.appendHistory(record);
    const confirmed: FamilyHead = { ...head, status: 'published', parameterVersion: current.version, warning: undefined, updatedAt: record.at, version: head.version + 1 };
    try {
      await deps.store.putHead(confirmed, head.version);
      return confirmed;
    } catch (e) {
      if (!(e instanceof ConcurrentUpdateError)) throw e;
    }
  }
  throw new ConcurrentUpdateError(`family ${family} in ${region} kept changing while its parameter was written`);
}

/**
 * An image was deregistered: if a family publishes it, flag the family with a warning (kept on the head and in
 * the history) so that an operator rolls back or publishes a new image. Returns the families affected.
 */
export async function noteDeregisteredImage(deps: AmiPublisherDeps, input: { region: string; imageId: string }): Promise<FamilyHead[]> {
  const affected: FamilyHead[] = [];
  for (const head of await deps.store.listHeads()) {
    if (head.region !== input.region || head.imageId !== input.imageId) continue;
    const warning = `published image ${input.imageId} was deregistered at ${deps.clock.now().toISOString()}; instances launched from ${head.parameterName} will fail until a new image is published or the family is rolled back (opsauto ami rollback ${head.family} --to <ami-id>)`;
    const flagged: FamilyHead = { ...head, warning, updatedAt: deps.clock.now().toISOString(), version: head.version + 1 };
    try {
      await deps.store.putHead(flagged, head.version);
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) continue; // the head moved on: it no longer publishes this image
      throw e;
    }
    await deps.store.appendHistory({
      region: head.region,
      family: head.family,
      sequence: flagged.version,
      kind: 'warning',
      imageId: input.imageId,
      parameterName: head.parameterName,
      at: flagged.updatedAt,
      source: 'ec2-ami-state-change',
      note: warning,
    });
    affected.push(flagged);
  }
  return affected;
}

/**
 * Points a family back to an image it published before, on purpose. `to` is an image ID or a parameter
 * version number from the history. Newer images published later still move the family forward again.
 */
export async function rollbackFamily(deps: AmiPublisherDeps, input: { region: string; family: string; to: string }): Promise<FamilyHead> {
  const history = await deps.store.history(input.region, input.family);
  if (history.length === 0) throw new NotFoundError(`family ${input.family} has never been published in ${input.region}`);
  const target = /^\d+$/.test(input.to)
    ? history.find((r) => r.kind !== 'warning' && r.parameterVersion === Number(input.to))
    : history.find((r) => r.kind !== 'warning' && r.imageId === input.to);
  if (!target) throw new NotFoundError(`${input.to} is not in the history of family ${input.family} in ${input.region}: see opsauto ami history ${input.family}`);
  const image = await deps.images.describe(input.region, target.imageId);
  if (!image || image.state !== 'available') {
    throw new ConflictError(`cannot roll back to ${target.imageId}: the image is ${image ? image.state : 'gone (deregistered)'}`);
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await deps.store.getHead(input.region, input.family);
    if (head?.imageId === image.imageId && head.status === 'published') return head;
    const claimed = claimHead(deps, head, image, input.family, 'rollback');
    try {
      await deps.store.putHead(claimed, head?.version);
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) continue;
      throw e;
    }
    return convergeParameter(deps, input.region, input.family, 'rollback');
  }
  throw new ConcurrentUpdateError(`could not roll back family ${input.family}: it kept changing`);
}
