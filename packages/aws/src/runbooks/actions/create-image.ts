import {
  CreateImageCommand,
  DescribeImagesCommand,
  EC2Client,
  paginateDescribeImages,
  type CreateImageCommandInput,
  type DescribeImagesCommandInput,
  type Image,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { ActionFailure, type ActionContext, type ActionResult, type JsonValue } from '@opsauto/core';
import { named } from '../aws-api.js';
import { IDEMPOTENCY_TAG, type ActionEnv } from './action-module.js';
import { flag } from './action-inputs.js';

/** The first image a filtered DescribeImages finds, following NextToken: EC2 may answer empty pages with a token. */
async function firstImage(ec2: EC2Client, input: DescribeImagesCommandInput): Promise<Image | undefined> {
  for await (const page of paginateDescribeImages({ client: ec2 }, input)) {
    const image = page.Images?.[0];
    if (image) return image;
  }
  return undefined;
}

/**
 * aws:createImage: adopts the image an earlier run of this attempt created (found by its IDEMPOTENCY_TAG), or
 * creates it; then waits for it to be available. Its outputs are ImageId and ImageState.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const ec2 = (await env.clientsFor(context)).get(EC2Client, context.region);
  const token = context.idempotencyToken;
  const adopted = await named('DescribeImages', () => firstImage(ec2, { Owners: ['self'], Filters: [{ Name: `tag:${IDEMPOTENCY_TAG}`, Values: [escapeFilterValue(token)] }] }));
  if (adopted) return imageProgress(adopted, context, env);

  const { InstanceId, ImageName, ImageDescription, NoReboot, TagSpecifications, ...others } = inputs;
  const params = {
    // "Supports most CreateImage parameters": the others (BlockDeviceMappings, …) pass through.
    ...others,
    InstanceId,
    Name: ImageName,
    ...(ImageDescription !== undefined ? { Description: ImageDescription } : {}),
    ...(NoReboot !== undefined ? { NoReboot: flag(NoReboot, 'NoReboot') } : {}),
    TagSpecifications: withIdempotencyTag(TagSpecifications, token),
  } as CreateImageCommandInput;
  const created = await named('CreateImage', () => ec2.send(new CreateImageCommand(params)));
  if (!created.ImageId) throw new Error('CreateImage returned no image id');
  // The image is pending for minutes; looking at it at once would only find it so (or not yet find it).
  return env.waiting(context, { imageId: created.ImageId });
}

/** Looks at the image the state names; without the image id (a state lost or from elsewhere), the tag still leads to it. */
export async function poll(inputs: Record<string, unknown>, state: JsonValue, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const imageId = (state as { imageId?: unknown } | null)?.imageId;
  if (typeof imageId !== 'string') return start(inputs, context, env);
  const ec2 = (await env.clientsFor(context)).get(EC2Client, context.region);
  const out = await named('DescribeImages', () => ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
  const image = out.Images?.[0];
  if (!image) throw new ActionFailure(`image ${imageId} is gone`);
  return imageProgress(image, context, env);
}

function imageProgress(image: Image, context: ActionContext, env: ActionEnv): ActionResult {
  const imageId = image.ImageId!;
  switch (image.State) {
    case 'available':
      return { kind: 'done', outputs: { ImageId: imageId, ImageState: image.State } };
    case 'pending':
    case 'transient':
      return env.waiting(context, { imageId });
    default: {
      const reason = image.StateReason?.Message ?? image.StateReason?.Code;
      throw new ActionFailure(`image ${imageId} is ${image.State ?? 'in no state'}${reason ? `: ${reason}` : ''}`);
    }
  }
}

/** The TagSpecifications of a CreateImage call with the idempotency tag added to the image's. */
function withIdempotencyTag(given: unknown, token: string): TagSpecification[] {
  const specs = Array.isArray(given) ? (given as TagSpecification[]).map((s) => ({ ...s, Tags: [...(s.Tags ?? [])] })) : [];
  const tag = { Key: IDEMPOTENCY_TAG, Value: token };
  const image = specs.find((s) => s.ResourceType === 'image');
  if (image) image.Tags = [...image.Tags.filter((t) => t.Key !== IDEMPOTENCY_TAG), tag];
  else specs.push({ ResourceType: 'image', Tags: [tag] });
  return specs;
}

/** An EC2 filter value that matches `text` exactly: `*`, `?` and `\\` are wildcards there. */
function escapeFilterValue(text: string): string {
  return text.replace(/[*?\\]/g, (c) => `\\${c}`);
}
