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

/** The parameter that holds a family's current AMI. */
export function parameterNameFor(family: string, config: OpsautoConfig): string {
  return config.amiPublisher.parameterPath.replaceAll('{family}', family);
}

/** The label put on the parameter version that carries an image: the image ID itself (valid label syntax). */
export function labelFor(imageId: string): string {
  return imageId;
}

export type Decision =
  | { action: 'publish'; resume: boolean }
  | { action: 'skip'; reason: 'not-available' | 'duplicate' | 'older-than-published' };

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
  if (!head) return { action: 'publish', resume: false };
  if (head.imageId === image.imageId) {
    return head.status === 'pending' ? { action: 'publish', resume: true } : { action: 'skip', reason: 'duplicate' };
  }
  const highWater = { creationDate: head.highWaterCreationDate, imageId: head.highWaterImageId };
  return isNewer(image, highWater) ? { action: 'publish', resume: false } : { action: 'skip', reason: 'older-than-published' };
}
