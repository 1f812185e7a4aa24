// A bound on requests in flight: hollow nodes speak for hundreds or thousands
// of nodes from one process, and firing all their writes at once would queue
// them in the HTTP pool (or the API server) instead of here, where the order
// and the count are ours to decide.
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly maxInFlight: number) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new Error(`maxInFlight must be a whole number ≥ 1, not ${maxInFlight}`);
  }

  /** Run `fn` once fewer than maxInFlight others run; resolves or rejects as it does. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so a newcomer can never slip in between.
    if (this.running >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** fn over every item, at most maxInFlight at once; settles when all have (the first failure is thrown after). */
  async all<I>(items: Iterable<I>, fn: (item: I) => Promise<void>): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(Array.from(items, (item) => this.run(() => fn(item)).catch((e: unknown) => void errors.push(e))));
    if (errors.length) throw errors[0];
  }
}
