/** Running asynchronous work with at most N tasks at once, stopping cleanly at the first failure. */

/** The bounds of `--concurrency` and `publishConcurrency`. */
export const MIN_CONCURRENCY = 1;
export const MAX_CONCURRENCY = 64;
export const DEFAULT_CONCURRENCY = 8;

/**
 * Calls `fn` for every item with at most `limit` calls running at once,
 * started in item order; the results come back in item order. After the
 * first failure no further call starts; the calls already running are
 * awaited (so nothing is still writing when the caller learns of the
 * failure), then that first failure is thrown.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Runs tasks as mapBounded does. */
export async function runBounded(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  await mapBounded(tasks, limit, (task) => task());
}

/** Awaits every promise, then throws the first failure among them, if any (nothing is left running). */
export async function allSettledOrThrow(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  for (const result of await Promise.allSettled(promises)) if (result.status === 'rejected') throw result.reason;
}
