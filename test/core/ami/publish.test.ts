import { describe, expect, it } from 'vitest';
import { defineConfig, fixedClock, InMemoryPublicationStore, noteDeregisteredImage, publishImage, rollbackFamily, type AmiPublisherDeps } from '@opsauto/core';
import { FakeImages, FakeParameters, seeded } from './fakes.js';

const PARAM = '/opsauto/ami/web/latest';

function setup(random: () => number = () => 0) {
  const deps = {
    config: defineConfig({}),
    clock: fixedClock('2026-11-22T10:00:00Z'),
    images: new FakeImages(random),
    parameters: new FakeParameters(random),
    store: new InMemoryPublicationStore(),
  } satisfies AmiPublisherDeps;
  return deps;
}

const publish = (deps: AmiPublisherDeps, imageId: string) => publishImage(deps, { region: 'us-east-1', imageId, source: 'ec2-ami-state-change' });

describe('publishImage', () => {
  it('writes a new image into its family parameter with a label and a history record', async () => {
    // Prepare
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    // Act
    const result = await publish(deps, 'ami-1');
    // Assess
    expect(result).toEqual({ outcome: 'published', family: 'web', imageId: 'ami-1', parameterName: PARAM, parameterVersion: 1 });
    expect(deps.parameters.versions.get(PARAM)).toEqual([{ value: 'ami-1', labels: ['ami-1'] }]);
    const history = await deps.store.history('us-east-1', 'web');
    expect(history).toMatchObject([{ kind: 'publish', imageId: 'ami-1', parameterVersion: 1, source: 'ec2-ami-state-change' }]);
    expect(await deps.store.getHead('us-east-1', 'web')).toMatchObject({ status: 'published', imageId: 'ami-1' });
  });

  it('never moves the parameter back when an older image arrives late', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-new', creationDate: '2026-11-02T00:00:00Z' });
    deps.images.add({ imageId: 'ami-old', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-new');
    const late = await publish(deps, 'ami-old');
    expect(late).toMatchObject({ outcome: 'skipped', reason: 'older-than-published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-new');
    expect(deps.parameters.versions.get(PARAM)).toHaveLength(1);
  });

  it('changes nothing when the same event is delivered twice', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    expect(await publish(deps, 'ami-1')).toMatchObject({ outcome: 'skipped', reason: 'duplicate' });
    expect(deps.parameters.versions.get(PARAM)).toHaveLength(1);
    expect(await deps.store.history('us-east-1', 'web')).toHaveLength(1);
  });

  it('skips images with no family, unknown images and failed images without writing anything', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-untagged', creationDate: '2026-11-01T00:00:00Z', tags: {} });
    deps.images.add({ imageId: 'ami-failed', creationDate: '2026-11-01T00:00:00Z', state: 'failed' });
    expect(await publish(deps, 'ami-untagged')).toMatchObject({ reason: 'no-family' });
    expect(await publish(deps, 'ami-gone')).toMatchObject({ reason: 'image-not-found' });
    expect(await publish(deps, 'ami-failed')).toMatchObject({ reason: 'not-available' });
    expect(deps.parameters.versions.size).toBe(0);
    expect(await deps.store.listHeads()).toEqual([]);
  });

  it('finishes a publication on retry when the first attempt died after claiming the family', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    deps.parameters.failNextPut = true;
    await expect(publish(deps, 'ami-1')).rejects.toThrow(/simulated crash/);
    expect(await deps.store.getHead('us-east-1', 'web')).toMatchObject({ status: 'pending' });
    expect(await publish(deps, 'ami-1')).toMatchObject({ outcome: 'published' });
    expect(deps.parameters.value(PARAM)).toBe('ami-1');
  });

  it('ends on the newest image under any interleaving of concurrent events', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const deps = setup(seeded(seed));
      const ids = ['ami-1', 'ami-2', 'ami-3', 'ami-4'];
      ids.forEach((imageId, i) => deps.images.add({ imageId, creationDate: `2026-11-0${i + 1}T00:00:00Z` }));
      // Every event delivered twice, all at once.
      await Promise.all([...ids, ...ids].map((id) => publish(deps, id)));
      expect(deps.parameters.value(PARAM), `seed ${seed}`).toBe('ami-4');
      expect(await deps.store.getHead('us-east-1', 'web'), `seed ${seed}`).toMatchObject({ imageId: 'ami-4', status: 'published' });
    }
  });
});

describe('noteDeregisteredImage', () => {
  it('flags the family whose published image was deregistered and records a warning', async () => {
    const deps = setup();
    deps.images.add({ imageId: 'ami-1', creationDate: '2026-11-01T00:00:00Z' });
    await publish(deps, 'ami-1');
    const affected = await noteDeregisteredImage(deps, { region: 'us-east-1', imageId: 'ami-1' });
    expect(affected).toHaveLength(1);
    expect(affected[0].warning).toMatch(/ami-1 was deregistered/);
    expect((await deps.store.history('us-east-1', 'web'))[0]).toMatchObject({ kind: 'warning', imageId: 'ami-1' });
  });

  it('ignores an image that no family publishes', async () => {
    const deps = setup();
    expect(await noteDeregisteredImage(deps, { region: 'us-east-1', imageId: 'ami-x' })).toEqual([]);
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
