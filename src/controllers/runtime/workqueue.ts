// A work queue as Kubernetes controllers use it: a key is queued at most once,
// never processed by two workers at once, and re-queued with exponential
// back-off when its handler fails. Level-triggered: the key is all a worker
// gets; it reads the current state itself.
import { TimeSlice } from '../../util/time-slice.js';

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Idle workers, each waiting for a key (or stop). One slot per worker: a single slot would strand all but the last. */
  private readonly idle: Array<() => void> = [];
  private stopped = false;

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.idle.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  get length(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const wake of this.idle.splice(0)) wake();
  }

  /** Run `workers` loops until stop(). Errors re-queue the key with back-off (5 ms doubling to 30 s). */
  async run(handler: (key: string) => Promise<void>, onError: (key: string, err: unknown) => void, workers = 1): Promise<void> {
    const loop = async (): Promise<void> => {
      const slice = new TimeSlice();
      while (!this.stopped) {
        const key = this.queue.shift();
        if (key === undefined) {
          await new Promise<void>((resolve) => this.idle.push(resolve));
          slice.restart();
          continue;
        }
        this.queued.delete(key);
        this.processing.add(key);
        try {
          await handler(key);
          this.failures.delete(key);
        } catch (err) {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          onError(key, err);
          this.addAfter(key, Math.min(30_000, 5 * 2 ** Math.min(n, 13)));
        } finally {
          this.processing.delete(key);
          if (this.dirty.delete(key)) this.add(key);
        }
        // Syncs that write nothing settle in microtasks: without this a backlog would hold the API's requests.
        await slice.maybeYield();
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }
}
