import { describe, expect, it } from 'vitest';
import { defineConfig, InMemoryPublicationStore, noteUnusableImage, publishImage, rollbackFamily, type AmiPublisherDeps, type Clock } from '@opsauto/core';
import { FakeImages, FakeParameters, seeded } from './fakes.js';

const PARAM = '/opsauto/ami/web/latest';

/** Virtual time: waiting (`sleep`) moves it, so leases run out without the test sleeping. */
class TestClock implements Clock {
  at = Date.parse('2026-11-22T10:00:00Z');
  now() {
    return new Date(this.at);
  }
}

function setup(random: () => number = () => 0) {
  const clock = new TestClock();
  const sleeps: number[] = [];
  const deps = {
    config: defineConfig({}),
    clock,
    images: new FakeImages(random),
    parameters: new FakeParameters(random),
    store: new InMemoryPublicationStore(),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock.at += ms;
      await new Promise((r) => setImmediate(r));
    },
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
  it('flags the family whose published image was deregistered, once however often it is told', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    const affected = await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' });
    expect(affected).toHaveLength(1);
    expect(affected[0].warning).toMatch(/ami-1 was deregistered/);
    expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'deregistered' })).toEqual([]);
    expect((await deps.store.history('us-east-1', 'web')).map((h) => h.kind)).toEqual(['warning', 'publish']);
  });

  it('ignores an image that no family publishes', async () => {
    const deps = setup();
    expect(await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-x', state: 'disabled' })).toEqual([]);
  });

  it('clears the warning when a newer image is published', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.images.add({ imageId: 'ami-2', creationDate: '2026-11-02T00:00:00Z' });
    await publish(deps, 'ami-1');
    await noteUnusableImage(deps, { region: 'us-east-1', imageId: 'ami-1', state: 'disabled' });
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
