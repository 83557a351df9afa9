import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { ConcurrentUpdateError, ConflictError, NotFoundError } from '../errors.js';
import type { FamilyHead, ImageInfo, PublicationKind, PublicationSource } from './model.js';
import type { ImageCatalog, ImageParameter, PublicationStore } from './ports.js';
import { decidePublication, isNewer, isValidFamily, parameterNameFor, resolveFamily } from './rules.js';

export interface AmiPublisherDeps {
  config: OpsautoConfig;
  clock: Clock;
  images: ImageCatalog;
  parameters: ImageParameter;
  store: PublicationStore;
  /** Waits between checks of a parameter write: Parameter Store validates aws:ec2:image values asynchronously. */
  sleep: (ms: number) => Promise<void>;
}

export type SkipReason =
  | 'image-not-found'
  | 'no-family'
  | 'invalid-family'
  | 'not-available'
  | 'no-creation-date'
  | 'duplicate'
  | 'older-than-published'
  | 'superseded'
  | 'rejected-by-parameter-store';

export type PublishResult =
  | { outcome: 'published'; family: string; imageId: string; parameterName: string; parameterVersion: number }
  | { outcome: 'skipped'; imageId: string; family?: string; reason: SkipReason };

/** Parameter Store refused the image (it was deregistered, disabled or invalid by the time it was validated). */
export class ImageRejectedError extends Error {
  override name = 'ImageRejectedError';
  constructor(
    message: string,
    readonly imageId: string,
  ) {
    super(message);
  }
}

/** A parameter write has not shown up yet although the image is still available; a retry continues. */
export class ParameterNotConfirmedError extends Error {
  override name = 'ParameterNotConfirmedError';
}

/** Bounds the optimistic-lock loops; each retry means another writer made progress. */
const MAX_ATTEMPTS = 25;
/**
 * A writer's lease on a head: others wait for its write rather than writing the same value again. Shorter than
 * Lambda's first retry (about a minute), so the retry of a writer that died can take over.
 */
export const PUT_LEASE_MS = 30_000;
/** How long a writer waits for its own write to become visible before it decides what happened. */
export const CONFIRM_WAIT_MS = 20_000;

/**
 * Publishes an image into its family's parameter if it is newer than anything published before.
 * Safe under duplicates, retries, crashes and concurrent events: the family head is claimed with a conditional
 * write, one writer at a time (a lease on the head) writes the head's image into the parameter, and nobody
 * returns before reading the head and then finding the parameter equal to it. Every skip also repairs the
 * parameter, so a writer that died after a stale write is undone by the next event or by Lambda's retry.
 *
 * @example
 * await publishImage(deps, { region: 'eu-west-1', imageId: 'ami-0abc', source: 'ec2-ami-state-change' });
 */
export async function publishImage(deps: AmiPublisherDeps, input: { region: string; imageId: string; source: PublicationSource }): Promise<PublishResult> {
  const image = await deps.images.describe(input.region, input.imageId);
  if (!image) return { outcome: 'skipped', imageId: input.imageId, reason: 'image-not-found' };
  const family = resolveFamily(image, deps.config);
  if (!family) return { outcome: 'skipped', imageId: image.imageId, reason: 'no-family' };
  if (!isValidFamily(family)) return { outcome: 'skipped', imageId: image.imageId, family, reason: 'invalid-family' };

  let waited = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS + 20; attempt++) {
    const head = await deps.store.getHead(input.region, family);
    const decision = decidePublication(head, image);
    if (decision.action === 'skip') {
      if (head) await convergeParameter(deps, input.region, family, input.source);
      return { outcome: 'skipped', imageId: image.imageId, family, reason: decision.reason };
    }
    // One write at a time per family: while another writer's put may still land, a new claim waits for it,
    // so no stale value is ever written after a newer one.
    if (!decision.resume && leaseHeld(deps, head) && waited <= PUT_LEASE_MS) {
      await deps.sleep(500);
      waited += 500;
      continue;
    }
    if (!decision.resume) {
      try {
        await deps.store.putHead(claimHead(deps, head, image, family, 'publish'), head?.version);
      } catch (e) {
        if (e instanceof ConcurrentUpdateError) continue;
        throw e;
      }
    }
    let final: FamilyHead;
    try {
      final = await convergeParameter(deps, input.region, family, input.source);
    } catch (e) {
      if (!(e instanceof ImageRejectedError)) throw e;
      if (e.imageId === image.imageId) return { outcome: 'skipped', imageId: image.imageId, family, reason: 'rejected-by-parameter-store' };
      continue; // another image was rejected and the head restored: decide again
    }
    if (final.imageId !== image.imageId) return { outcome: 'skipped', imageId: image.imageId, family, reason: 'superseded' };
    return { outcome: 'published', family, imageId: image.imageId, parameterName: final.parameterName, parameterVersion: final.parameterVersion! };
  }
  throw new ConcurrentUpdateError(`could not claim family ${family} in ${input.region} after ${MAX_ATTEMPTS} attempts`);
}

function leaseHeld(deps: AmiPublisherDeps, head: FamilyHead | undefined): boolean {
  return head?.putBy !== undefined && deps.clock.now().getTime() - Date.parse(head.putAt ?? '') < PUT_LEASE_MS;
}

function claimHead(deps: AmiPublisherDeps, head: FamilyHead | undefined, image: ImageInfo, family: string, kind: PublicationKind): FamilyHead {
  const newer = !head || isNewer(image, { creationDate: head.highWaterCreationDate, imageId: head.highWaterImageId });
  const previous: FamilyHead['previous'] =
    head?.status === 'published'
      ? { imageId: head.imageId, creationDate: head.creationDate, highWaterImageId: head.highWaterImageId, highWaterCreationDate: head.highWaterCreationDate, kind: head.kind, imageName: head.imageName, parameterVersion: head.parameterVersion }
      : head?.previous;
  return {
    region: image.region,
    family,
    parameterName: parameterNameFor(family, deps.config),
    imageId: image.imageId,
    imageName: image.name,
    creationDate: image.creationDate,
    highWaterImageId: newer ? image.imageId : head.highWaterImageId,
    highWaterCreationDate: newer ? image.creationDate : head.highWaterCreationDate,
    status: 'pending',
    kind,
    updatedAt: deps.clock.now().toISOString(),
    ...(previous ? { previous } : {}),
    ...(head?.warning ? { warning: head.warning, warningImageId: head.warningImageId } : {}),
    version: (head?.version ?? 0) + 1,
  };
}

/**
 * Makes the parameter hold the head's image, then confirms the head. Only the holder of the head's put-lease
 * writes; everybody else waits for the write to show. A writer returns only after reading the head and then
 * finding the parameter equal to it, so whichever writes last also checks last.
 */
async function convergeParameter(deps: AmiPublisherDeps, region: string, family: string, source: PublicationSource): Promise<FamilyHead> {
  const me = globalThis.crypto.randomUUID();
  let waited = 0;
  let delay = 200;
  const wait = async () => {
    await deps.sleep(delay);
    waited += delay;
    delay = Math.min(delay * 2, 5_000);
  };
  for (let attempt = 0; attempt < MAX_ATTEMPTS + 40; attempt++) {
    const head = await deps.store.getHead(region, family);
    if (!head) throw new NotFoundError(`family ${family} has no head in ${region}`);
    const current = await deps.parameters.current(region, head.parameterName);
    if (current?.value === head.imageId) {
      if (head.status === 'published') return head;
      const confirmed = await confirm(deps, head, current.version, source);
      if (confirmed) return confirmed;
      continue;
    }
    const now = deps.clock.now().getTime();
    if (head.putBy === me) {
      // My write has not shown yet (Parameter Store validates aws:ec2:image asynchronously): wait, then judge.
      if (waited >= CONFIRM_WAIT_MS) await handleUnconfirmed(deps, head, current?.value);
      await wait();
      continue;
    }
    if (leaseHeld(deps, head)) {
      // Another writer holds the lease: wait for its write to show, or for the lease to run out.
      if (waited > PUT_LEASE_MS) throw new ParameterNotConfirmedError(`another writer's update of ${head.parameterName} to ${head.imageId} has not shown for ${waited / 1000}s; a retry continues`);
      await wait();
      continue;
    }
    const leased: FamilyHead = { ...head, putBy: me, putAt: new Date(now).toISOString(), version: head.version + 1 };
    try {
      await deps.store.putHead(leased, head.version);
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) continue;
      throw e;
    }
    await deps.parameters.makeRoom(region, head.parameterName, current?.version);
    await deps.parameters.put(region, head.parameterName, head.imageId, `opsauto: current AMI of family ${family}`);
    waited = 0;
    delay = 200;
  }
  throw new ConcurrentUpdateError(`family ${family} in ${region} kept changing while its parameter was written`);
}

/** Labels the verified version, records the publication and marks the head published; undefined on a lost race. */
async function confirm(deps: AmiPublisherDeps, head: FamilyHead, parameterVersion: number, source: PublicationSource): Promise<FamilyHead | undefined> {
  // The label is the image ID, so `name:ami-…` reads the version that published that image.
  await deps.parameters.label(head.region, head.parameterName, parameterVersion, [head.imageId]);
  const at = deps.clock.now().toISOString();
  await deps.store.appendHistory({
    region: head.region,
    family: head.family,
    sequence: head.version,
    kind: head.kind,
    imageId: head.imageId,
    imageName: head.imageName,
    creationDate: head.creationDate,
    parameterName: head.parameterName,
    parameterVersion,
    at,
    source: head.kind === 'rollback' ? 'rollback' : source,
  });
  const keepWarning = head.warningImageId === head.imageId;
  const confirmed: FamilyHead = {
    ...head,
    status: 'published',
    parameterVersion,
    previous: undefined,
    putBy: undefined,
    putAt: undefined,
    warning: keepWarning ? head.warning : undefined,
    warningImageId: keepWarning ? head.warningImageId : undefined,
    updatedAt: at,
    version: head.version + 1,
  };
  try {
    await deps.store.putHead(confirmed, head.version);
    return confirmed;
  } catch (e) {
    if (e instanceof ConcurrentUpdateError) return undefined;
    throw e;
  }
}

/**
 * My write never showed. If the image is still available, Parameter Store is only slow: give up for now and let
 * the retry continue. If it is not, Parameter Store rejected it: put the head back as it was before the claim
 * (or remove it, for a first publication), so images between the two can still be published, and record why.
 */
async function handleUnconfirmed(deps: AmiPublisherDeps, head: FamilyHead, currentValue: string | undefined): Promise<never> {
  const image = await deps.images.describe(head.region, head.imageId);
  if (image?.state === 'available') {
    throw new ParameterNotConfirmedError(`${head.parameterName} does not show ${head.imageId} ${CONFIRM_WAIT_MS / 1000}s after it was written (it still reads ${currentValue ?? 'nothing'}); a retry continues`);
  }
  const why = image ? `the image is ${image.state}` : 'the image no longer exists';
  const at = deps.clock.now().toISOString();
  if (head.previous) {
    const restored: FamilyHead = { ...head, ...head.previous, status: 'published', previous: undefined, putBy: undefined, putAt: undefined, updatedAt: at, version: head.version + 1 };
    await deps.store.putHead(restored, head.version);
  } else {
    await deps.store.deleteHead(head.region, head.family, head.version);
  }
  await deps.store.appendHistory({
    region: head.region,
    family: head.family,
    sequence: head.version,
    kind: 'rejected',
    imageId: head.imageId,
    imageName: head.imageName,
    parameterName: head.parameterName,
    at,
    source: 'ec2-ami-state-change',
    note: `Parameter Store rejected ${head.imageId} for ${head.parameterName}: ${why}; the family keeps ${head.previous?.imageId ?? 'no image'}`,
  });
  throw new ImageRejectedError(`Parameter Store rejected ${head.imageId} for ${head.parameterName}: ${why}`, head.imageId);
}

/**
 * An image became unusable (deregistered or disabled): if a family publishes it, flag the family with a warning
 * (kept on the head and in the history, once per image) so that an operator rolls back or publishes a new image.
 * Returns the families flagged by this call.
 */
export async function noteUnusableImage(deps: AmiPublisherDeps, input: { region: string; imageId: string; state: string }): Promise<FamilyHead[]> {
  const flagged: FamilyHead[] = [];
  // The heads index is eventually consistent: it only finds candidates; each is re-read before it is changed.
  const candidates = (await deps.store.listHeads()).filter((h) => h.region === input.region && h.imageId === input.imageId);
  for (const candidate of candidates) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await deps.store.getHead(candidate.region, candidate.family);
      if (!head || head.imageId !== input.imageId || head.warningImageId === input.imageId) break;
      const at = deps.clock.now().toISOString();
      const now = head.status === 'published' ? `instances launched from ${head.parameterName} will fail` : `it was about to be published to ${head.parameterName}`;
      const warning = `image ${input.imageId} was ${input.state} at ${at}; ${now} until a new image is published or the family is rolled back (opsauto ami rollback ${head.family} --to <ami-id>)`;
      const next: FamilyHead = { ...head, warning, warningImageId: input.imageId, updatedAt: at, version: head.version + 1 };
      try {
        await deps.store.putHead(next, head.version);
      } catch (e) {
        if (e instanceof ConcurrentUpdateError) continue;
        throw e;
      }
      await deps.store.appendHistory({ region: head.region, family: head.family, sequence: next.version, kind: 'warning', imageId: input.imageId, parameterName: head.parameterName, at, source: 'ec2-ami-state-change', note: warning });
      flagged.push(next);
      break;
    }
  }
  return flagged;
}

/** How far back a rollback may reach. */
const ROLLBACK_HISTORY = 1000;

/**
 * Points a family back to an image it published before, on purpose. `to` is an image ID or a parameter
 * version number from the history. Newer images published later still move the family forward again.
 */
export async function rollbackFamily(deps: AmiPublisherDeps, input: { region: string; family: string; to: string }): Promise<FamilyHead> {
  const history = await deps.store.history(input.region, input.family, ROLLBACK_HISTORY);
  if (history.length === 0) throw new NotFoundError(`family ${input.family} has never been published in ${input.region}`);
  const published = history.filter((r) => r.kind === 'publish' || r.kind === 'rollback');
  const target = /^\d+$/.test(input.to) ? published.find((r) => r.parameterVersion === Number(input.to)) : published.find((r) => r.imageId === input.to);
  if (!target) throw new NotFoundError(`${input.to} is not in the history of family ${input.family} in ${input.region}: see opsauto ami history ${input.family}`);
  const image = await deps.images.describe(input.region, target.imageId);
  if (!image || image.state !== 'available') {
    throw new ConflictError(`cannot roll back to ${target.imageId}: the image is ${image ? image.state : 'gone (deregistered)'}`);
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await deps.store.getHead(input.region, input.family);
    if (head?.imageId === image.imageId && head.status === 'published') return head;
    try {
      await deps.store.putHead(claimHead(deps, head, image, input.family, 'rollback'), head?.version);
    } catch (e) {
      if (e instanceof ConcurrentUpdateError) continue;
      throw e;
    }
    return convergeParameter(deps, input.region, input.family, 'rollback');
  }
  throw new ConcurrentUpdateError(`could not roll back family ${input.family}: it kept changing`);
}
