import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { ConcurrentUpdateError, ConflictError, NotFoundError } from '../errors.js';
import type { FamilyHead, ImageInfo, PublicationKind, PublicationSource } from './model.js';
import type { ImageCatalog, ImageParameter, PublicationStore } from './ports.js';
import { decidePublication, isNewer, isValidFamily, parameterNameFor, resolveFamily, trustedOwners } from './rules.js';

export interface AmiPublisherDeps {
  config: OpsautoConfig;
  clock: Clock;
  images: ImageCatalog;
  parameters: ImageParameter;
  store: PublicationStore;
  /** Waits between checks of a parameter write: Parameter Store validates aws:ec2:image values asynchronously. */
  sleep: (ms: number) => Promise<void>;
  /**
   * When the caller must have returned (a Lambda invocation's end, less time to report): a wait that would pass it
   * is not started; an OutOfTimeError is thrown instead, and a retry continues where this call stopped.
   */
  deadline?: Date;
}

export type SkipReason =
  | 'image-not-found'
  | 'untrusted-owner'
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
  | { outcome: 'skipped'; imageId: string; family?: string; reason: SkipReason; ownerId?: string };

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

/**
 * A wait would end after the caller's deadline. Nothing is half done: the family head is unclaimed, or claimed and
 * pending (its write made or leased), and a retry of the same event, or the next event of the family, continues.
 */
export class OutOfTimeError extends Error {
  override name = 'OutOfTimeError';
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
/** Time for the AWS calls around one image's waits (describe, head reads and writes, put, label, history). */
export const PUBLICATION_CALLS_MS = 10_000;
/**
 * The longest one image normally takes: another writer's lease runs out, then this writer's own write is
 * validated. The images of one event are handled at the same time, so this is also an invocation's longest
 * normal run; contention beyond it (a third writer) ends in an OutOfTimeError and a retry.
 */
export const LONGEST_PUBLICATION_MS = PUT_LEASE_MS + CONFIRM_WAIT_MS + PUBLICATION_CALLS_MS;
/** Kept back from an invocation's end (`deadline`) to record and report what happened after the last wait. */
export const PUBLISHER_RETURN_RESERVE_MS = 5_000;
/** The publisher function's timeout: its longest normal run and the reserve (65 s). */
export const PUBLISHER_TIMEOUT_MS = LONGEST_PUBLICATION_MS + PUBLISHER_RETURN_RESERVE_MS;

/** Sleeps `ms`, unless that would pass the deadline: then throws an OutOfTimeError saying what was awaited. */
async function pause(deps: AmiPublisherDeps, ms: number, awaited: () => string): Promise<void> {
  if (deps.deadline && deps.clock.now().getTime() + ms > deps.deadline.getTime()) {
    throw new OutOfTimeError(`out of time waiting for ${awaited()}; a retry continues`);
  }
  await deps.sleep(ms);
}

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
  // The event only names the image: whether it exists, who owns it, its state, name and tags come from EC2.
  const image = await deps.images.describe(input.region, input.imageId, trustedOwners(deps.config));
  if (!image) {
    const ownerId = await deps.images.ownerOf(input.region, input.imageId);
    if (ownerId) return { outcome: 'skipped', imageId: input.imageId, reason: 'untrusted-owner', ownerId };
    return { outcome: 'skipped', imageId: input.imageId, reason: 'image-not-found' };
  }
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
      await pause(deps, 500, () => `another writer's update of ${head?.parameterName} in ${input.region} before publishing ${image.imageId}`);
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
  const wait = async (awaited: () => string) => {
    await pause(deps, delay, awaited);
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
      await wait(() => `${head.parameterName} in ${region} to show ${head.imageId} (Parameter Store validates it)`);
      continue;
    }
    if (leaseHeld(deps, head)) {
      // Another writer holds the lease: wait for its write to show, or for the lease to run out.
      if (waited > PUT_LEASE_MS) throw new ParameterNotConfirmedError(`another writer's update of ${head.parameterName} to ${head.imageId} has not shown for ${waited / 1000}s; a retry continues`);
      await wait(() => `another writer's update of ${head.parameterName} in ${region} to ${head.imageId}`);
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
  const image = await deps.images.describe(head.region, head.imageId, trustedOwners(deps.config));
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

/** What came of an event saying that an image became unusable. */
export type UnusableImageResult =
  /** EC2 confirms the image is gone or disabled; `families` are those flagged by this call (none if already flagged). */
  | { outcome: 'flagged'; state: 'deregistered' | 'disabled'; families: FamilyHead[] }
  /** No family publishes the image: nothing to check or change. */
  | { outcome: 'not-published' }
  /** EC2 contradicts the event (the image is still there and usable): nothing is changed. */
  | { outcome: 'refuted'; claimed: string; actual: string };

/**
 * An event says an image became unusable (deregistered or disabled): if a family publishes it, EC2 is asked
 * first, and only an image really gone, or really disabled, flags the family with a warning (kept on the head and
 * in the history, once per image) so that an operator rolls back or publishes a new image. The warning states
 * what EC2 says, not what the event claims.
 */
export async function noteUnusableImage(deps: AmiPublisherDeps, input: { region: string; imageId: string; state: string }): Promise<UnusableImageResult> {
  // The heads index is eventually consistent: it only finds candidates; each is re-read before it is changed.
  const candidates = (await deps.store.listHeads()).filter((h) => h.region === input.region && h.imageId === input.imageId);
  if (candidates.length === 0) return { outcome: 'not-published' };
  const state = await unusableState(deps, input.region, input.imageId);
  if (typeof state !== 'string') return { outcome: 'refuted', claimed: input.state, actual: state.actual };
  const families: FamilyHead[] = [];
  for (const candidate of candidates) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await deps.store.getHead(candidate.region, candidate.family);
      if (!head || head.imageId !== input.imageId || head.warningImageId === input.imageId) break;
      const at = deps.clock.now().toISOString();
      const now = head.status === 'published' ? `instances launched from ${head.parameterName} will fail` : `it was about to be published to ${head.parameterName}`;
      const warning = `image ${input.imageId} was ${state} at ${at}; ${now} until a new image is published or the family is rolled back (opsauto ami rollback ${head.family} --to <ami-id>)`;
      const next: FamilyHead = { ...head, warning, warningImageId: input.imageId, updatedAt: at, version: head.version + 1 };
      try {
        await deps.store.putHead(next, head.version);
      } catch (e) {
        if (e instanceof ConcurrentUpdateError) continue;
        throw e;
      }
      await deps.store.appendHistory({ region: head.region, family: head.family, sequence: next.version, kind: 'warning', imageId: input.imageId, parameterName: head.parameterName, at, source: 'ec2-ami-state-change', note: warning });
      families.push(next);
      break;
    }
  }
  return { outcome: 'flagged', state, families };
}

/** Whether EC2 shows the image gone (`deregistered`) or `disabled`; otherwise what it does show. */
async function unusableState(deps: AmiPublisherDeps, region: string, imageId: string): Promise<'deregistered' | 'disabled' | { actual: string }> {
  const image = await deps.images.describe(region, imageId, trustedOwners(deps.config));
  if (image) return image.state === 'disabled' || image.state === 'deregistered' ? image.state : { actual: image.state };
  // Not among the trusted owners' images: gone only if this account cannot see it at all.
  const ownerId = await deps.images.ownerOf(region, imageId);
  return ownerId ? { actual: `still described, owned by ${ownerId}` } : 'deregistered';
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
  const image = await deps.images.describe(input.region, target.imageId, trustedOwners(deps.config));
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
