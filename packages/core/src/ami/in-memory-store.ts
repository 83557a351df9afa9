import { ConcurrentUpdateError } from '../errors.js';
import { storedCopy } from '../stored-copy.js';
import type { FamilyHead, PublicationRecord } from './model.js';
import type { PublicationStore } from './ports.js';

/** PublicationStore in memory, with the same conditional-write semantics as the DynamoDB store. */
export class InMemoryPublicationStore implements PublicationStore {
  private readonly heads = new Map<string, FamilyHead>();
  private readonly records = new Map<string, PublicationRecord>();

  getHead(region: string, family: string): Promise<FamilyHead | undefined> {
    const head = this.heads.get(`${region}#${family}`);
    return Promise.resolve(head && structuredClone(head));
  }

  putHead(head: FamilyHead, expectedVersion: number | undefined): Promise<void> {
    const key = `${head.region}#${head.family}`;
    const stored = this.heads.get(key);
    if (stored?.version !== expectedVersion) {
      return Promise.reject(new ConcurrentUpdateError(`family ${head.family} in ${head.region} changed (expected version ${String(expectedVersion)}, found ${String(stored?.version)})`));
    }
    this.heads.set(key, storedCopy(head));
    return Promise.resolve();
  }

  deleteHead(region: string, family: string, expectedVersion: number): Promise<void> {
    const key = `${region}#${family}`;
    if (this.heads.get(key)?.version !== expectedVersion) {
      return Promise.reject(new ConcurrentUpdateError(`family ${family} in ${region} changed (expected version ${expectedVersion})`));
    }
    this.heads.delete(key);
    return Promise.resolve();
  }

  appendHistory(record: PublicationRecord): Promise<void> {
    const key = `${record.region}#${record.family}#${record.sequence}#${record.kind}`;
    if (!this.records.has(key)) this.records.set(key, storedCopy(record));
    return Promise.resolve();
  }

  history(region: string, family: string, limit = 100): Promise<PublicationRecord[]> {
    const list = [...this.records.values()]
      .filter((r) => r.region === region && r.family === family)
      .sort((a, b) => b.sequence - a.sequence)
      .slice(0, limit);
    return Promise.resolve(list.map((r) => structuredClone(r)));
  }

  listHeads(): Promise<FamilyHead[]> {
    return Promise.resolve([...this.heads.values()].map((h) => structuredClone(h)));
  }
}
