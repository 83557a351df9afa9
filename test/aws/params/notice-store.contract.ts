import { beforeEach, describe, expect, it } from 'vitest';
import type { ExpiredParameterRecord, NoticeRecord, NoticeStore, ParameterSummary } from '@opsauto/core';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications';

export const notice = (over: Partial<NoticeRecord> = {}): NoticeRecord => {
  const n = { parameter: '/db/password', kind: 'ExpirationNotification' as const, dueAt: '2027-02-14T00:00:00.000Z', ...over };
  return {
    key: `${n.parameter}#${n.kind}#${n.dueAt}`,
    policy: 'notify 15d before expiry',
    expiresAt: '2027-03-01T00:00:00.000Z',
    channel: TOPIC,
    status: 'pending',
    via: 'event',
    ...n,
  };
};

const summary: ParameterSummary = {
  name: '/db/password',
  type: 'SecureString',
  tier: 'Advanced',
  version: 3,
  lastModifiedDate: '2026-12-01T00:00:00.000Z',
  lastModifiedUser: 'arn:aws:iam::123456789012:user/alice',
  description: 'payments DB',
  policies: [
    { type: 'Expiration', expiresAt: '2027-03-01T00:00:00.000Z' },
    { type: 'NoChangeNotification', after: { amount: 30, unit: 'Days' } },
  ],
  tags: { team: 'payments', 'opsauto:notify-topic': TOPIC },
};

/** The behaviour every NoticeStore must have; run against each implementation. */
export function noticeStoreContract(name: string, makeStore: () => Promise<NoticeStore>) {
  describe(`NoticeStore contract: ${name}`, () => {
    let store: NoticeStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('claims a notice once: a second claim of the same key is refused, sent or not', async () => {
      expect(await store.claim(notice())).toBe(true);
      expect(await store.claim(notice({ via: 'sweep' }))).toBe(false);
      await store.markSent(notice().key, { sentAt: '2027-02-14T00:01:00.000Z', messageId: 'm-1' });
      expect(await store.claim(notice())).toBe(false);
      expect(await store.list({})).toEqual([{ ...notice(), status: 'sent', sentAt: '2027-02-14T00:01:00.000Z', messageId: 'm-1' }]);
    });

    it('writes a claim as pending whatever the record says of a send', async () => {
      await store.claim(notice({ status: 'sent', sentAt: '2027-01-01T00:00:00.000Z', messageId: 'x' }));
      expect(await store.list({})).toEqual([notice()]);
    });

    it('drops a pending claim on release, so that it can be claimed again, and never a sent notice', async () => {
      await store.claim(notice());
      await store.release(notice().key);
      expect(await store.list({})).toEqual([]);
      expect(await store.claim(notice())).toBe(true);
      await store.markSent(notice().key, { sentAt: '2027-02-14T00:01:00.000Z' });
      await store.release(notice().key);
      expect(await store.list({})).toMatchObject([{ key: notice().key, status: 'sent' }]);
    });

    it('claims a digest once until it is given back, and lists no digest among the notices', async () => {
      // Act / Assess
      const until = new Date('2027-03-08T07:00:00.000Z');
      expect(await store.claimDigest('run-1#topic#payments', until)).toBe(true);
      expect(await store.claimDigest('run-1#topic#payments', until)).toBe(false);
      expect(await store.claimDigest('run-1#topic#alice', until)).toBe(true);
      expect(await store.claimDigest('run-2#topic#payments', until)).toBe(true);
      await store.releaseDigest('run-1#topic#payments');
      expect(await store.claimDigest('run-1#topic#payments', until)).toBe(true);
      expect(await store.list({})).toEqual([]);
    });

    it('finds the first notice sent about an expiry, leaving out pending ones, escalations and other expiries', async () => {
      const early = notice({ dueAt: '2027-02-14T00:00:00.000Z' });
      const late = notice({ dueAt: '2027-02-27T00:00:00.000Z' });
      const other = notice({ dueAt: '2026-02-14T00:00:00.000Z', expiresAt: '2026-03-01T00:00:00.000Z' });
      const escalation = notice({ kind: 'Escalation', dueAt: '2027-03-01T00:00:00.000Z' });
      const pending = notice({ kind: 'Expiration', dueAt: '2027-03-01T00:00:00.000Z' });
      for (const n of [early, late, other, escalation, pending]) await store.claim(n);
      await store.markSent(late.key, { sentAt: '2027-02-27T00:00:00.000Z' });
      await store.markSent(early.key, { sentAt: '2027-02-14T00:00:00.000Z' });
      await store.markSent(other.key, { sentAt: '2026-02-14T00:00:00.000Z' });
      await store.markSent(escalation.key, { sentAt: '2027-01-01T00:00:00.000Z' });
      expect(await store.firstExpiryNotice('/db/password', '2027-03-01T00:00:00.000Z')).toMatchObject({ key: early.key, sentAt: '2027-02-14T00:00:00.000Z' });
      expect(await store.firstExpiryNotice('/db/other', '2027-03-01T00:00:00.000Z')).toBeUndefined();
    });

    it("lists notices newest due first, of every parameter or of one, up to the limit", async () => {
      const a = notice({ dueAt: '2027-02-14T00:00:00.000Z' });
      const b = notice({ parameter: '/app/key', kind: 'NoChangeNotification', dueAt: '2027-02-20T00:00:00.000Z' });
      const c = notice({ kind: 'Expiration', dueAt: '2027-03-01T00:00:00.000Z' });
      for (const n of [a, b, c]) await store.claim(n);
      expect((await store.list({})).map((n) => n.key)).toEqual([c.key, b.key, a.key]);
      expect((await store.list({ limit: 2 })).map((n) => n.key)).toEqual([c.key, b.key]);
      expect((await store.list({ parameter: '/db/password' })).map((n) => n.key)).toEqual([c.key, a.key]);
      expect((await store.list({ parameter: '/db/password', limit: 1 })).map((n) => n.key)).toEqual([c.key]);
      expect(await store.list({ parameter: '/nothing' })).toEqual([]);
    });

    it('records an expired parameter once per deletion and lists them newest first', async () => {
      const first: ExpiredParameterRecord = {
        parameter: '/db/password',
        deletedAt: '2027-03-01T00:07:00.000Z',
        policy: 'expires 2027-03-01T00:00:00.000Z',
        lastVersion: { type: 'SecureString', tier: 'Advanced', version: 3, lastModifiedDate: '2026-12-01T00:00:00.000Z', tags: { team: 'payments' } },
      };
      const second: ExpiredParameterRecord = { parameter: '/app/key', deletedAt: '2027-04-01T00:00:00.000Z', policy: 'expires 2027-04-01T00:00:00.000Z' };
      await store.recordExpired(first);
      await store.recordExpired({ ...first, policy: 'a redelivered event' });
      await store.recordExpired(second);
      expect(await store.listExpired({})).toEqual([second, first]);
      expect(await store.listExpired({ limit: 1 })).toEqual([second]);
    });

    it('remembers the last summary seen of a parameter, tags and policies included', async () => {
      expect(await store.lastSeen('/db/password')).toBeUndefined();
      await store.rememberParameter({ ...summary, version: 2 });
      await store.rememberParameter(summary);
      expect(await store.lastSeen('/db/password')).toEqual(summary);
    });
  });
}
