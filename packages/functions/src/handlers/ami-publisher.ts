import {
  amiPublisherEvent,
  noteDeregisteredImage,
  publishImage,
  type AmiPublisherDeps,
  type AmiPublisherEvent,
  type PublishResult,
} from '@opsauto/core';
import { AwsClients, DynamoPublicationStore, Ec2ImageCatalog, SsmImageParameter } from '@opsauto/aws';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';

const clients = new AwsClients(process.env.AWS_REGION ?? 'us-east-1');

function deps(): AmiPublisherDeps {
  return {
    config: loadConfig(),
    clock: systemClock,
    images: new Ec2ImageCatalog(clients),
    parameters: new SsmImageParameter(clients),
    store: new DynamoPublicationStore(clients, requireEnv('TABLE_NAME')),
  };
}

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

/**
 * Publishes new AMIs into their family's parameter (forward only), and warns when a published AMI is
 * deregistered. Triggers: EC2 AMI State Change, EC2 Image Builder Image State Change, Runbook Image Created.
 */
export const handler = eventHandler(amiPublisherEvent, async (event) => {
  const d = deps();
  if (event['detail-type'] === 'EC2 AMI State Change' && event.detail.State !== 'available') {
    if (event.detail.State !== 'deregistered') {
      logger.info('image not published', { imageId: event.detail.ImageId, state: event.detail.State });
      return { published: [], skipped: [{ imageId: event.detail.ImageId, reason: `state ${event.detail.State}` }] };
    }
    const flagged = await noteDeregisteredImage(d, { region: event.region, imageId: event.detail.ImageId });
    for (const head of flagged) logger.warn('published image deregistered', { family: head.family, region: head.region, imageId: head.imageId, parameterName: head.parameterName });
    return { published: [], deregisteredFamilies: flagged.map((h) => h.family) };
  }
  if (event['detail-type'] === 'EC2 Image Builder Image State Change' && event.detail.state.status !== 'AVAILABLE') {
    return { published: [], skipped: [] };
  }
  const configured = new Set(d.config.regions);
  const results: PublishResult[] = [];
  for (const image of announcedImages(event)) {
    if (!configured.has(image.region)) {
      logger.info('image in a region that is not configured', { imageId: image.imageId, region: image.region });
      continue;
    }
    const result = await publishImage(d, { ...image, source: SOURCES[event['detail-type']] });
    logger.info(result.outcome === 'published' ? 'image published' : 'image not published', { ...result, region: image.region });
    results.push(result);
  }
  return { published: results.filter((r) => r.outcome === 'published'), skipped: results.filter((r) => r.outcome === 'skipped') };
});
