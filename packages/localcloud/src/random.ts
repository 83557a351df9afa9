/**
 * A small, fast, seedable PRNG (mulberry32; uniform in [0, 1)): generated fleets, injected faults and benchmark
 * storms are the same run after run for one seed.
 *
 * @example
 * const random = mulberry32(1414);
 * random(); // 0.…, the same first value for seed 1414 every time
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
