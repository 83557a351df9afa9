import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import type { ImageCatalog, ImageInfo } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** ImageCatalog over EC2 DescribeImages, asked in the image's region, disabled images included. */
export class Ec2ImageCatalog implements ImageCatalog {
  constructor(private readonly clients: AwsClients) {}

  async describe(region: string, imageId: string, owners: readonly string[]): Promise<ImageInfo | undefined> {
    // Owners is what makes the answer trustworthy: without it EC2 also describes other accounts' public images.
    if (owners.length === 0) throw new Error('describe needs at least one owner (self or an account ID)');
    const image = await this.find(region, imageId, [...owners]);
    if (!image?.ImageId) return undefined;
    return {
      imageId: image.ImageId,
      region,
      name: image.Name ?? '',
      creationDate: image.CreationDate ?? '',
      state: image.State ?? 'unknown',
      tags: Object.fromEntries((image.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      ownerId: image.OwnerId ?? '',
    };
  }

  async ownerOf(region: string, imageId: string): Promise<string | undefined> {
    return (await this.find(region, imageId, undefined))?.OwnerId;
  }

  private async find(region: string, imageId: string, owners: string[] | undefined): Promise<Image | undefined> {
    try {
      const out = await this.clients.get(EC2Client, region).send(new DescribeImagesCommand({ ImageIds: [imageId], Owners: owners, IncludeDisabled: true }));
      return out.Images?.find((i) => i.ImageId === imageId);
    } catch (e) {
      // Gone between the event and this call (or never existed): nothing to publish.
      if (isAwsError(e, 'InvalidAMIID.NotFound', 'InvalidAMIID.Malformed')) return undefined;
      throw e;
    }
  }
}
