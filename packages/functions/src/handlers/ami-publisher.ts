import { amiPublisherAdapters } from '@opsauto/aws';
import { amiPublisherEvent, noteUnusableImage, publishImage, type AmiPublisherDeps, type AmiPublisherEvent, type PublishResult } from '@opsauto/core';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';
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

/**
 * Publishes new AMIs into their family's parameter (forward only), and warns when a published AMI is
 * deregistered or disabled. Triggers: EC2 AMI State Change, EC2 Image Builder Image State Change, Runbook Image Created.
 */
export const handler = eventHandler(amiPublisherEvent, async (event) => {
  const d = deps();
  if (event['detail-type'] === 'EC2 AMI State Change' && event.detail.State !== 'available') {
    const { ImageId: imageId, State: state } = event.detail;
    if (!UNUSABLE.has(state)) {
      logger.info('image not published', { imageId, state });
      return { published: [], skipped: [{ imageId, reason: `state ${state}` }] };
    }
    const flagged = await noteUnusableImage(d, { region: event.region, imageId, state });
    for (const head of flagged) logger.warn(`published image ${state}`, { family: head.family, region: head.region, imageId, parameterName: head.parameterName });
    return { published: [], flaggedFamilies: flagged.map((h) => h.family) };
  }
  if (event['detail-type'] === 'EC2 Image Builder Image State Change' && event.detail.state.status !== 'AVAILABLE') {
    return { published: [], skipped: [] };
  }
  const images = announcedImages(event);
  if (images.length === 0) logger.warn('event announces no AMI', { detailType: event['detail-type'], resources: event.resources });
  const configured = new Set(d.config.regions);
  const results: PublishResult[] = [];
  const failures: string[] = [];
  // Each region on its own: one region failing (and retried) never keeps the others from being published.
  for (const image of images) {
    if (!configured.has(image.region)) {
      logger.info('image in a region that is not configured', image);
      continue;
    }
    try {
      const result = await publishImage(d, { ...image, source: SOURCES[event['detail-type']] });
      const message = result.outcome === 'published' ? 'image published' : 'image not published';
      // A family tag that cannot be a path, or an image Parameter Store refused, needs a person: warn.
      if (result.outcome === 'skipped' && (result.reason === 'invalid-family' || result.reason === 'rejected-by-parameter-store')) logger.warn(message, { ...result, region: image.region });
      else logger.info(message, { ...result, region: image.region });
      results.push(result);
    } catch (e) {
      failures.push(`${image.region} ${image.imageId}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  if (failures.length) throw new Error(`publishing failed for ${failures.length} of ${images.length} images (the others were handled): ${failures.join('; ')}`);
  return { published: results.filter((r) => r.outcome === 'published'), skipped: results.filter((r) => r.outcome === 'skipped') };
});
