// Back-off for replacing a DaemonSet's failed Pods, per DaemonSet and node:
// a node that keeps failing its daemon (rejected by the agent, a crashing
// image that exits) must not be fed a new Pod in a hot loop. The delay
// doubles from 1 s to 15 min and starts over after a long quiet spell.
const INITIAL_MS = 1000;
const MAX_MS = 15 * 60_000;

interface Entry {
  delayMs: number;
  lastAt: number;
}

export class FailedPodBackoff {
  private readonly entries = new Map<string, Entry>();

  /** Milliseconds until a failed Pod of this key may be replaced; 0 when it may be now. */
  remaining(key: string, now: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lastAt + e.delayMs - now);
  }

  /** A failed Pod of this key is being replaced now: the next one waits longer. */
  next(key: string, now: number): void {
    const e = this.entries.get(key);
    const fresh = !e || now - e.lastAt > 2 * MAX_MS;
    this.entries.set(key, { delayMs: fresh ? INITIAL_MS : Math.min(e.delayMs * 2, MAX_MS), lastAt: now });
  }

  /** Entries quiet for long enough to have started over are dropped, so deleted DaemonSets and nodes do not pile up. */
  gc(now: number): void {
    for (const [k, e] of this.entries) if (now - e.lastAt > 2 * MAX_MS) this.entries.delete(k);
  }
}
