// The scheduling queue, after kube-scheduler's: workloads waiting for a
// decision, highest priority first and in arrival order within a priority
// (active: kube-scheduler's PrioritySort); those that fit nowhere wait
// (unschedulable) until something changes in the cluster that could make
// them fit — a node added or changed, a workload gone — or a periodic flush,
// and never retry sooner than their back-off (1 s doubling to 10 s).
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10_000;
/** An unschedulable workload is looked at again at least this often, whatever happens. */
const FLUSH_MS = 30_000;

/** One waiting workload in the active heap: higher priority first, then earlier arrival. */
interface Entry {
  key: string;
  priority: number;
  seq: number;
}

const before = (a: Entry, b: Entry): boolean => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

export class SchedulingQueue {
  /** A binary heap ordered by `before`. */
  private readonly active: Entry[] = [];
  private seq = 0;
  private readonly activeSet = new Set<string>();
  private readonly unschedulable = new Map<string, number>(); // key → when it failed
  private readonly attempts = new Map<string, number>();
  private readonly backoffTimers = new Map<string, NodeJS.Timeout>();
  private readonly waiting: Array<() => void> = [];
  private readonly flush: NodeJS.Timeout;
  private stopped = false;

  /** priorityOf: a workload's priority by its key (0 when not given or unknown). */
  constructor(private readonly priorityOf: (key: string) => number = () => 0) {
    this.flush = setInterval(() => this.moveAllToActive(), FLUSH_MS);
    this.flush.unref();
  }

  /** A new or changed workload that needs a decision. */
  add(key: string): void {
    if (this.stopped || this.activeSet.has(key) || this.backoffTimers.has(key)) return;
    // A change to the workload itself is worth a new try (as kube-scheduler does on a Pod update), within its back-off.
    if (this.unschedulable.delete(key)) return this.afterBackoff(key);
    this.push(key);
  }

  /** It fits nowhere now: wait for a cluster change. */
  addUnschedulable(key: string): void {
    if (this.stopped) return;
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    this.unschedulable.set(key, Date.now());
  }

  /** Its binding failed for a passing reason: try again after its back-off. */
  retry(key: string): void {
    if (this.stopped) return;
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    this.afterBackoff(key);
  }

  /** Placed (or gone): forget its history. */
  done(key: string): void {
    this.attempts.delete(key);
    this.unschedulable.delete(key);
    const t = this.backoffTimers.get(key);
    if (t) clearTimeout(t);
    this.backoffTimers.delete(key);
  }

  /** Something changed that could make the unschedulable fit. */
  moveAllToActive(): void {
    const keys = [...this.unschedulable.keys()];
    this.unschedulable.clear();
    for (const key of keys) this.afterBackoff(key);
  }

  /** The next workload to decide on, or undefined once stopped. */
  async pop(): Promise<string | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const key = this.shift();
      if (key !== undefined) {
        this.activeSet.delete(key);
        return key;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.flush);
    for (const t of this.backoffTimers.values()) clearTimeout(t);
    this.backoffTimers.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private backoffMs(key: string): number {
    const n = this.attempts.get(key) ?? 0;
    if (n === 0) return 0;
    return Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** (n - 1));
  }

  private afterBackoff(key: string): void {
    if (this.activeSet.has(key) || this.backoffTimers.has(key)) return;
    const wait = this.backoffMs(key);
    if (wait <= 0) return this.push(key);
    const t = setTimeout(() => {
      this.backoffTimers.delete(key);
      this.push(key);
    }, wait);
    t.unref();
    this.backoffTimers.set(key, t);
  }

  private push(key: string): void {
    if (this.stopped || this.activeSet.has(key)) return;
    this.activeSet.add(key);
    const h = this.active;
    h.push({ key, priority: this.priorityOf(key), seq: this.seq++ });
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
    this.waiting.shift()?.();
  }

  /** Take the first of the heap. */
  private shift(): string | undefined {
    const h = this.active;
    const top = h[0];
    if (!top) return undefined;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top.key;
  }
}
