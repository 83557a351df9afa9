import type { OpsautoConfig } from '../config.js';
import type { FamilyHead, ImageInfo } from './model.js';

/** `web-*` -> /^web-.*$/ ; every other character is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

const FAMILY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * The family an image belongs to: its family tag if set, else the first configured name pattern that matches.
 *
 * @example
 * resolveFamily({ tags: { 'opsauto:ami-family': 'web' }, name: 'x' }, config) // 'web'
 */
export function resolveFamily(image: Pick<ImageInfo, 'name' | 'tags'>, config: OpsautoConfig): string | undefined {
  const tagged = image.tags[config.amiPublisher.familyTag]?.trim();
  if (tagged) return tagged;
  return config.amiPublisher.namePatterns.find((p) => globToRegExp(p.namePattern).test(image.name))?.family;
}

/**
 * The owners whose images may be published, as DescribeImages takes them: this account (`self`) and
 * `amiPublisher.trustedOwners`. Nobody else's image is ever described as publishable, whatever an event says.
 */
export function trustedOwners(config: OpsautoConfig): string[] {
  return ['self', ...config.amiPublisher.trustedOwners];
}

/** The parameter that holds a family's current AMI. */
export function parameterNameFor(family: string, config: OpsautoConfig): string {
  return config.amiPublisher.parameterPath.replaceAll('{family}', family);
}

/** A family name that can stand in a parameter path (a tag value can be anything). */
export function isValidFamily(family: string): boolean {
  return FAMILY_NAME.test(family);
}

export type Decision =
  | { action: 'publish'; resume: boolean }
  | { action: 'skip'; reason: 'not-available' | 'no-creation-date' | 'duplicate' | 'older-than-published' };

/** Orders images by creation time, then by ID, so that two images created in the same second still have an order. */
export function isNewer(a: { creationDate: string; imageId: string }, b: { creationDate: string; imageId: string }): boolean {
  const ta = Date.parse(a.creationDate);
  const tb = Date.parse(b.creationDate);
  return ta !== tb ? ta > tb : a.imageId > b.imageId;
}

/**
 * Forward only: an image is published when it is available and newer than every image this family has ever
 * published. A duplicate event for the published image changes nothing; one for a claimed but unconfirmed
 * image resumes the publication (a retry after a crash).
 */
export function decidePublication(head: FamilyHead | undefined, image: ImageInfo): Decision {
  if (image.state !== 'available') return { action: 'skip', reason: 'not-available' };
  // Without a creation time an image has no place in the order, and would stop every later image.
  if (Number.isNaN(Date.parse(image.creationDate))) return { action: 'skip', reason: 'no-creation-date' };
  if (!head) return { action: 'publish', resume: false };
  if (head.imageId === image.imageId) {
    return head.status === 'pending' ? { action: 'publish', resume: true } : { action: 'skip', reason: 'duplicate' };
  }
  const highWater = { creationDate: head.highWaterCreationDate, imageId: head.highWaterImageId };
  return isNewer(image, highWater) ? { action: 'publish', resume: false } : { action: 'skip', reason: 'older-than-published' };
}
