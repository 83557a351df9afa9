import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoPublicationStore } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { createFamilyImage, waitForImages } from '../../helpers/ec2.js';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;

let cloud: Localcloud;
let handler: Handler;
let ssm: SSMClient;
let ec2: EC2Client;
let family = '';
let familyCount = 0;
const param = () => `/opsauto/ami/${family}/latest`;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base', creationDate: '2026-01-01T00:00:00Z' }] } } });
  await functionEnvironment(cloud, 'ERROR');
  ({ handler } = (await import('../../../packages/functions/src/handlers/ami-publisher.js')) as { handler: Handler });
  ssm = new SSMClient(clientConfig(cloud));
  ec2 = new EC2Client(clientConfig(cloud));
});
afterAll(async () => {
  await cloud.stop();
});
beforeEach(() => {
  family = `web${++familyCount}`;
});

/** The AWS sample event, pointed at an image that exists in localcloud. */
function amiEvent(state: 'available' | 'deregistered' | 'failed', imageId: string) {
  const event = fixture(`events/awsdocs-ec2__ami-state-change_${state}.json`);
  event.detail.ImageId = imageId;
  event.resources = [`arn:aws:ec2:us-east-1::image/${imageId}`];
  return event;
}

describe('ami-publisher handler', () => {
  it('publishes the image of an EC2 AMI State Change (available) into the family parameter', async () => {
    // Prepare
    const imageId = await createFamilyImage(cloud, ec2, `${family}-1`, family);
    await waitForImages(cloud);
    // Act
    const result = await handler(amiEvent('available', imageId), fakeContext('ami-publisher'));
    // Assess
    expect(result.published).toEqual([{ outcome: 'published', family, imageId, parameterName: param(), parameterVersion: 1 }]);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: param() }));
    expect(Parameter).toMatchObject({ Value: imageId, DataType: 'aws:ec2:image', Version: 1 });
    const labelled = await ssm.send(new GetParameterCommand({ Name: `${param()}:${imageId}` }));
    expect(labelled.Parameter?.Value).toBe(imageId);
  });

  it('accepts the AWS documentation sample verbatim and skips its unknown image without writing', async () => {
    const result = await handler(fixture('events/awsdocs-ec2__ami-state-change_available.json'), fakeContext());
    expect(result).toEqual({ published: [], skipped: [{ outcome: 'skipped', imageId: 'ami-0123456789example', reason: 'image-not-found' }] });
  });

  it('does not publish a failed image', async () => {
    const result = await handler(fixture('events/awsdocs-ec2__ami-state-change_failed.json'), fakeContext());
    expect(result.published).toEqual([]);
    expect(result.skipped).toEqual([{ imageId: 'ami-0123456789example', reason: 'state failed' }]);
  });

  it('keeps the newer image when an older image is announced after it', async () => {
    const older = await createFamilyImage(cloud, ec2, `${family}-old`, family);
    await waitForImages(cloud);
    const newer = await createFamilyImage(cloud, ec2, `${family}-new`, family);
    await waitForImages(cloud);
    await handler(amiEvent('available', newer), fakeContext());
    const late = await handler(amiEvent('available', older), fakeContext());
    expect(late.skipped).toMatchObject([{ reason: 'older-than-published' }]);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: param() }));
    expect(Parameter?.Value).toBe(newer);
  });

  it('writes no second version when the same event is delivered twice', async () => {
    const imageId = await createFamilyImage(cloud, ec2, `${family}-1`, family);
    await waitForImages(cloud);
    await handler(amiEvent('available', imageId), fakeContext());
    const again = await handler(amiEvent('available', imageId), fakeContext());
    expect(again.skipped).toMatchObject([{ reason: 'duplicate' }]);
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: param() }));
    expect(history.Parameters).toHaveLength(1);
  });

  it('flags the family, on its head and in its history, when its published image is deregistered', async () => {
    const imageId = await createFamilyImage(cloud, ec2, `${family}-1`, family);
    await waitForImages(cloud);
    await handler(amiEvent('available', imageId), fakeContext());
    const result = await handler(amiEvent('deregistered', imageId), fakeContext());
    expect(result.flaggedFamilies).toEqual([family]);
    const store = new DynamoPublicationStore(new AwsClients('us-east-1', clientConfig(cloud)), process.env.TABLE_NAME!);
    expect((await store.getHead('us-east-1', family))?.warning).toMatch(new RegExp(`${imageId} was deregistered`));
    expect((await store.history('us-east-1', family))[0]).toMatchObject({ kind: 'warning', imageId });
  });

  it('treats a disabled image like a deregistered one', async () => {
    const imageId = await createFamilyImage(cloud, ec2, `${family}-1`, family);
    await waitForImages(cloud);
    await handler(amiEvent('available', imageId), fakeContext());
    const event = amiEvent('deregistered', imageId);
    event.detail.State = 'disabled';
    expect((await handler(event, fakeContext())).flaggedFamilies).toEqual([family]);
  });

  it('publishes the AMI of the configured region from an Image Builder event and ignores other regions', async () => {
    const imageId = await createFamilyImage(cloud, ec2, `${family}-ib`, family);
    await waitForImages(cloud);
    const event = fixture('events/opsauto__image-builder-image-state-change_available.json');
    event.detail['output-resources'].amis[0].image = imageId;
    const result = await handler(event, fakeContext());
    expect(result.published).toMatchObject([{ imageId, family }]);
    expect(result.published).toHaveLength(1);
  });

  it('publishes the image named by a Runbook Image Created event', async () => {
    const imageId = await createFamilyImage(cloud, ec2, `${family}-rb`, family);
    await waitForImages(cloud);
    const event = { ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), source: 'opsauto.runbooks', 'detail-type': 'Runbook Image Created', detail: { ImageId: imageId } };
    expect((await handler(event, fakeContext())).published).toMatchObject([{ imageId }]);
  });

  it('rejects a malformed event with an error that names the field, so Lambda retries then dead-letters it', async () => {
    const event = fixture('events/awsdocs-ec2__ami-state-change_available.json');
    event.detail.ImageId = 'not-an-ami';
    await expect(handler(event, fakeContext())).rejects.toThrow(/ImageId[\s\S]*must be an AMI ID/);
    const scheduled = fixture('events/awsdocs-eventbridge__scheduled-event.json');
    await expect(handler(scheduled, fakeContext())).rejects.toThrow(/invalid event: detail-type: Invalid input \(No matching discriminator\)/);
  });
});
