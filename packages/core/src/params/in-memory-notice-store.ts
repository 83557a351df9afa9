import type { ParameterSummary } from './deadlines.js';
import type { ExpiredParameterRecord, NoticeRecord, NoticeStore } from './ports.js';

/** NoticeStore in memory, with the DynamoDB store's claim semantics (tests, and the contract the store is held to). */
export class InMemoryNoticeStore implements NoticeStore {
  private readonly notices = new Map<string, NoticeRecord>();
  private readonly expired: ExpiredParameterRecord[] = [];
  private readonly seen = new Map<string, ParameterSummary>();
  private readonly digests = new Set<string>();

  claim(record: NoticeRecord): Promise<boolean> {
    if (this.notices.has(record.key)) return Promise.resolve(false);
    const pending: NoticeRecord = structuredClone({ ...record, status: 'pending' });
    delete pending.sentAt;
    delete pending.messageId;
    this.notices.set(record.key, pending);
    return Promise.resolve(true);
  }

  markSent(key: string, sent: { sentAt: string; messageId?: string }): Promise<void> {
    const record = this.notices.get(key);
    if (!record) return Promise.reject(new Error(`no notice ${key} was claimed`));
    this.notices.set(key, { ...record, status: 'sent', sentAt: sent.sentAt, ...(sent.messageId ? { messageId: sent.messageId } : {}) });
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    if (this.notices.get(key)?.status === 'pending') this.notices.delete(key);
    return Promise.resolve();
  }

  claimDigest(key: string): Promise<boolean> {
    if (this.digests.has(key)) return Promise.resolve(false);
    this.digests.add(key);
    return Promise.resolve(true);
  }

  releaseDigest(key: string): Promise<void> {
    this.digests.delete(key);
    return Promise.resolve();
  }

  firstExpiryNotice(parameter: string, expiresAt: string): Promise<NoticeRecord | undefined> {
    const sent = [...this.notices.values()].filter((n) => n.parameter === parameter && n.expiresAt === expiresAt && n.kind !== 'Escalation' && n.status === 'sent' && n.sentAt);
    sent.sort((a, b) => a.sentAt!.localeCompare(b.sentAt!) || a.key.localeCompare(b.key));
    return Promise.resolve(sent[0] && structuredClone(sent[0]));
  }

  list(options: { parameter?: string; limit?: number }): Promise<NoticeRecord[]> {
    const all = [...this.notices.values()].filter((n) => options.parameter === undefined || n.parameter === options.parameter);
    all.sort((a, b) => b.dueAt.localeCompare(a.dueAt) || b.key.localeCompare(a.key));
    return Promise.resolve(structuredClone(all.slice(0, options.limit ?? 100)));
  }

  recordExpired(record: ExpiredParameterRecord): Promise<void> {
    if (!this.expired.some((e) => e.parameter === record.parameter && e.deletedAt === record.deletedAt)) this.expired.push(structuredClone(record));
    return Promise.resolve();
  }

  listExpired(options: { limit?: number }): Promise<ExpiredParameterRecord[]> {
    const all = [...this.expired].sort((a, b) => b.deletedAt.localeCompare(a.deletedAt) || a.parameter.localeCompare(b.parameter));
    return Promise.resolve(structuredClone(all.slice(0, options.limit ?? 100)));
  }

  rememberParameter(parameter: ParameterSummary): Promise<void> {
    this.seen.set(parameter.name, structuredClone(parameter));
    return Promise.resolve();
  }

  lastSeen(parameter: string): Promise<ParameterSummary | undefined> {
    const p = this.seen.get(parameter);
    return Promise.resolve(p && structuredClone(p));
  }
}
