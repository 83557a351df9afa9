import { DeregisterImageCommand, DisableImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients, DynamoPublicationStore } from '@opsauto/aws';
import { defineConfig, PUBLISHER_TIMEOUT_MS, type OpsautoConfigInput } from '@opsauto/core';
import { manifest } from '@opsauto/functions';
import type { Localcloud } from '@opsauto/localcloud';
import { logger } from '../../../packages/functions/src/logger.js';
import { seedEc2 } from '../../../packages/localcloud/src/services/ec2.js';
import { setImageValidationDelay } from '../../../packages/localcloud/src/services/ssm.js';
import { errorOf } from '../../helpers/errors.js';
import { createFamilyImage, waitForImages } from '../../helpers/ec2.js';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { captureMetrics } from '../../helpers/metrics.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;

/**
 * The handler's waits pass on localcloud's virtual clock rather than in real time, so that Parameter Store's slow
 * validation (a virtual-clock timer) happens while the handler waits, and no test sleeps for real.
 */
const virtual = vi.hoisted(() => ({ sleep: (_ms: number): Promise<void> => Promise.reject(new Error('virtual sleep used before the cloud started')) }));
vi.mock('../../../packages/functions/src/sleep.js', () => ({ sleep: (ms: number) => virtual.sleep(ms) }));

/**
 * Virtual time for concurrent waiters: each wait ends at its own due time, and the clock moves to the earliest
 * one only when no AWS call of the function is in flight, so every waiter has reached its wait (or finished).
 * Calls take no virtual time, and the regions' waits overlap exactly as they would in real time.
 */
function virtualTime(cloud: Localcloud) {
  const waiters: { due: number; wake: () => void }[] = [];
  let calls = 0;
  let driving = false;
  const drive = async () => {
    if (driving) return;
    driving = true;
    try {
      while (waiters.length > 0) {
        await new Promise((r) => setImmediate(r));
        if (calls > 0) continue;
        const due = Math.min(...waiters.map((w) => w.due));
        if (due > cloud.clock.nowMs()) await cloud.clock.set(new Date(due));
        const now = cloud.clock.nowMs();
        for (const w of waiters.filter((x) => x.due <= now)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.wake();
        }
      }
    } finally {
      driving = false;
    }
  };
  const counted = new WeakSet<object>();
  /** Counts the client's calls in flight (the document client shares its DynamoDB client's middleware stack). */
  const count = (client: { middlewareStack: { add: (mw: unknown, options: unknown) => void } }) => {
    if (counted.has(client)) return;
    counted.add(client);
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        calls++;
        try {
          return await next(args);
        } finally {
          calls--;
        }
      },
      { step: 'initialize', name: 'countCallsInFlight' },
    );
  };
  const sleep = (ms: number) =>
    new Promise<void>((wake) => {
      waiters.push({ due: cloud.clock.nowMs() + ms, wake });
      void drive();
    });
  return { sleep, count };
}

let cloud: Localcloud;
let handler: Handler;
let ssm: SSMClient;
let ec2: EC2Client;
let family = '';
let familyCount = 0;
const param = () => `/opsauto/ami/${family}/latest`;
let metrics: ReturnType<typeof captureMetrics>;

beforeAll(async () => {
  metrics = captureMetrics();
  cloud = await startTestCloud();
  cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base', creationDate: '2026-01-01T00:00:00Z' }] } } });
  await functionEnvironment(cloud, 'ERROR', { metrics: true });
  baseConfig = process.env.OPSAUTO_CONFIG;
  const time = virtualTime(cloud);
  virtual.sleep = time.sleep;
  // Every client the function creates is counted before its first call.
  const { clients } = await import('../../../packages/functions/src/clients.js');
  const get = clients.get.bind(clients);
  clients.get = ((Client, region) => {
    const client = get(Client, region);
    time.count(client as Parameters<typeof time.count>[0]);
    return client;
  }) as typeof clients.get;
  ({ handler } = (await import('../../../packages/functions/src/handlers/ami-publisher.js')) as { handler: Handler });
  ssm = new SSMClient(clientConfig(cloud));
  ec2 = new EC2Client(clientConfig(cloud));
});
afterAll(async () => {
  metrics.restore();
  await cloud.stop();
});
let baseConfig: string | undefined;
beforeEach(() => {
  family = `web${++familyCount}`;
  metrics.clear();
});
afterEach(() => {
  process.env.OPSAUTO_CONFIG = baseConfig;
  vi.restoreAllMocks();
});

/** Runs the function with this config, as the stage passes it in OPSAUTO_CONFIG. */
const useConfig = (config: OpsautoConfigInput) => {
  process.env.OPSAUTO_CONFIG = JSON.stringify(config);
};

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
    expect(metrics.values()).toEqual({ AmisPublished: [1], AmisRefused: [0] });
  });

  it('accepts the AWS documentation sample verbatim and skips its unknown image without writing', async () => {
    const result = await handler(fixture('events/awsdocs-ec2__ami-state-change_available.json'), fakeContext());
    expect(result).toEqual({ published: [], skipped: [{ outcome: 'skipped', imageId: 'ami-0123456789example', reason: 'image-not-found' }] });
    // An image EC2 does not know is no refusal: nothing to count but zeros.
    expect(metrics.values()).toEqual({ AmisPublished: [0], AmisRefused: [0] });
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
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
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
    await ec2.send(new DisableImageCommand({ ImageId: imageId }));
    const event = amiEvent('deregistered', imageId);
    event.detail.State = 'disabled';
    expect((await handler(event, fakeContext())).flaggedFamilies).toEqual([family]);
  });

  it('flags nothing, and warns, when an event says a published image was deregistered but EC2 still has it', async () => {
    // Prepare
    const imageId = await createFamilyImage(cloud, ec2, `${family}-1`, family);
    await waitForImages(cloud);
    await handler(amiEvent('available', imageId), fakeContext());
    const warn = vi.spyOn(logger, 'warn');
    // Act
    const results = [await handler(amiEvent('deregistered', imageId), fakeContext())];
    const disabled = amiEvent('deregistered', imageId);
    disabled.detail.State = 'disabled';
    results.push(await handler(disabled, fakeContext()));
    // Assess
    expect(results.map((r) => r.flaggedFamilies)).toEqual([[], []]);
    const store = new DynamoPublicationStore(new AwsClients('us-east-1', clientConfig(cloud)), process.env.TABLE_NAME!);
    expect(await store.getHead('us-east-1', family)).not.toHaveProperty('warning');
    expect((await store.history('us-east-1', family)).map((h) => h.kind)).toEqual(['publish']);
    expect(warn).toHaveBeenCalledWith('image state change contradicted by EC2: nothing flagged', expect.objectContaining({ imageId, claimed: 'deregistered', actual: 'available' }));
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

  it("never publishes another account's public image named like a family, from any event, and warns naming its owner", async () => {
    // Prepare: a stranger's public AMI matches the family's name pattern and carries the family tag too.
    useConfig({ regions: ['us-east-1'], amiPublisher: { namePatterns: [{ family, namePattern: `${family}-*` }] } });
    const [stranger] = seedEc2(cloud.store, '111111111111', 'us-east-1', { images: [{ name: `${family}-2026-11-30`, public: true, tags: { 'opsauto:ami-family': family } }] }).imageIds;
    const builder = fixture('events/opsauto__image-builder-image-state-change_available.json');
    builder.detail['output-resources'].amis = [{ region: 'us-east-1', image: stranger, name: `${family}-2026-11-30`, accountId: '000000000000' }];
    const runbook = { ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), source: 'opsauto.runbooks', 'detail-type': 'Runbook Image Created', detail: { ImageId: stranger } };
    const warn = vi.spyOn(logger, 'warn');
    // Act
    const results = [];
    for (const event of [amiEvent('available', stranger), builder, runbook]) results.push(await handler(event, fakeContext()));
    // Assess
    for (const result of results) expect(result).toEqual({ published: [], skipped: [{ outcome: 'skipped', imageId: stranger, reason: 'untrusted-owner', ownerId: '111111111111' }] });
    expect(metrics.values()).toEqual({ AmisPublished: [0, 0, 0], AmisRefused: [1, 1, 1] });
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: param() })))).name).toBe('ParameterNotFound');
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn).toHaveBeenCalledWith(
      'image not published: owned by an account that is neither this one nor in amiPublisher.trustedOwners',
      expect.objectContaining({ imageId: stranger, ownerId: '111111111111', region: 'us-east-1' }),
    );
  });

  it('publishes the image of an account listed in amiPublisher.trustedOwners', async () => {
    useConfig({ regions: ['us-east-1'], amiPublisher: { trustedOwners: ['222222222222'] } });
    const [shared] = seedEc2(cloud.store, '222222222222', 'us-east-1', { images: [{ name: `${family}-build`, public: true, tags: { 'opsauto:ami-family': family } }] }).imageIds;
    const result = await handler(amiEvent('available', shared), fakeContext());
    expect(result.published).toEqual([{ outcome: 'published', family, imageId: shared, parameterName: param(), parameterVersion: 1 }]);
  });

  it('takes the family from the name and tags EC2 reports, not from the name the event claims', async () => {
    useConfig({ regions: ['us-east-1'], amiPublisher: { namePatterns: [{ family: `${family}-claimed`, namePattern: 'claimed-*' }] } });
    const imageId = await createFamilyImage(cloud, ec2, `${family}-real`, family);
    await waitForImages(cloud);
    const event = fixture('events/opsauto__image-builder-image-state-change_available.json');
    event.detail['output-resources'].amis = [{ region: 'us-east-1', image: imageId, name: 'claimed-1', accountId: '111111111111' }];
    expect((await handler(event, fakeContext())).published).toMatchObject([{ imageId, family }]);
  });

  describe('with slow validation in three regions', () => {
    const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
    const timeoutMs = () => manifest(defineConfig({ regions: REGIONS })).find((f) => f.name === 'ami-publisher')!.timeoutSeconds * 1000;

    /** An AMI of the family in every region, Parameter Store taking `delayMs` to validate, and the Image Builder event for them. */
    async function imagesInThreeRegions(delayMs: number) {
      useConfig({ regions: REGIONS });
      const ids: string[] = [];
      for (const region of REGIONS) {
        if (region !== 'us-east-1') seedEc2(cloud.store, '000000000000', region, { images: [{ name: `base-${family}` }] });
        ids.push(await createFamilyImage(cloud, new EC2Client(clientConfig(cloud, region)), `${family}-${region}`, family, region === 'us-east-1' ? 'base' : `base-${family}`));
      }
      await waitForImages(cloud);
      for (const region of REGIONS) setImageValidationDelay(cloud.store, '000000000000', region, delayMs);
      const event = fixture('events/opsauto__image-builder-image-state-change_available.json');
      event.detail['output-resources'].amis = REGIONS.map((region, i) => ({ region, image: ids[i], name: `${family}-${region}`, accountId: '000000000000' }));
      return { ids, event };
    }
    const valueIn = async (region: string) => (await new SSMClient(clientConfig(cloud, region)).send(new GetParameterCommand({ Name: param() }))).Parameter;
    afterEach(() => {
      for (const region of REGIONS) setImageValidationDelay(cloud.store, '000000000000', region, 0);
    });

    it('publishes all three within the function timeout, the regions waiting at the same time', async () => {
      // Prepare: 19 s of validation per region; one after another they would need about 64 s.
      const { ids, event } = await imagesInThreeRegions(19_000);
      const started = cloud.clock.nowMs();
      // Act
      const result = await handler(event, fakeContext('ami-publisher', timeoutMs()));
      // Assess
      const elapsed = cloud.clock.nowMs() - started;
      expect(result.published.map((p: { imageId: string }) => p.imageId).sort()).toEqual([...ids].sort());
      expect(elapsed).toBeGreaterThanOrEqual(19_000);
      expect(elapsed).toBeLessThan(timeoutMs());
      expect(timeoutMs()).toBe(PUBLISHER_TIMEOUT_MS);
      for (const [i, region] of REGIONS.entries()) expect(await valueIn(region)).toMatchObject({ Value: ids[i], Version: 1 });
    });

    it('hands a validation longer than its waits to the retry, which publishes all three without writing again', async () => {
      // Prepare: validation takes 45 s, longer than the publisher waits for it (20 s).
      const { ids, event } = await imagesInThreeRegions(45_000);
      const started = cloud.clock.nowMs();
      // Act: the first attempt fails (retryable) well inside its timeout; Lambda retries a minute later.
      const first = await errorOf(handler(event, fakeContext('ami-publisher', timeoutMs())));
      const failedAfter = cloud.clock.nowMs() - started;
      await cloud.advance('1m');
      const retry = await handler(event, fakeContext('ami-publisher', timeoutMs()));
      // Assess
      expect(first.message).toMatch(/publishing failed for 3 of 3 images/);
      expect(first.message).toMatch(/ParameterNotConfirmedError: .* a retry continues/);
      expect(failedAfter).toBeLessThan(timeoutMs());
      expect(retry.published.map((p: { imageId: string }) => p.imageId).sort()).toEqual([...ids].sort());
      for (const [i, region] of REGIONS.entries()) expect(await valueIn(region)).toMatchObject({ Value: ids[i], Version: 1 });
    });

    it('stops waiting before the invocation runs out of time, and the retry publishes', async () => {
      // Prepare: only 15 s are left of the invocation, less than the 19 s validation.
      const { ids, event } = await imagesInThreeRegions(19_000);
      const started = cloud.clock.nowMs();
      // Act
      const first = await errorOf(handler(event, fakeContext('ami-publisher', 15_000)));
      const failedAfter = cloud.clock.nowMs() - started;
      await cloud.advance('1m');
      const retry = await handler(event, fakeContext('ami-publisher', timeoutMs()));
      // Assess
      expect(first.message).toMatch(/OutOfTimeError: out of time waiting for .* to show .*a retry continues/);
      expect(failedAfter).toBeLessThanOrEqual(15_000);
      expect(retry.published).toHaveLength(3);
      for (const [i, region] of REGIONS.entries()) expect(await valueIn(region)).toMatchObject({ Value: ids[i], Version: 1 });
    });
  });

  it('rejects a malformed event with an error that names the field, so Lambda retries then dead-letters it', async () => {
    const event = fixture('events/awsdocs-ec2__ami-state-change_available.json');
    event.detail.ImageId = 'not-an-ami';
    await expect(handler(event, fakeContext())).rejects.toThrow(/ImageId[\s\S]*must be an AMI ID/);
    const scheduled = fixture('events/awsdocs-eventbridge__scheduled-event.json');
    await expect(handler(scheduled, fakeContext())).rejects.toThrow(/invalid event: detail-type: Invalid input \(No matching discriminator\)/);
  });
});
