/**
 * Bounded concurrency for independent asynchronous steps (opening or creating many partition
 * logs): the file system overlaps their fsyncs, and the bound keeps descriptors and memory in
 * check.
 */

/** Runs `fn` over `items` with at most `limit` in flight; rejects on the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
