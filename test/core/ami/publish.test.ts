import { describe, expect, it } from 'vitest';
import { defineConfig, InMemoryPublicationStore, noteUnusableImage, OutOfTimeError, publishImage, rollbackFamily, type AmiPublisherDeps, type Clock, type OpsautoConfigInput } from '@opsauto/core';
import { FakeImages, FakeParameters, seeded } from './fakes.js';

const PARAM = '/opsauto/ami/web/latest';

/** Virtual time: waiting (`sleep`) moves it, so leases run out without the test sleeping. */
class TestClock implements Clock {
  at = Date.parse('2026-11-22T10:00:00Z');
  now() {
    return new Date(this.at);
  }
}

function setup(random: () => number = () => 0, config: OpsautoConfigInput = {}) {
  const clock = new TestClock();
  const sleeps: number[] = [];
  const deps = {
    config: defineConfig(config),
    clock,
    images: new FakeImages(random),
    parameters: new FakeParameters(random),
    store: new InMemoryPublicationStore(),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock.at += ms;
      await new Promise((r) => setImmediate(r));
    },
    deadline: undefined as Date | undefined,
  } satisfies AmiPublisherDeps;
  return Object.assign(deps, { sleeps });
}

const publish = (deps: AmiPublisherDeps, imageId: string) => publishImage(deps, { region: 'us-east-1', imageId, source: 'ec2-ami-state-change' });

describe('publishImage', () => {
  it('writes a new image into its family parameter with a label and a history record', async () => {
    // Prepare
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z', name: 'web-1' });
    // Act
    const result = await publish(deps, 'ami-1');
    // Assess
    expect(result).toEqual({ outcome: 'published', family: 'web', imageId: 'ami-1', parameterName: PARAM, parameterVersion: 1 });
    expect(deps.parameters.versions.get(PARAM)).toEqual([{ version: 1, value: 'ami-1', labels: ['ami-1'] }]);
    expect(await deps.store.history('us-east-1', 'web')).toMatchObject([{ kind: 'publish', imageId: 'ami-1', imageName: 'web-1', parameterVersion: 1, source: 'ec2-ami-state-change' }]);
    const head = await deps.store.getHead('us-east-1', 'web');
    expect(head).toMatchObject({ status: 'published', imageId: 'ami-1' });
    expect(head).not.toHaveProperty('putBy');
  });

  it('never moves the parameter back when an older image arrives late', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-new', creationDate: '2026-11-02T00:00:00Z' });
    deps.images.add({ imageId: 'ami-old', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-new');
    expect(await publish(deps, 'ami-old')).toMatchObject({ outcome: 'skipped', reason: 'older-than-published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-new');
    expect(deps.parameters.count(PARAM)).toBe(1);
  });

  it('changes nothing when the same event is delivered twice', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    expect(await publish(deps, 'ami-1')).toMatchObject({ outcome: 'skipped', reason: 'duplicate' });
    expect(deps.parameters.puts).toBe(1);
    expect(await deps.store.history('us-east-1', 'web')).toHaveLength(1);
  });

  it('skips images with no family, an unusable family tag, no creation date, unknown or failed, writing nothing', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-untagged', creationDate: '2026-11-01T00:00:00Z', tags: {} });
    deps.images.add({ imageId: 'ami-badtag', creationDate: '2026-11-01T00:00:00Z', tags: { 'opsauto:ami-family': 'web team*' } });
    deps.images.add({ imageId: 'ami-nodate', creationDate: '' });
    deps.images.add({ imageId: 'ami-failed', creationDate: '2026-11-01T00:00:00Z', state: 'failed' });
    expect(await publish(deps, 'ami-untagged')).toMatchObject({ reason: 'no-family' });
    expect(await publish(deps, 'ami-badtag')).toMatchObject({ reason: 'invalid-family', family: 'web team*' });
    expect(await publish(deps, 'ami-nodate')).toMatchObject({ reason: 'no-creation-date' });
    expect(await publish(deps, 'ami-gone')).toMatchObject({ reason: 'image-not-found' });
    expect(await publish(deps, 'ami-failed')).toMatchObject({ reason: 'not-available' });
    expect(deps.parameters.puts).toBe(0);
    expect(await deps.store.listHeads()).toEqual([]);
  });

  it('repairs the parameter when a writer of an older image died after overwriting a newer one', async () => {
    // Prepare: the old image's writer is overtaken inside its put by a full publication of the new image,
    // then stores its stale value and dies before it can check.
    const deps = setup();
    deps.images.add({ imageId: 'ami-old', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-new', creationDate: '2026-11-02T00:00:00Z' });
    deps.parameters.beforePut = async () => {
      deps.clock.at += 31_000; // the old writer is slow: its lease runs out meanwhile
      await publish(deps, 'ami-new');
    };
    deps.parameters.dieAfterPutOf = 'ami-old';
    await expect(publish(deps, 'ami-old')).rejects.toThrow(/simulated crash after writing ami-old/);
    expect(deps.parameters.value(PARAM)).toBe('ami-old'); // left behind
    // Act: Lambda retries the dead invocation a minute later.
    deps.clock.at += 60_000;
    const retry = await publish(deps, 'ami-old');
    // Assess
    expect(retry).toMatchObject({ outcome: 'skipped', reason: 'older-than-published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-new');
  });

  it('ends on the newest image, with one version per published image, under any interleaving of duplicates', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const deps = setup(seeded(seed));
      const ids = ['ami-1', 'ami-2', 'ami-3', 'ami-4'];
      ids.forEach((imageId, i) => deps.images.add({ imageId, creationDate: `2026-11-0${i + 1}T00:00:00Z` }));
      // Every event delivered three times, all at once (EC2 and Image Builder both announce an AMI).
      await Promise.all([...ids, ...ids, ...ids].map((id) => publish(deps, id)));
      expect(deps.parameters.value(PARAM), `seed ${seed}`).toBe('ami-4');
      expect(await deps.store.getHead('us-east-1', 'web'), `seed ${seed}`).toMatchObject({ imageId: 'ami-4', status: 'published' });
      const values = deps.parameters.versions.get(PARAM)!.map((v) => v.value);
      expect(new Set(values).size, `seed ${seed}: ${values.join(',')}`).toBe(values.length);
    }
  });

  it('waits for an asynchronously validated write instead of writing it again', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.parameters.checksBeforeVisible = 3;
    expect(await publish(deps, 'ami-1')).toMatchObject({ outcome: 'published', parameterVersion: 1 });
    expect(deps.parameters.puts).toBe(1);
    expect(deps.sleeps.length).toBeGreaterThan(0);
  });

  it('puts the previous image back, records why, and keeps images in between publishable when Parameter Store rejects one', async () => {
    // Prepare: ami-1 published; ami-3 is rejected (deregistered before validation); ami-2 arrives late.
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-2', creationDate: '2026-11-02T00:00:00Z' });
    deps.images.add({ imageId: 'ami-3', creationDate: '2026-11-03T00:00:00Z' });
    await publish(deps, 'ami-1');
    deps.parameters.rejected.add('ami-3');
    deps.parameters.beforePut = () => {
      deps.images.images.get('ami-3')!.state = 'disabled';
      return Promise.resolve();
    };
    // Act
    const rejected = await publish(deps, 'ami-3');
    // Assess
    expect(rejected).toMatchObject({ outcome: 'skipped', reason: 'rejected-by-parameter-store' });
    expect(await deps.store.getHead('us-east-1', 'web')).toMatchObject({ imageId: 'ami-1', status: 'published', highWaterImageId: 'ami-1' });
    expect((await deps.store.history('us-east-1', 'web'))[0]).toMatchObject({ kind: 'rejected', imageId: 'ami-3', note: expect.stringContaining('the image is disabled') });
    expect(await publish(deps, 'ami-2')).toMatchObject({ outcome: 'published' });
  });

  it('forgets a first publication that Parameter Store rejected', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.parameters.rejected.add('ami-1');
    deps.parameters.beforePut = () => {
      deps.images.images.delete('ami-1');
      return Promise.resolve();
    };
    expect(await publish(deps, 'ami-1')).toMatchObject({ reason: 'rejected-by-parameter-store' });
    expect(await deps.store.getHead('us-east-1', 'web')).toBeUndefined();
  });

  it('never publishes a public image of another account named like a family, and says who owns it', async () => {
    // Prepare: a stranger's public AMI matches the family's name pattern and even carries the family tag.
    const deps = setup(undefined, { amiPublisher: { namePatterns: [{ family: 'web', namePattern: 'web-*' }] } });
    deps.images.add({ imageId: 'ami-evil', creationDate: '2026-11-05T00:00:00Z', name: 'web-2026-11-05', ownerId: '111111111111' });
    // Act
    const result = await publish(deps, 'ami-evil');
    // Assess
    expect(result).toEqual({ outcome: 'skipped', imageId: 'ami-evil', reason: 'untrusted-owner', ownerId: '111111111111' });
    expect(deps.images.asked).toEqual([['self']]);
    expect(deps.parameters.puts).toBe(0);
    expect(await deps.store.listHeads()).toEqual([]);
  });

  it('publishes an image of an account listed in amiPublisher.trustedOwners', async () => {
    const deps = setup(undefined, { amiPublisher: { trustedOwners: ['222222222222'] } });
    deps.images.add({ imageId: 'ami-build', creationDate: '2026-11-05T00:00:00Z', ownerId: '222222222222' });
    expect(await publish(deps, 'ami-build')).toMatchObject({ outcome: 'published', imageId: 'ami-build' });
    expect(deps.images.asked[0]).toEqual(['self', '222222222222']);
  });

  it('looks the image up in the region it is announced for, and finds nothing of another region there', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-eu', creationDate: '2026-11-05T00:00:00Z', region: 'eu-west-1' });
    expect(await publish(deps, 'ami-eu')).toEqual({ outcome: 'skipped', imageId: 'ami-eu', reason: 'image-not-found' });
    expect(deps.parameters.puts).toBe(0);
  });

  it('stops before its deadline while Parameter Store is still validating, and a retry confirms the write without writing again', async () => {
    // Prepare: validation takes longer than the time left: the write shows at the retry's first look (the 6th).
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.parameters.checksBeforeVisible = 6;
    deps.deadline = new Date(deps.clock.at + 3_000);
    // Act
    const first = await publish(deps, 'ami-1').catch((e: unknown) => e);
    const stoppedAt = deps.clock.at;
    deps.deadline = undefined;
    deps.clock.at += 60_000; // Lambda's retry
    const retry = await publish(deps, 'ami-1');
    // Assess
    expect(first).toBeInstanceOf(OutOfTimeError);
    expect((first as Error).message).toMatch(/out of time waiting for \/opsauto\/ami\/web\/latest in us-east-1 to show ami-1.*a retry continues/);
    expect(stoppedAt).toBeLessThanOrEqual(Date.parse('2026-11-22T10:00:03Z'));
    expect(retry).toMatchObject({ outcome: 'published', parameterVersion: 1 });
    expect(deps.parameters.puts).toBe(1);
  });

  it("stops before its deadline while another writer's lease is held, having claimed nothing", async () => {
    // Prepare: a writer of ami-1 holds the lease and has not written yet.
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-2', creationDate: '2026-11-02T00:00:00Z' });
    await deps.store.putHead(
      { region: 'us-east-1', family: 'web', parameterName: PARAM, imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z', highWaterImageId: 'ami-1', highWaterCreationDate: '2026-11-01T00:00:00Z', status: 'pending', kind: 'publish', putBy: 'other', putAt: new Date(deps.clock.at).toISOString(), updatedAt: new Date(deps.clock.at).toISOString(), version: 2 },
      undefined,
    );
    deps.deadline = new Date(deps.clock.at + 2_000);
    // Act
    const result = await publish(deps, 'ami-2').catch((e: unknown) => e);
    // Assess
    expect(result).toBeInstanceOf(OutOfTimeError);
    expect((result as Error).message).toMatch(/another writer's update of \/opsauto\/ami\/web\/latest in us-east-1 before publishing ami-2/);
    expect(deps.clock.at).toBeLessThanOrEqual(Date.parse('2026-11-22T10:00:02Z'));
    expect(await deps.store.getHead('us-east-1', 'web')).toMatchObject({ imageId: 'ami-1', version: 2 });
    expect(deps.parameters.puts).toBe(0);
  });

  it("keeps publishing past Parameter Store's 100 versions although every version carries a label", async () => {
    const deps = setup();
    for (let i = 1; i <= 105; i++) {
      const imageId = `ami-${String(i).padStart(4, '0')}`;
      deps.images.add({ imageId, creationDate: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 86_400_000).toISOString() });
      expect(await publish(deps, imageId), imageId).toMatchObject({ outcome: 'published', parameterVersion: i });
    }
    expect(deps.parameters.count(PARAM)).toBe(100);
  });
});

describe('noteUnusableImage', () => {
  it('flags the family whose published image EC2 no longer describes, once however often it is told', async () => {
    // Prepare
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    deps.images.images.delete('ami-1');
    // Act
    const result = await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' });
    const again = await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' });
    // Assess
    expect(result).toMatchObject({ outcome: 'flagged', state: 'deregistered', families: [{ family: 'web', warning: expect.stringMatching(/ami-1 was deregistered/) }] });
    expect(again).toEqual({ outcome: 'flagged', state: 'deregistered', families: [] });
    expect((await deps.store.history('us-east-1', 'web')).map((h) => h.kind)).toEqual(['warning', 'publish']);
  });

  it('changes nothing when EC2 still describes the image as available, whatever the event claims', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    for (const state of ['deregistered', 'disabled']) {
      expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state })).toEqual({ outcome: 'refuted', claimed: state, actual: 'available' });
    }
    expect(await deps.store.getHead('us-east-1', 'web')).not.toHaveProperty('warning');
    expect((await deps.store.history('us-east-1', 'web')).map((h) => h.kind)).toEqual(['publish']);
  });

  it('states what EC2 shows, not what the event claims: a disabled image announced as deregistered is flagged disabled', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    deps.images.images.get('ami-1')!.state = 'disabled';
    const result = await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' });
    expect(result).toMatchObject({ outcome: 'flagged', state: 'disabled', families: [{ warning: expect.stringMatching(/ami-1 was disabled/) }] });
  });

  it('does not take an image for gone while this account still sees it under another owner', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    deps.images.images.get('ami-1')!.ownerId = '111111111111';
    expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' })).toEqual({ outcome: 'refuted', claimed: 'deregistered', actual: 'still described, owned by 111111111111' });
  });

  it('ignores an image that no family publishes without asking EC2', async () => {
    const deps = setup();
    expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-x', state: 'disabled' })).toEqual({ outcome: 'not-published' });
    expect(deps.images.asked).toEqual([]);
  });

  it('clears the warning when a newer image is published', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-2', creationDate: '2026-11-02T00:00:00Z' });
    await publish(deps, 'ami-1');
    deps.images.images.get('ami-1')!.state = 'disabled';
    expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'disabled' })).toMatchObject({ outcome: 'flagged' });
    await publish(deps, 'ami-2');
    expect(await deps.store.getHead('us-east-1', 'web')).not.toHaveProperty('warning');
  });
});

describe('rollbackFamily', () => {
  async function twoPublished() {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-2', creationDate: '2026-11-02T00:00:00Z' });
    await publish(deps, 'ami-1');
    await publish(deps, 'ami-2');
    return deps;
  }

  it('points the parameter back to an earlier image by image ID', async () => {
    const deps = await twoPublished();
    const head = await rollbackFamily(deps, { region: 'us-east-1', family: 'web', to: 'ami-1' });
    expect(head).toMatchObject({ imageId: 'ami-1', kind: 'rollback', status: 'published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-1');
    expect((await deps.store.history('us-east-1', 'web'))[0]).toMatchObject({ kind: 'rollback', imageId: 'ami-1', source: 'rollback' });
  });

  it('rolls back by parameter version and is not undone by a late event for the newer image', async () => {
    const deps = await twoPublished();
    await rollbackFamily(deps, { region: 'us-east-1', family: 'web', to: '1' });
    expect(await publish(deps, 'ami-2')).toMatchObject({ outcome: 'skipped', reason: 'older-than-published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-1');
  });

  it('lets an image newer than everything before move the family forward after a rollback', async () => {
    const deps = await twoPublished();
    await rollbackFamily(deps, { region: 'us-east-1', family: 'web', to: 'ami-1' });
    deps.images.add({ imageId: 'ami-3', creationDate: '2026-11-03T00:00:00Z' });
    expect(await publish(deps, 'ami-3')).toMatchObject({ outcome: 'published' });
  });

  it('refuses a target outside the history or an image that is gone', async () => {
    const deps = await twoPublished();
    await expect(rollbackFamily(deps, { region: 'us-east-1', family: 'web', to: 'ami-9' })).rejects.toThrow(/not in the history/);
    deps.images.images.delete('ami-1');
    await expect(rollbackFamily(deps, { region: 'us-east-1', family: 'web', to: 'ami-1' })).rejects.toThrow(/gone \(deregistered\)/);
    await expect(rollbackFamily(deps, { region: 'us-east-1', family: 'db', to: 'ami-1' })).rejects.toThrow(/never been published/);
  });
});
