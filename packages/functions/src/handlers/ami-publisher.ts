import { amiPublisherAdapters } from '@opsauto/aws';
import { amiPublisherEvent, noteUnusableImage, publishImage, PUBLISHER_RETURN_RESERVE_MS, type AmiPublisherDeps, type AmiPublisherEvent, type PublishResult, type SkipReason } from '@opsauto/core';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';
import { sleep } from '../sleep.js';

const deps = (): AmiPublisherDeps => ({ config: loadConfig(), clock: systemClock, sleep, ...amiPublisherAdapters(clients, requireEnv('TABLE_NAME')) });

/** The AMIs an event announces, each in its own region. */
function announcedImages(event: AmiPublisherEvent): { region: string; imageId: string }[] {
  switch (event['detail-type']) {
    case 'EC2 AMI State Change':
      return [{ region: event.region, imageId: event.detail.ImageId }];
    case 'EC2 Image Builder Image State Change':
      return event.detail['output-resources'].amis.map((a) => ({ region: a.region, imageId: a.image }));
    case 'Runbook Image Created':
      return [{ region: event.detail.Region ?? event.region, imageId: event.detail.ImageId }];
  }
}

const SOURCES = {
  'EC2 AMI State Change': 'ec2-ami-state-change',
  'EC2 Image Builder Image State Change': 'image-builder',
  'Runbook Image Created': 'runbook',
} as const;

/** AMI states after which instances can no longer be launched from the image. */
const UNUSABLE = new Set(['deregistered', 'disabled']);

/** Other skips that need a person: a family tag that cannot be a path, an image Parameter Store rejected. */
const WARN_REASONS = new Set<SkipReason>(['invalid-family', 'rejected-by-parameter-store']);

/** Skips counted as AmisRefused: the image must not be published (the others are not new, or not ready). */
const REFUSALS = new Set<SkipReason>(['untrusted-owner', ...WARN_REASONS]);

/**
 * Publishes new AMIs into their family's parameter (forward only), and warns when a published AMI is
 * deregistered or disabled. Triggers: EC2 AMI State Change, EC2 Image Builder Image State Change, Runbook Image Created.
 * No event is taken at its word: each image is looked up in EC2 (owner, state, name, tags) before anything changes.
 */
export const handler = eventHandler(amiPublisherEvent, async (event, context) => {
  const deadline = new Date(systemClock.now().getTime() + context.getRemainingTimeInMillis() - PUBLISHER_RETURN_RESERVE_MS);
  const d: AmiPublisherDeps = { ...deps(), deadline };
  if (event['detail-type'] === 'EC2 AMI State Change' && event.detail.State !== 'available') {
    const { ImageId: imageId, State: state } = event.detail;
    if (!UNUSABLE.has(state)) {
      logger.info('image not published', { imageId, state });
      return { published: [], skipped: [{ imageId, reason: `state ${state}` }] };
    }
    const result = await noteUnusableImage(d, { region: event.region, imageId, state });
    if (result.outcome === 'refuted') {
      logger.warn('image state change contradicted by EC2: nothing flagged', { imageId, region: event.region, claimed: result.claimed, actual: result.actual });
      return { published: [], flaggedFamilies: [], refuted: result };
    }
    if (result.outcome === 'not-published') return { published: [], flaggedFamilies: [] };
    for (const head of result.families) logger.warn(`published image ${result.state}`, { family: head.family, region: head.region, imageId, parameterName: head.parameterName });
    return { published: [], flaggedFamilies: result.families.map((h) => h.family) };
  }
  if (event['detail-type'] === 'EC2 Image Builder Image State Change' && event.detail.state.status !== 'AVAILABLE') {
    return { published: [], skipped: [] };
  }
  const images = announcedImages(event);
  if (images.length === 0) logger.warn('event announces no AMI', { detailType: event['detail-type'], resources: event.resources.length });
  const configured = new Set(d.config.regions);
  const wanted = images.filter((image) => {
    if (!configured.has(image.region)) logger.info('image in a region that is not configured', image);
    return configured.has(image.region);
  });
  // Each region on its own and at the same time: one region failing (and retried) never keeps the others from
  // being published, and their waits for Parameter Store's validation overlap instead of adding up.
  const settled = await Promise.allSettled(wanted.map((image) => publishImage(d, { ...image, source: SOURCES[event['detail-type']] })));
  const results: PublishResult[] = [];
  const failures: string[] = [];
  settled.forEach((outcome, i) => {
    const image = wanted[i];
    if (outcome.status === 'rejected') {
      const e: unknown = outcome.reason;
      failures.push(`${image.region} ${image.imageId}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return;
    }
    const result = outcome.value;
    if (result.outcome === 'published') logger.info('image published', { ...result, region: image.region });
    else if (result.reason === 'untrusted-owner') logger.warn('image not published: owned by an account that is neither this one nor in amiPublisher.trustedOwners', { ...result, region: image.region });
    else if (WARN_REASONS.has(result.reason)) logger.warn('image not published', { ...result, region: image.region });
    else logger.info('image not published', { ...result, region: image.region });
    results.push(result);
  });
  count(METRIC_NAMES.amisPublished, results.filter((r) => r.outcome === 'published').length);
  count(METRIC_NAMES.amisRefused, results.filter((r) => r.outcome === 'skipped' && REFUSALS.has(r.reason)).length);
  if (failures.length) throw new Error(`publishing failed for ${failures.length} of ${images.length} images (the others were handled): ${failures.join('; ')}`);
  return { published: results.filter((r) => r.outcome === 'published'), skipped: results.filter((r) => r.outcome === 'skipped') };
});
