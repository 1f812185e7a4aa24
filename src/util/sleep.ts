// Waiting that an AbortSignal cuts short: background loops sleep between
// attempts and must end at once when they are stopped.

/** Resolve after `ms`, or as soon as `signal` aborts. unref: the wait alone does not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal, o: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    if (o.unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
