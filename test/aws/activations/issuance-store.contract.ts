import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, type Issuance, type IssuanceStore } from '@opsauto/core';

export const issuance = (over: Partial<Issuance> = {}): Issuance => ({
  activationId: '11111111-1111-4111-8111-111111111111',
  tokenId: 'tok_aaaaaaaaaaaaaaaa',
  tokenName: 'rack-7',
  hostname: 'rack7-db-01',
  instanceName: 'rack7-db-01',
  region: 'us-east-1',
  expiresAt: '2027-01-02T01:00:00.000Z',
  issuedAt: '2027-01-02T00:00:00.000Z',
  sourceIp: '203.0.113.7',
  userAgent: 'curl/8.5.0',
  idempotencyKey: 'machine-id-1',
  ...over,
});

/** An activation id whose last digit is `n` (ids sort by it). */
const id = (n: number) => `11111111-1111-4111-8111-11111111111${n}`;

/** The behaviour every IssuanceStore must have; run against each implementation. */
export function issuanceStoreContract(name: string, makeStore: () => Promise<IssuanceStore>) {
  describe(`IssuanceStore contract: ${name}`, () => {
    let store: IssuanceStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('records an issuance once: recording the same activation again keeps the first record', async () => {
      // Act
      await store.record(issuance());
      await store.record(issuance({ hostname: 'rack7-other', sourceIp: '198.51.100.1' }));
      // Assess
      expect(await store.list()).toEqual([issuance()]);
    });

    it('finds the issuance of a token, hostname and idempotency key, and nothing for any other combination', async () => {
      // Prepare
      await store.record(issuance());
      await store.record(issuance({ activationId: id(2), hostname: 'rack7-db-02', idempotencyKey: 'machine-id-2' }));
      const noKey = issuance({ activationId: id(3), hostname: 'rack7-db-03' });
      delete noKey.idempotencyKey;
      await store.record(noKey);
      // Act / Assess
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toEqual(issuance());
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-02', 'machine-id-2')).toMatchObject({ activationId: id(2) });
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-02', 'machine-id-1')).toBeUndefined();
      expect(await store.findByIdempotencyKey('tok_bbbbbbbbbbbbbbbb', 'rack7-db-01', 'machine-id-1')).toBeUndefined();
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-03', '')).toBeUndefined();
    });

    it('keeps the first issuance of an idempotency key when a second activation records the same key', async () => {
      await store.record(issuance());
      await store.record(issuance({ activationId: id(2), issuedAt: '2027-01-02T00:00:01.000Z' }));
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toEqual(issuance());
      expect(await store.list()).toHaveLength(2);
    });

    it('keeps an attempt mark per token, hostname and key until the time it expires', async () => {
      await store.markAttempt('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1', '2027-01-02T01:00:00.000Z');
      expect(await store.attempted('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1', '2027-01-02T00:59:59.999Z')).toBe(true);
      expect(await store.attempted('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1', '2027-01-02T01:00:00.000Z')).toBe(false);
      expect(await store.attempted('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-2', '2027-01-02T00:00:00.000Z')).toBe(false);
      expect(await store.attempted('tok_aaaaaaaaaaaaaaaa', 'rack7-db-02', 'machine-id-1', '2027-01-02T00:00:00.000Z')).toBe(false);
      expect(await store.attempted('tok_bbbbbbbbbbbbbbbb', 'rack7-db-01', 'machine-id-1', '2027-01-02T00:00:00.000Z')).toBe(false);
      // A new mark for the key replaces the old one.
      await store.markAttempt('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1', '2027-01-03T01:00:00.000Z');
      expect(await store.attempted('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1', '2027-01-02T01:00:00.000Z')).toBe(true);
      expect(await store.list()).toEqual([]);
    });

    it('finds an issuance as updated since it was recorded', async () => {
      await store.record(issuance());
      await store.update(issuance().activationId, { managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-02T00:05:00.000Z' });
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toEqual(
        issuance({ managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-02T00:05:00.000Z' }),
      );
    });

    it("lists issuances newest first (ties by greater activation id), of every token or of one, up to the limit (100 without one)", async () => {
      // Prepare
      const at = (minute: number) => `2027-01-02T00:${String(minute).padStart(2, '0')}:00.000Z`;
      await store.record(issuance({ activationId: id(1), issuedAt: at(1) }));
      await store.record(issuance({ activationId: id(2), issuedAt: at(3), tokenId: 'tok_bbbbbbbbbbbbbbbb', idempotencyKey: 'k2' }));
      await store.record(issuance({ activationId: id(3), issuedAt: at(2), idempotencyKey: 'k3' }));
      await store.record(issuance({ activationId: id(4), issuedAt: at(2), idempotencyKey: 'k4' }));
      // Act / Assess
      expect((await store.list()).map((i) => i.activationId)).toEqual([id(2), id(4), id(3), id(1)]);
      expect((await store.list({ limit: 2 })).map((i) => i.activationId)).toEqual([id(2), id(4)]);
      expect((await store.list({ tokenId: 'tok_aaaaaaaaaaaaaaaa' })).map((i) => i.activationId)).toEqual([id(4), id(3), id(1)]);
      expect((await store.list({ tokenId: 'tok_aaaaaaaaaaaaaaaa', limit: 1 })).map((i) => i.activationId)).toEqual([id(4)]);
      expect(await store.list({ tokenId: 'tok_zzzzzzzzzzzzzzzz' })).toEqual([]);
    });

    it('lists at most 100 issuances without a limit', async () => {
      for (let i = 0; i < 105; i++) {
        await store.record(issuance({ activationId: `11111111-1111-4111-8111-${String(i).padStart(12, '0')}`, issuedAt: new Date(Date.parse('2027-01-02T00:00:00Z') + i * 1000).toISOString(), idempotencyKey: `k${i}` }));
      }
      const listed = await store.list();
      expect(listed).toHaveLength(100);
      expect(listed[0].activationId).toBe('11111111-1111-4111-8111-000000000104');
    });

    it('lists open issuances, soonest expiry first, until their activation is deleted', async () => {
      // Prepare
      await store.record(issuance({ activationId: id(1), expiresAt: '2027-01-02T03:00:00.000Z' }));
      await store.record(issuance({ activationId: id(2), expiresAt: '2027-01-02T01:00:00.000Z', idempotencyKey: 'k2' }));
      await store.record(issuance({ activationId: id(3), expiresAt: '2027-01-02T02:00:00.000Z', idempotencyKey: 'k3' }));
      // Act
      await store.update(id(3), { managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-02T00:10:00.000Z' });
      await store.update(id(2), { deletedAt: '2027-01-02T01:00:05.000Z', unregisteredReportedAt: '2027-01-02T01:00:05.000Z' });
      // Assess
      expect(await store.listOpen()).toEqual([
        issuance({ activationId: id(3), expiresAt: '2027-01-02T02:00:00.000Z', idempotencyKey: 'k3', managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-02T00:10:00.000Z' }),
        issuance({ activationId: id(1), expiresAt: '2027-01-02T03:00:00.000Z' }),
      ]);
      expect((await store.list()).find((i) => i.activationId === id(2))).toEqual(
        issuance({ activationId: id(2), expiresAt: '2027-01-02T01:00:00.000Z', idempotencyKey: 'k2', deletedAt: '2027-01-02T01:00:05.000Z', unregisteredReportedAt: '2027-01-02T01:00:05.000Z' }),
      );
    });

    it('moves the key to a replacement only from the issuance it replaces', async () => {
      // Prepare: the first issuance of the key, withdrawn; then a stranger that names another activation.
      await store.record(issuance());
      await store.update(id(1), { deletedAt: '2027-01-02T00:00:05.000Z' });
      // Act
      await store.replace(issuance({ activationId: id(2), issuedAt: '2027-01-02T00:00:06.000Z' }), id(1));
      await store.replace(issuance({ activationId: id(3), issuedAt: '2027-01-02T00:00:07.000Z' }), id(4));
      // Assess
      expect(await store.findByIdempotencyKey('tok_aaaaaaaaaaaaaaaa', 'rack7-db-01', 'machine-id-1')).toMatchObject({ activationId: id(2) });
      expect((await store.listOpen()).map((i) => i.activationId)).toEqual([id(2), id(3)]);
    });

    it('applies changes once: a second writer setting any of the same fields gets false and changes nothing', async () => {
      await store.record(issuance());
      const [a, b] = await Promise.all([
        store.updateOnce(id(1), { managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-02T00:05:00.000Z', deletedAt: '2027-01-02T00:05:00.000Z' }),
        store.updateOnce(id(1), { managedNodeId: 'mi-0123456789abcdef1', registeredAt: '2027-01-02T00:06:00.000Z', deletedAt: '2027-01-02T00:06:00.000Z' }),
      ]);
      expect([a, b].sort()).toEqual([false, true]);
      expect(await store.updateOnce(id(1), { deletedAt: '2027-01-03T00:00:00.000Z' })).toBe(false);
      expect(await store.updateOnce(id(1), { unregisteredReportedAt: '2027-01-03T00:00:00.000Z' })).toBe(true);
      const [one] = await store.list();
      // One writer's changes whole, never a mix of the two.
      const at = one.managedNodeId === 'mi-0123456789abcdef0' ? '2027-01-02T00:05:00.000Z' : '2027-01-02T00:06:00.000Z';
      expect(one).toMatchObject({ registeredAt: at, deletedAt: at, unregisteredReportedAt: '2027-01-03T00:00:00.000Z' });
      await expect(store.updateOnce(id(9), { deletedAt: '2027-01-02T01:00:00.000Z' })).rejects.toThrow(NotFoundError);
    });

    it('refuses to update an issuance that was never recorded, writing nothing', async () => {
      await expect(store.update(id(9), { deletedAt: '2027-01-02T01:00:00.000Z' })).rejects.toThrow(NotFoundError);
      expect(await store.list()).toEqual([]);
      expect(await store.listOpen()).toEqual([]);
    });
  });
}
