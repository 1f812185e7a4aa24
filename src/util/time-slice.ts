// Cooperative time slicing for background loops that share the API server's
// one event loop (controllers' work queues, the scheduler, informers). A loop
// whose steps settle in microtasks (a sync that writes nothing, a decision
// from the cache) never gives the poll phase a turn on its own: thousands of
// such steps in a row hold every HTTP request waiting. Each loop yields once
// it has run for its budget, so a request waits at most about one budget per
// busy loop, not for a whole backlog. While no request is being served the
// slices are longer: nothing waits, and every yield costs a turn.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** What a background loop may run before letting I/O in while requests wait: short enough for API latency. */
export const DEFAULT_SLICE_MS = 4;
/** …and while none does: each yield costs a turn of the loop, which throughput pays for. */
export const IDLE_SLICE_MS = 50;

/** Requests being served (not watches or streams): while any is, background loops keep to the short slice. */
let foreground = 0;

/** A request began; call the returned function once when it is done. */
export function beginForeground(): () => void {
  foreground++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    foreground--;
  };
}

export class TimeSlice {
  private start = performance.now();

  constructor(
    private readonly budgetMs = DEFAULT_SLICE_MS,
    private readonly idleBudgetMs = Math.max(budgetMs, IDLE_SLICE_MS),
  ) {}

  /** True once this slice has run for its budget (the short one while requests wait). */
  get due(): boolean {
    return performance.now() - this.start >= (foreground > 0 ? this.budgetMs : this.idleBudgetMs);
  }

  /** Yield to the event loop if the budget is spent; a new slice starts after. */
  async maybeYield(): Promise<void> {
    if (!this.due) return;
    await nextTurn();
    this.start = performance.now();
  }

  /** The loop waited for something real (the event loop ran meanwhile): start a new slice. */
  restart(): void {
    this.start = performance.now();
  }
}
