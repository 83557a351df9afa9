import type { ImageCatalog, ImageInfo, ImageParameter } from '@opsauto/core';

/** Yields to the event loop a random number of times, so concurrent use cases interleave differently. */
export const jitter = async (random: () => number) => {
  for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
};

/** The account the fakes play: `self` in DescribeImages' Owners. */
export const OWN_ACCOUNT = '000000000000';

/** EC2 images as DescribeImages answers them: by region, with an owner, filtered by `owners`. */
export class FakeImages implements ImageCatalog {
  readonly images = new Map<string, ImageInfo>();
  /** Every `owners` list the publisher asked with, to show it never asks without one. */
  readonly asked: (readonly string[])[] = [];
  constructor(private readonly random: () => number = () => 0) {}
  add(image: Partial<ImageInfo> & { imageId: string; creationDate: string }): ImageInfo {
    const full: ImageInfo = { region: 'us-east-1', name: image.imageId, state: 'available', tags: { 'opsauto:ami-family': 'web' }, ownerId: OWN_ACCOUNT, ...image };
    this.images.set(full.imageId, full);
    return full;
  }
  async describe(region: string, imageId: string, owners: readonly string[]) {
    await jitter(this.random);
    this.asked.push(owners);
    const image = this.images.get(imageId);
    if (image?.region !== region) return undefined;
    return owners.some((o) => (o === 'self' ? image.ownerId === OWN_ACCOUNT : o === image.ownerId)) ? image : undefined;
  }
  async ownerOf(region: string, imageId: string) {
    await jitter(this.random);
    const image = this.images.get(imageId);
    return image?.region === region ? image.ownerId : undefined;
  }
}

interface Version {
  version: number;
  value: string;
  labels: string[];
}

/**
 * Parameter Store as the publisher meets it: numbered versions (100 kept; the oldest is not dropped while it
 * has a label), aws:ec2:image values validated asynchronously (`checksBeforeVisible`), rejected images never
 * stored, and hooks to kill a writer around its put.
 */
export class FakeParameters implements ImageParameter {
  readonly versions = new Map<string, Version[]>();
  private readonly next = new Map<string, number>();
  private readonly pending = new Map<string, { value: string; checksLeft: number }>();
  puts = 0;
  /** Writes of these images are accepted and then dropped, as Parameter Store does for an image it rejects. */
  readonly rejected = new Set<string>();
  /** current() calls before a put becomes visible. */
  checksBeforeVisible = 0;
  /** Runs inside put before the value is stored (to let another writer overtake this one). */
  beforePut: ((imageId: string) => Promise<void>) | undefined;
  /** Throws after storing the value: the writer dies right after its write. */
  dieAfterPutOf: string | undefined;
  constructor(private readonly random: () => number = () => 0) {}

  async put(_region: string, name: string, imageId: string) {
    await jitter(this.random);
    const hook = this.beforePut;
    this.beforePut = undefined;
    await hook?.(imageId);
    this.puts++;
    const version = (this.next.get(name) ?? 0) + 1;
    this.next.set(name, version);
    if (!this.rejected.has(imageId)) {
      if (this.checksBeforeVisible > 0) this.pending.set(name, { value: imageId, checksLeft: this.checksBeforeVisible });
      else this.store(name, version, imageId);
    }
    if (this.dieAfterPutOf === imageId) {
      this.dieAfterPutOf = undefined;
      throw new Error(`simulated crash after writing ${imageId}`);
    }
    return version;
  }
  private store(name: string, version: number, value: string) {
    const list = this.versions.get(name) ?? [];
    if (list.length >= 100) {
      if (list[0].labels.length) throw Object.assign(new Error('ParameterMaxVersionLimitExceeded'), { name: 'ParameterMaxVersionLimitExceeded' });
      list.shift();
    }
    list.push({ version, value, labels: [] });
    this.versions.set(name, list);
  }
  async label(_region: string, name: string, version: number, labels: string[]) {
    await jitter(this.random);
    const list = this.versions.get(name) ?? [];
    const target = list.find((v) => v.version === version);
    if (!target) throw Object.assign(new Error(`ParameterVersionNotFound: ${version}`), { name: 'ParameterVersionNotFound' });
    for (const v of list) v.labels = v.labels.filter((l) => !labels.includes(l));
    target.labels.push(...labels);
  }
  async makeRoom(_region: string, name: string, currentVersion: number | undefined) {
    await jitter(this.random);
    const list = this.versions.get(name) ?? [];
    if (currentVersion !== undefined && list.length >= 100) list[0].labels = [];
  }
  async current(_region: string, name: string) {
    await jitter(this.random);
    const pending = this.pending.get(name);
    if (pending && --pending.checksLeft <= 0) {
      this.pending.delete(name);
      this.store(name, this.next.get(name)!, pending.value);
    }
    const last = this.versions.get(name)?.at(-1);
    return last ? { value: last.value, version: last.version } : undefined;
  }
  value(name: string) {
    return this.versions.get(name)?.at(-1)?.value;
  }
  count(name: string) {
    return this.versions.get(name)?.length ?? 0;
  }
}

/** A small seeded PRNG (mulberry32), so a failing interleaving can be replayed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
