import { DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ActionFailure, type ActionContext, type ActionResult } from '@opsauto/core';
import { isAwsError } from '../../errors.js';
import { AwsApiError, named } from '../aws-api.js';
import { nothingToPoll, type ActionEnv } from './action-module.js';

/**
 * aws:deleteImage: deregisters the image and deletes the EBS snapshots its block device mappings name (read
 * before, as the image takes them along). An image already gone is done: the step has nothing left to do, so a
 * resumed attempt is harmless.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const imageId = inputs.ImageId;
  if (typeof imageId !== 'string') throw new ActionFailure('ImageId must be an image id');
  const ec2 = (await env.clientsFor(context)).get(EC2Client, context.region);
  let image: Image | undefined;
  try {
    image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  } catch (e) {
    if (!isAwsError(e, 'InvalidAMIID.NotFound')) throw new AwsApiError('DescribeImages', e);
  }
  if (!image) return { kind: 'done' };
  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  await ignoring('InvalidAMIID.NotFound', () => named('DeregisterImage', () => ec2.send(new DeregisterImageCommand({ ImageId: imageId }))));
  for (const snapshotId of snapshotIds) {
    await ignoring('InvalidSnapshot.NotFound', () => named('DeleteSnapshot', () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }))));
  }
  return { kind: 'done' };
}

export const poll = nothingToPoll('aws:deleteImage');

/** Runs `call`; a failure with the AWS error code `code` counts as success. */
async function ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof AwsApiError && e.code === code)) throw e;
  }
}
