// Compaction keeps the store's history bounded: like the apiserver, every
// interval forget what is older than the revision seen one interval ago, so
// watches and list continuations get a window of history (then 410 Gone).
import type { Store } from '../store/store.js';
import type { Logger } from '../util/log.js';

export function startCompactor(store: Store, log: Logger, intervalMs = 5 * 60_000): { stop(): void } {
  let previous = 0;
  const timer = setInterval(() => {
    void (async () => {
      try {
        const now = await store.currentRevision();
        if (previous > 0) await store.compact(previous);
        previous = now;
      } catch (e) {
        log.warn('compaction failed', { error: (e as Error).message });
      }
    })();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
