import type { EC2Client} from '@aws-sdk/client-ec2';
import { CreateImageCommand, DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { Localcloud } from '@opsauto/localcloud';

/**
 * Launches an instance from an existing image (default: the seeded image named `base`) and creates an image of it,
 * tagged with a family; returns the new image's ID.
 */
export async function createFamilyImage(cloud: Localcloud, ec2: EC2Client, name: string, family?: string, sourceImageName = 'base'): Promise<string> {
  const source = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [sourceImageName] }] }));
  const sourceImageId = source.Images?.[0]?.ImageId;
  if (!sourceImageId) throw new Error(`no image named ${sourceImageName} to launch from: seed one`);
  const run = await ec2.send(new RunInstancesCommand({ ImageId: sourceImageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const instanceId = run.Instances![0].InstanceId!;
  await cloud.advance('10s'); // pending -> running: only a running (or stopped) instance can be imaged
  const out = await ec2.send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: name,
      TagSpecifications: family ? [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: family }] }] : undefined,
    }),
  );
  return out.ImageId!;
}

/** Lets localcloud's images become available (their creation takes a minute of virtual time). */
export const waitForImages = (cloud: Localcloud) => cloud.advance('2m');
