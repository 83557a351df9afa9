import { mapBounded } from '@opsauto/core';
import { describe, expect, it } from 'vitest';

/** A promise the test settles by hand, so concurrency is observed without timers. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapBounded', () => {
  it('runs at most limit items at a time and answers results in the order of the items when they end out of order', async () => {
    // Prepare
    const gates = Array.from({ length: 5 }, () => deferred<string>());
    const started: number[] = [];
    let running = 0;
    let most = 0;
    // Act
    const all = mapBounded([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      try {
        return await gates[i].promise;
      } finally {
        running--;
      }
    });
    await settle();
    const startedFirst = [...started];
    gates[1].resolve('b');
    await settle();
    gates[0].resolve('a');
    gates[2].resolve('c');
    await settle();
    gates[4].resolve('e');
    gates[3].resolve('d');
    // Assess
    expect(await all).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(startedFirst).toEqual([0, 1]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('starts nothing more after a failure, waits for the running items, and throws the first failure', async () => {
    // Prepare
    const gates = Array.from({ length: 4 }, () => deferred<number>());
    const started: number[] = [];
    let runningEnded = false;
    // Act
    const all = mapBounded([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      const value = await gates[i].promise;
      if (i === 1) runningEnded = true;
      return value;
    });
    const outcome = all.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await settle();
    gates[0].reject(new Error('batch 0 failed'));
    await settle();
    const endedBeforeRunningOne = await Promise.race([outcome, settle().then(() => 'pending')]);
    gates[1].resolve(1);
    // Assess
    expect(endedBeforeRunningOne).toBe('pending');
    expect(await outcome).toEqual(new Error('batch 0 failed'));
    expect(runningEnded).toBe(true);
    expect(started).toEqual([0, 1]);
  });

  it('answers an empty list without calling work', async () => {
    // Act
    const out = await mapBounded([], 3, () => Promise.reject(new Error('called')));
    // Assess
    expect(out).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('throws a RangeError naming limit when limit is %s', async (limit) => {
    // Act
    const all = mapBounded([1], limit, (i) => Promise.resolve(i));
    // Assess
    await expect(all).rejects.toThrow(RangeError);
    await expect(all).rejects.toThrow(/^limit must be a whole number of at least 1/);
  });
});
