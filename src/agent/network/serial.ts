// Runs operations on the same key one after another, within this process:
// two ensures of one bridge (or two allocations from one IPAM file) racing
// would otherwise both see "missing" and both create.
const tails = new Map<string, Promise<unknown>>();

export function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = tails.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  // Keep the chain going whether fn fails or not, and drop the key once idle so the map does not grow with every owner seen.
  const tail = next.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return next;
}
