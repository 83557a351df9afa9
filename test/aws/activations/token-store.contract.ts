import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, type EnrollmentToken, type TokenStore } from '@opsauto/core';

export const token = (over: Partial<EnrollmentToken> = {}): EnrollmentToken => ({
  id: 'tok_aaaaaaaaaaaaaaaa',
  name: 'rack-7',
  secretHash: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',
  iamRole: 'opsauto-local-hybrid-node',
  namePrefix: 'rack7-',
  tags: { env: 'onprem', rack: '7' },
  maxUses: 3,
  uses: 0,
  createdAt: '2027-01-01T00:00:00.000Z',
  createdBy: 'cli',
  expiresAt: '2027-01-08T00:00:00.000Z',
  ...over,
});

const NOW = '2027-01-02T00:00:00.000Z';

/** The behaviour every TokenStore must have; run against each implementation. */
export function tokenStoreContract(name: string, makeStore: () => Promise<TokenStore>) {
  describe(`TokenStore contract: ${name}`, () => {
    let store: TokenStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('stores a token and reads it back as it was given, and refuses a second token with the same id', async () => {
      // Act
      await store.create(token());
      // Assess
      expect(await store.get(token().id)).toEqual(token());
      await expect(store.create(token({ name: 'other' }))).rejects.toThrow(ConflictError);
      expect(await store.get(token().id)).toEqual(token());
      expect(await store.get('tok_bbbbbbbbbbbbbbbb')).toBeUndefined();
    });

    it('keeps a token without a name prefix or tags as such', async () => {
      const bare = token({ id: 'tok_cccccccccccccccc', tags: {} });
      delete bare.namePrefix;
      await store.create(bare);
      expect(await store.get(bare.id)).toEqual(bare);
    });

    it('lists every token, newest first, ties by greater id first', async () => {
      // Prepare
      const a = token({ id: 'tok_aaaaaaaaaaaaaaaa', createdAt: '2027-01-01T00:00:00.000Z' });
      const b = token({ id: 'tok_bbbbbbbbbbbbbbbb', createdAt: '2027-01-03T00:00:00.000Z' });
      const c = token({ id: 'tok_cccccccccccccccc', createdAt: '2027-01-01T00:00:00.000Z' });
      for (const t of [a, b, c]) await store.create(t);
      // Act
      const listed = await store.list();
      // Assess
      expect(listed).toEqual([b, c, a]);
    });

    it('consumes uses one at a time up to maxUses, then refuses as exhausted without counting more', async () => {
      await store.create(token());
      for (let i = 1; i <= 3; i++) expect(await store.consumeUse(token().id, NOW)).toEqual({ ok: true, token: token({ uses: i }) });
      expect(await store.consumeUse(token().id, NOW)).toEqual({ ok: false, refusal: 'exhausted' });
      expect((await store.get(token().id))?.uses).toBe(3);
    });

    it('refuses a use of an expired token (at its expiry time too) and of a revoked one, saying which', async () => {
      await store.create(token());
      await store.create(token({ id: 'tok_bbbbbbbbbbbbbbbb' }));
      expect(await store.consumeUse(token().id, '2027-01-08T00:00:00.000Z')).toEqual({ ok: false, refusal: 'expired' });
      expect(await store.consumeUse(token().id, '2027-01-07T23:59:59.999Z')).toMatchObject({ ok: true });
      await store.revoke('tok_bbbbbbbbbbbbbbbb', NOW, 'arn:aws:iam::000000000000:user/alice');
      expect(await store.consumeUse('tok_bbbbbbbbbbbbbbbb', NOW)).toEqual({ ok: false, refusal: 'revoked' });
      expect((await store.get('tok_bbbbbbbbbbbbbbbb'))?.uses).toBe(0);
    });

    it('says revoked before expired and expired before exhausted', async () => {
      await store.create(token({ maxUses: 1, uses: 1 }));
      expect(await store.consumeUse(token().id, '2027-02-01T00:00:00.000Z')).toEqual({ ok: false, refusal: 'expired' });
      await store.revoke(token().id, NOW, 'cli');
      expect(await store.consumeUse(token().id, '2027-02-01T00:00:00.000Z')).toEqual({ ok: false, refusal: 'revoked' });
    });

    it('refuses a use of a token that does not exist as NotFoundError', async () => {
      await expect(store.consumeUse('tok_zzzzzzzzzzzzzzzz', NOW)).rejects.toThrow(NotFoundError);
    });

    it('gives exactly one of two racing requests the last use', async () => {
      // Prepare
      await store.create(token({ maxUses: 5, uses: 4 }));
      // Act
      const results = await Promise.all([store.consumeUse(token().id, NOW), store.consumeUse(token().id, NOW)]);
      // Assess
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, refusal: 'exhausted' }]);
      expect((await store.get(token().id))?.uses).toBe(5);
    });

    it('never spends more uses than the token has when many requests race', async () => {
      await store.create(token({ maxUses: 7 }));
      const results = await Promise.all(Array.from({ length: 20 }, () => store.consumeUse(token().id, NOW)));
      expect(results.filter((r) => r.ok)).toHaveLength(7);
      expect((await store.get(token().id))?.uses).toBe(7);
    });

    it('gives a use back, never below 0, and ignores a token that does not exist', async () => {
      await store.create(token({ maxUses: 1 }));
      await store.consumeUse(token().id, NOW);
      expect(await store.consumeUse(token().id, NOW)).toEqual({ ok: false, refusal: 'exhausted' });
      await store.releaseUse(token().id);
      expect((await store.get(token().id))?.uses).toBe(0);
      await store.releaseUse(token().id);
      expect((await store.get(token().id))?.uses).toBe(0);
      expect(await store.consumeUse(token().id, NOW)).toMatchObject({ ok: true, token: { uses: 1 } });
      await expect(store.releaseUse('tok_zzzzzzzzzzzzzzzz')).resolves.toBeUndefined();
      expect(await store.get('tok_zzzzzzzzzzzzzzzz')).toBeUndefined();
    });

    it('revokes once: a second revocation keeps the first time and operator; an unknown id is NotFoundError', async () => {
      await store.create(token());
      expect(await store.revoke(token().id, NOW, 'alice')).toEqual(token({ revokedAt: NOW, revokedBy: 'alice' }));
      expect(await store.revoke(token().id, '2027-01-03T00:00:00.000Z', 'bob')).toEqual(token({ revokedAt: NOW, revokedBy: 'alice' }));
      expect(await store.get(token().id)).toEqual(token({ revokedAt: NOW, revokedBy: 'alice' }));
      await expect(store.revoke('tok_zzzzzzzzzzzzzzzz', NOW, 'alice')).rejects.toThrow(NotFoundError);
      expect(await store.list()).toHaveLength(1);
    });
  });
}
