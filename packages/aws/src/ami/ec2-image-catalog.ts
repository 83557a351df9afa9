import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { ImageCatalog, ImageInfo } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** ImageCatalog over EC2 DescribeImages. */
export class Ec2ImageCatalog implements ImageCatalog {
  constructor(private readonly clients: AwsClients) {}

  async describe(region: string, imageId: string): Promise<ImageInfo | undefined> {
    try {
      const out = await this.clients.get(EC2Client, region).send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      const image = out.Images?.[0];
      if (!image?.ImageId) return undefined;
      return {
        imageId: image.ImageId,
        region,
        name: image.Name ?? '',
        creationDate: image.CreationDate ?? '',
        state: image.State ?? 'unknown',
        tags: Object.fromEntries((image.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      };
    } catch (e) {
      // Gone between the event and this call (or never existed): nothing to publish.
      if (isAwsError(e, 'InvalidAMIID.NotFound', 'InvalidAMIID.Malformed')) return undefined;
      throw e;
    }
  }
}
