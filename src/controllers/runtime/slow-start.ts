// Kubernetes' slowStartBatch: run `n` creations in batches of 1, 2, 4, …,
// stopping at the first batch with a failure, so a failing template costs
// one error, not n. Creations of a batch run concurrently (their writes
// share group commits), but are launched in time slices: each runs
// admission and encoding before its first await, and 500 of those in one
// go would hold the API's requests for all of them.
import { TimeSlice } from '../../util/time-slice.js';

export async function slowStart(n: number, create: (i: number) => Promise<void>): Promise<{ created: number; error?: Error }> {
  let done = 0;
  const slice = new TimeSlice();
  for (let batch = 1; done < n; batch *= 2) {
    const size = Math.min(batch, n - done);
    // Each outcome is caught at once: a rejection left unobserved across a yield would be an unhandled one.
    const running: Array<Promise<{ error?: Error }>> = [];
    for (let j = 0; j < size; j++) {
      running.push(create(done + j).then(() => ({}), (error: unknown) => ({ error: error as Error })));
      await slice.maybeYield();
    }
    const results = await Promise.all(running);
    slice.restart();
    const failed = results.find((r) => r.error);
    done += results.filter((r) => !r.error).length;
    if (failed) return { created: done, error: failed.error };
  }
  return { created: done };
}
