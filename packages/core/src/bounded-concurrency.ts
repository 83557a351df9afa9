/**
 * Runs `work` over `items` with at most `limit` running at a time, starting them in order, and answers their
 * results in the items' order (p-limit's `Promise.all(items.map((i) => limit(() => work(i))))`, without the
 * dependency).
 *
 * When a `work` fails, no further item starts; the ones already running are awaited (nothing is left running
 * behind the caller's back) and the first failure is thrown.
 *
 * @throws RangeError when `limit` is not a whole number of at least 1; else the first failure of `work`.
 * @example
 * const pages = await mapBounded(regions, 4, (region) => describeVolumes(region));
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number of at least 1, not ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
