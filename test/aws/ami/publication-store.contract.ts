import { beforeEach, describe, expect, it } from 'vitest';
import { ConcurrentUpdateError, type FamilyHead, type PublicationRecord, type PublicationStore } from '@opsauto/core';

export const head = (over: Partial<FamilyHead> = {}): FamilyHead => ({
  region: 'us-east-1',
  family: 'web',
  parameterName: '/opsauto/ami/web/latest',
  imageId: 'ami-1',
  creationDate: '2026-11-01T00:00:00.000Z',
  highWaterImageId: 'ami-1',
  highWaterCreationDate: '2026-11-01T00:00:00.000Z',
  status: 'pending',
  kind: 'publish',
  updatedAt: '2026-11-22T00:00:00.000Z',
  version: 1,
  ...over,
});

const record = (over: Partial<PublicationRecord> = {}): PublicationRecord => ({
  region: 'us-east-1',
  family: 'web',
  sequence: 1,
  kind: 'publish',
  imageId: 'ami-1',
  parameterName: '/opsauto/ami/web/latest',
  parameterVersion: 1,
  at: '2026-11-22T00:00:00.000Z',
  source: 'ec2-ami-state-change',
  ...over,
});

/** The behaviour every PublicationStore must have; run against each implementation. */
export function publicationStoreContract(name: string, makeStore: () => Promise<PublicationStore>) {
  describe(`PublicationStore contract: ${name}`, () => {
    let store: PublicationStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('returns no head for a family never written', async () => {
      expect(await store.getHead('us-east-1', 'web')).toBeUndefined();
    });

    it('creates a head only when none exists', async () => {
      await store.putHead(head(), undefined);
      expect(await store.getHead('us-east-1', 'web')).toEqual(head());
      await expect(store.putHead(head({ imageId: 'ami-2' }), undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
      expect((await store.getHead('us-east-1', 'web'))?.imageId).toBe('ami-1');
    });

    it('updates a head only at the expected version', async () => {
      await store.putHead(head(), undefined);
      await store.putHead(head({ version: 2, status: 'published', parameterVersion: 3 }), 1);
      await expect(store.putHead(head({ version: 3, imageId: 'ami-x' }), 1)).rejects.toBeInstanceOf(ConcurrentUpdateError);
      expect(await store.getHead('us-east-1', 'web')).toEqual(head({ version: 2, status: 'published', parameterVersion: 3 }));
    });

    it('keeps every optional field of a head through a write and a read', async () => {
      const full = head({
        imageName: 'web-2026-11-22',
        parameterVersion: 4,
        previous: { imageId: 'ami-0', creationDate: '2026-10-01T00:00:00.000Z', highWaterImageId: 'ami-0', highWaterCreationDate: '2026-10-01T00:00:00.000Z', kind: 'publish', imageName: 'web-old', parameterVersion: 3 },
        putBy: 'writer-1',
        putAt: '2026-11-22T00:00:01.000Z',
        warning: 'image ami-1 was deregistered',
        warningImageId: 'ami-1',
      });
      await store.putHead(full, undefined);
      expect(await store.getHead('us-east-1', 'web')).toEqual(full);
    });

    it('deletes a head only at the expected version', async () => {
      await store.putHead(head(), undefined);
      await expect(store.deleteHead('us-east-1', 'web', 7)).rejects.toBeInstanceOf(ConcurrentUpdateError);
      await store.deleteHead('us-east-1', 'web', 1);
      expect(await store.getHead('us-east-1', 'web')).toBeUndefined();
    });

    it('keeps the first of two history records written for the same sequence and kind', async () => {
      await store.appendHistory(record({ sequence: 2, source: 'ec2-ami-state-change' }));
      await store.appendHistory(record({ sequence: 2, source: 'image-builder' }));
      expect(await store.history('us-east-1', 'web')).toEqual([record({ sequence: 2, source: 'ec2-ami-state-change' })]);
    });

    it('clears an optional field that the new head leaves out', async () => {
      await store.putHead(head({ warning: 'image deregistered', warningImageId: 'ami-1', putBy: 'w', putAt: '2026-11-22T00:00:00.000Z' }), undefined);
      await store.putHead(head({ version: 2 }), 1);
      const stored = await store.getHead('us-east-1', 'web');
      for (const key of ['warning', 'warningImageId', 'putBy', 'putAt']) expect(stored).not.toHaveProperty(key);
    });

    it('keeps history newest first and writes the same record once however often it is appended', async () => {
      await store.appendHistory(record({ sequence: 1 }));
      await store.appendHistory(record({ sequence: 3, imageId: 'ami-2' }));
      await store.appendHistory(record({ sequence: 3, imageId: 'ami-2' }));
      await store.appendHistory(record({ sequence: 4, kind: 'warning', imageId: 'ami-2', parameterVersion: undefined, note: 'gone' }));
      await store.appendHistory(record({ family: 'db', sequence: 9 }));
      const history = await store.history('us-east-1', 'web');
      expect(history.map((r) => [r.sequence, r.kind])).toEqual([
        [4, 'warning'],
        [3, 'publish'],
        [1, 'publish'],
      ]);
      expect(history[0]).toEqual(record({ sequence: 4, kind: 'warning', imageId: 'ami-2', parameterVersion: undefined, note: 'gone' }));
      expect(await store.history('us-east-1', 'web', 1)).toHaveLength(1);
    });

    it('lists the heads of every family in every region', async () => {
      await store.putHead(head(), undefined);
      await store.putHead(head({ family: 'db' }), undefined);
      await store.putHead(head({ region: 'eu-west-1' }), undefined);
      const heads = await store.listHeads();
      expect(heads.map((h) => `${h.region}/${h.family}`).sort()).toEqual(['eu-west-1/web', 'us-east-1/db', 'us-east-1/web']);
    });
  });
}
