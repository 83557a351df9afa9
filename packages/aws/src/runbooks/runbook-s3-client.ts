import { S3Client } from '@aws-sdk/client-s3';
import type { ClientSettings } from '../clients.js';

/**
 * The S3 client runbooks use. On a custom endpoint (localcloud, or any S3-compatible store named by
 * AWS_ENDPOINT_URL) buckets are addressed path-style, as such endpoints expect; and a bucket in another region is
 * reached by following S3's redirect, as boto3 (which Automation uses) does.
 */
export class RunbookS3Client extends S3Client {
  constructor(config: ClientSettings & { region: string }) {
    super({ ...config, forcePathStyle: hasCustomEndpoint(config), followRegionRedirects: true });
  }
}

function hasCustomEndpoint(config: ClientSettings): boolean {
  return config.endpoint !== undefined || Boolean(process.env.AWS_ENDPOINT_URL_S3) || Boolean(process.env.AWS_ENDPOINT_URL);
}
