// client-go's EventSourceObjectSpamFilter: a token bucket per reporting
// source and involved object, so one object that keeps failing (a Pod in a
// crash loop, a ReplicaSet whose template is rejected) costs at most a burst
// of writes and then one every refill period, however often it is reported.
// The buckets are kept for the most recently used keys only.

export interface SpamFilterOptions {
  /** Tokens a fresh bucket holds (client-go: 25). */
  burst: number;
  /** One token comes back this often (client-go: every 5 minutes). */
  refillMs: number;
  /** Buckets kept, least recently used dropped first (client-go: 4096). */
  maxKeys: number;
}

export const DEFAULT_SPAM_FILTER: SpamFilterOptions = { burst: 25, refillMs: 5 * 60_000, maxKeys: 4096 };

interface Bucket {
  tokens: number;
  at: number;
}

export class SpamFilter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly o: SpamFilterOptions = DEFAULT_SPAM_FILTER) {}

  /** Takes a token for key if it has one; false: drop this event. */
  allow(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      const refilled = Math.floor((now - b.at) / this.o.refillMs);
      if (refilled > 0) b = { tokens: Math.min(this.o.burst, b.tokens + refilled), at: b.at + refilled * this.o.refillMs };
      if (b.tokens >= this.o.burst) b.at = now;
    } else {
      b = { tokens: this.o.burst, at: now };
    }
    // Map order is insertion order: re-inserting makes this key the most recently used.
    this.buckets.set(key, b);
    if (this.buckets.size > this.o.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }
}
