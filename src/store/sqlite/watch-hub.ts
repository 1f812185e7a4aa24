// Watches for the SQLite store: one event pump per store, fanned out to
// watchers by prefix.
//
// The pump reads log rows newer than `pumped` right after each local commit
// (batched in a microtask, so a burst of writes costs one read) and, while
// anyone watches, polls PRAGMA data_version to notice commits made by other
// connections or processes on the same file.
//
// A watcher has two modes. Catching up, it reads the log itself, a page at a
// time and only as fast as its consumer asks, from `position` (the last
// revision it has covered). Once a read reaches the head of the log it turns
// live and the pump feeds it. Each watcher drops pump events at or below its
// position, so the hand-over has neither gap (the pump delivers everything
// above `pumped`, and a catch-up read always ends at or above `pumped`) nor
// duplicate.
//
// Slow consumers: a live watcher buffers at most `bufferLimit` events. When it
// is full, the watcher leaves the live feed and goes back to catching up from
// the log where its buffer ends. Memory stays bounded, the pump never waits,
// and nothing is lost; a watcher that falls behind a compaction ends with
// CompactedError, which the API turns into 410 Gone and clients re-list.
import { CompactedError, StoreError, type StoreEvent, type StoreProgress, type WatchOptions } from '../store.js';
import type { KeyRange } from './keys.js';
import { toEvent, type LogRow } from './statements.js';

/** The reads the hub needs; each is one consistent snapshot. */
export interface LogReader {
  /** Rows with revision > after, oldest first, at most `limit`, and the compacted revision. */
  since(after: number, limit: number): { rows: LogRow[]; compacted: number };
  /**
   * Rows in `range` with after < revision <= upTo, oldest first, at most
   * `limit`, where upTo = min(head, after + window).
   */
  window(after: number, window: number, range: KeyRange, limit: number): {
    rows: LogRow[];
    upTo: number;
    head: number;
    compacted: number;
  };
  /** Changes whenever another connection commits to the file. */
  dataVersion(): number;
}

export interface WatchHubOptions {
  /** Events a live watcher may hold before it falls back to reading the log. */
  bufferLimit: number;
  /** How often to look for commits by other connections. */
  pollIntervalMs: number;
}

const PUMP_PAGE = 1000;
const CATCH_UP_PAGE = 500;
/** Revisions scanned per catch-up read: bounds one read's cost for a narrow prefix far behind. */
const CATCH_UP_WINDOW = 20000;
/** Catch-up reads per next() before yielding the event loop to others. */
const CATCH_UP_READS_PER_TURN = 8;

export class WatchHub {
  /** Every log row at or below this was offered to every live watcher. */
  private pumped: number;
  private readonly live = new Map<string, Set<Watcher>>();
  private liveCount = 0;
  private readonly watchers = new Set<Watcher>();
  private pumpQueued = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastDataVersion = 0;
  /** Watchers blocked in next(); while any are, the poll timer keeps the process alive. */
  private blocked = 0;
  private closed = false;

  constructor(
    private readonly reader: LogReader,
    head: number,
    private readonly options: WatchHubOptions,
  ) {
    this.pumped = head;
  }

  open(prefix: string, range: KeyRange, fromRevision: number, options: WatchOptions): Watcher {
    const w = new Watcher(this, this.reader, prefix, range, fromRevision, options);
    if (this.closed) w.end();
    else this.watchers.add(w);
    return w;
  }

  /** Rows this process just committed, in commit order: the pump uses them instead of reading them back. */
  private committed: LogRow[] = [];

  /** A local transaction committed: pump once the current burst of writes is done. */
  notifyCommit(row?: LogRow): void {
    if (this.liveCount === 0) return;
    if (row) this.committed.push(row);
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /**
   * Read every committed row newer than `pumped` and offer it to live
   * watchers. Runs from microtasks and timers, so it never throws: a failed
   * read ends the live watchers with the error (their consumers re-watch).
   */
  pump(): void {
    if (this.closed || this.liveCount === 0) return;
    try {
      this.pumpRows();
    } catch (err) {
      const error = Object.assign(
        new StoreError(`sqlite watch: reading the log after revision ${this.pumped} failed: ${(err as Error).message}`),
        { cause: err },
      );
      for (const set of [...this.live.values()]) for (const w of [...set]) w.end(error);
    }
  }

  private pumpRows(): void {
    // Fast path: this process's own commits follow on from `pumped` with no
    // gap, so no other writer interleaved and they are exactly the log's next
    // rows. Any gap (another process wrote) falls back to reading the log.
    const local = this.committed;
    this.committed = [];
    if (local.length && local[0].revision === this.pumped + 1 && local.every((r, i) => r.revision === local[0].revision + i)) {
      this.offerRows(local);
      return;
    }
    for (;;) {
      const { rows, compacted } = this.reader.since(this.pumped, PUMP_PAGE);
      if (compacted > this.pumped) {
        // Another process compacted past rows this process never read; live
        // watchers that had not covered them may have missed events.
        for (const set of this.live.values()) {
          for (const w of set) {
            if (w.position < compacted) w.end(w.compactedError(compacted));
          }
        }
        this.pumped = compacted;
      }
      this.offerRows(rows);
      if (rows.length < PUMP_PAGE || this.liveCount === 0) return;
    }
  }

  private offerRows(rows: LogRow[]): void {
    for (const row of rows) {
      if (row.revision <= this.pumped) continue;
      const event = Object.freeze(toEvent(row));
      for (const [prefix, set] of this.live) {
        if (!row.key.startsWith(prefix)) continue;
        for (const w of set) w.offer(event);
      }
      this.pumped = row.revision;
    }
  }

  /** `w` has covered everything up to `head` (the log's head when it read). */
  goLive(w: Watcher, head: number): void {
    // With nobody live, "offered to every live watcher" holds for any revision
    // that was committed, so skip the pump past what w already read.
    if (this.liveCount === 0) this.pumped = Math.max(this.pumped, head);
    let set = this.live.get(w.prefix);
    if (!set) this.live.set(w.prefix, (set = new Set()));
    set.add(w);
    this.liveCount++;
    if (this.liveCount === 1) this.startPolling();
  }

  leaveLive(w: Watcher): void {
    const set = this.live.get(w.prefix);
    if (!set?.delete(w)) return;
    if (set.size === 0) this.live.delete(w.prefix);
    this.liveCount--;
    if (this.liveCount === 0) this.stopPolling();
  }

  forget(w: Watcher): void {
    this.leaveLive(w);
    this.watchers.delete(w);
  }

  /** Revision up to which a live watcher has seen everything (for progress events). */
  get pumpedRevision(): number {
    return this.pumped;
  }

  setBlocked(delta: 1 | -1): void {
    this.blocked += delta;
    if (this.blocked === 0) this.pollTimer?.unref();
    else if (this.blocked === 1 && delta === 1) this.pollTimer?.ref();
  }

  get bufferLimit(): number {
    return this.options.bufferLimit;
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watchers]) w.end();
    this.stopPolling();
  }

  private startPolling(): void {
    this.lastDataVersion = this.reader.dataVersion();
    this.pollTimer = setInterval(() => {
      const version = this.reader.dataVersion();
      if (version === this.lastDataVersion) return;
      this.lastDataVersion = version;
      this.pump();
    }, this.options.pollIntervalMs);
    // An idle store must not keep the process alive; a consumer blocked on
    // next() does, the way a pending socket read does (see setBlocked).
    if (this.blocked === 0) this.pollTimer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }
}

type Item = StoreEvent | StoreProgress;

// Events are frozen: the pump hands one object to every watcher of a prefix.

/** One watch: an async iterator over events after `position`. */
export class Watcher implements AsyncIterableIterator<Item> {
  /** Everything under the prefix with revision <= position is in the queue or was yielded. */
  position: number;
  private queue: StoreEvent[] = [];
  private head = 0; // index of the next event in queue (avoids O(n) shift)
  private live = false;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastYield = Date.now();
  private readonly onAbort = (): void => this.end();

  constructor(
    private readonly hub: WatchHub,
    private readonly reader: LogReader,
    readonly prefix: string,
    private readonly range: KeyRange,
    fromRevision: number,
    private readonly options: WatchOptions,
  ) {
    this.position = fromRevision;
    if (options.signal?.aborted) this.ended = true;
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Item>> {
    // for-await never overlaps calls, but a hand-written consumer may.
    const result = this.chain.then(() => this.step());
    this.chain = result.catch(() => undefined);
    return result;
  }

  return(): Promise<IteratorResult<Item>> {
    // Not chained: it must interrupt a next() that is waiting for events.
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Called by the pump while live. */
  offer(event: StoreEvent): void {
    if (event.revision <= this.position) return; // already read during catch-up
    if (this.queue.length - this.head >= this.hub.bufferLimit) {
      // Too far behind: stop buffering, re-read from the log when drained.
      // The pump offers rows in order, so every row below this one was
      // already queued or was not under the prefix.
      this.position = event.revision - 1;
      this.live = false;
      this.hub.leaveLive(this);
      return;
    }
    this.queue.push(event);
    this.position = event.revision;
    this.wakeUp();
  }

  /** Ends the watch; with an error, the next next() rejects with it (after buffered events). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.live = false;
    this.hub.forget(this);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.wakeUp();
  }

  compactedError(compacted: number): CompactedError {
    return new CompactedError(
      `watch ${JSON.stringify(this.prefix)} from revision ${this.position}: history up to revision ${compacted} was compacted`,
      compacted,
    );
  }

  private async step(): Promise<IteratorResult<Item>> {
    for (;;) {
      if (this.head < this.queue.length) return this.yieldEvent();
      if (this.error) {
        const error = this.error;
        this.error = undefined;
        throw error;
      }
      if (this.ended) return { done: true, value: undefined };
      if (!this.live) {
        await this.catchUp();
        continue;
      }
      if (await this.waitForWork()) continue;
      // Idle for the progress interval. Pump first so the progress revision
      // is as fresh as possible and never overtakes an undelivered event.
      this.hub.pump();
      if (this.head < this.queue.length || this.ended || !this.live) continue;
      this.lastYield = Date.now();
      return { done: false, value: { type: 'PROGRESS', revision: Math.max(this.position, this.hub.pumpedRevision) } };
    }
  }

  private yieldEvent(): IteratorResult<Item> {
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.lastYield = Date.now();
    return { done: false, value: event };
  }

  /** Read the log until something is queued or the watcher reaches the head and goes live. */
  private async catchUp(): Promise<void> {
    for (let reads = 0; ; reads++) {
      if (reads === CATCH_UP_READS_PER_TURN) {
        reads = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.ended) return;
      }
      const page = this.reader.window(this.position, CATCH_UP_WINDOW, this.range, CATCH_UP_PAGE);
      if (page.compacted > this.position) {
        this.end(this.compactedError(page.compacted));
        return;
      }
      for (const row of page.rows) this.queue.push(Object.freeze(toEvent(row)));
      if (page.rows.length === CATCH_UP_PAGE) {
        this.position = page.rows[page.rows.length - 1]!.revision; // the window has more
        return;
      }
      this.position = Math.max(this.position, page.upTo);
      if (page.upTo >= page.head) {
        this.live = true;
        this.hub.goLive(this, page.head);
        return;
      }
      if (page.rows.length > 0) return;
    }
  }

  /** Resolves true when woken (events, end), false when the progress interval elapsed. */
  private waitForWork(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.hub.setBlocked(1);
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.hub.setBlocked(-1);
        resolve(woken);
      };
      this.wake = () => finish(true);
      const interval = this.options.progressIntervalMs;
      if (interval !== undefined && interval > 0) {
        timer = setTimeout(() => finish(false), Math.max(0, this.lastYield + interval - Date.now()));
      }
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
