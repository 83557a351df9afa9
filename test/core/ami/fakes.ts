import type { ImageCatalog, ImageInfo, ImageParameter } from '@opsauto/core';

/** Yields to the event loop a random number of times, so concurrent use cases interleave differently. */
export const jitter = async (random: () => number) => {
  for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
};

export class FakeImages implements ImageCatalog {
  readonly images = new Map<string, ImageInfo>();
  constructor(private readonly random: () => number = () => 0) {}
  add(image: Partial<ImageInfo> & { imageId: string; creationDate: string }): ImageInfo {
    const full: ImageInfo = { region: 'us-east-1', name: image.imageId, state: 'available', tags: { 'opsauto:ami-family': 'web' }, ...image };
    this.images.set(full.imageId, full);
    return full;
  }
  async describe(_region: string, imageId: string) {
    await jitter(this.random);
    return this.images.get(imageId);
  }
}

export class FakeParameters implements ImageParameter {
  readonly versions = new Map<string, { value: string; labels: string[] }[]>();
  failNextPut = false;
  constructor(private readonly random: () => number = () => 0) {}
  async put(_region: string, name: string, imageId: string) {
    await jitter(this.random);
    if (this.failNextPut) {
      this.failNextPut = false;
      throw new Error('simulated crash during PutParameter');
    }
    const list = this.versions.get(name) ?? [];
    list.push({ value: imageId, labels: [] });
    this.versions.set(name, list);
    return list.length;
  }
  async label(_region: string, name: string, version: number, labels: string[]) {
    await jitter(this.random);
    const list = this.versions.get(name)!;
    for (const v of list) v.labels = v.labels.filter((l) => !labels.includes(l));
    list[version - 1].labels.push(...labels);
  }
  async current(_region: string, name: string) {
    await jitter(this.random);
    const list = this.versions.get(name);
    return list?.length ? { value: list.at(-1)!.value, version: list.length } : undefined;
  }
  value(name: string) {
    return this.versions.get(name)?.at(-1)?.value;
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
