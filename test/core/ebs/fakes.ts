import { OpsItemLimitError, type OpsCenter, type StaleVolumeOpsItem, type VolumeInfo, type VolumeInventory } from '@opsauto/core';
import { jitter } from '../ami/fakes.js';

export class FakeInventory implements VolumeInventory {
  readonly volumes = new Map<string, VolumeInfo>();
  pageSize = 500;
  listCalls = 0;
  constructor(private readonly random: () => number = () => 0) {}

  add(v: Partial<VolumeInfo> & { volumeId: string }): VolumeInfo {
    const full: VolumeInfo = { account: '000000000000', region: 'us-east-1', availabilityZone: 'us-east-1a', sizeGiB: 100, type: 'gp3', createTime: '2025-01-01T00:00:00.000Z', state: 'available', attachedTo: [], tags: {}, ...v };
    this.volumes.set(full.volumeId, full);
    return full;
  }
  attach(volumeId: string, instanceId = 'i-0123456789abcdef0') {
    Object.assign(this.volumes.get(volumeId)!, { state: 'in-use', attachedTo: [instanceId] });
  }
  detach(volumeId: string) {
    Object.assign(this.volumes.get(volumeId)!, { state: 'available', attachedTo: [] });
  }
  async *listUnattached(account: string, region: string) {
    const all = [...this.volumes.values()].filter((v) => v.account === account && v.region === region && v.state === 'available');
    for (let i = 0; i < all.length; i += this.pageSize) {
      this.listCalls++;
      await jitter(this.random);
      yield all.slice(i, i + this.pageSize).map((v) => structuredClone(v));
    }
  }
  async describe(_account: string, _region: string, ids: string[]) {
    await jitter(this.random);
    return ids.flatMap((id) => (this.volumes.has(id) ? [structuredClone(this.volumes.get(id)!)] : []));
  }
}

/** OpsCenter with its real dedup rule: an Open/InProgress item with the same dedup string blocks a new one. */
export class FakeOpsCenter implements OpsCenter {
  readonly items = new Map<string, { item: StaleVolumeOpsItem; status: 'Open' | 'Resolved'; note?: string }>();
  createCalls = 0;
  limit = Infinity;
  /** Simulates a scan that dies right after OpsCenter created the item. */
  crashAfterNextCreate = false;
  private seq = 0;
  constructor(private readonly random: () => number = () => 0) {}

  async create(_account: string, _region: string, item: StaleVolumeOpsItem) {
    this.createCalls++;
    await jitter(this.random);
    const open = [...this.items.entries()].find(([, i]) => i.status === 'Open' && i.item.dedupString === item.dedupString);
    if (open) return { opsItemId: open[0], created: false };
    if ([...this.items.values()].filter((i) => i.status === 'Open').length >= this.limit) throw new OpsItemLimitError('open OpsItem limit reached');
    const id = `oi-${String(++this.seq).padStart(12, '0')}`;
    this.items.set(id, { item, status: 'Open' });
    if (this.crashAfterNextCreate) {
      this.crashAfterNextCreate = false;
      throw new Error('simulated crash after CreateOpsItem');
    }
    return { opsItemId: id, created: true };
  }
  async findOpen(_account: string, _region: string, dedupString: string) {
    await jitter(this.random);
    return [...this.items.entries()].find(([, i]) => i.status === 'Open' && i.item.dedupString === dedupString)?.[0];
  }
  async resolve(_account: string, _region: string, opsItemId: string, note: string) {
    await jitter(this.random);
    Object.assign(this.items.get(opsItemId)!, { status: 'Resolved', note });
  }
  open() {
    return [...this.items.values()].filter((i) => i.status === 'Open');
  }
}
