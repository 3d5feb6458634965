// Runs one async task per item, at most `limit` at once: parallel enough that one slow answer does not hold up the
// rest, bounded so a long list does not burst an outside service's limits.

/** Resolves when every task has settled; a task's rejection is the caller's to catch inside `task`. */
export async function boundedAll<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const pending = [...items];
  const worker = async () => {
    for (let item = pending.shift(); item !== undefined; item = pending.shift()) await task(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, pending.length)) }, worker));
}
