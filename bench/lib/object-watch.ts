// A watch on one collection of a running Lodge that keeps the latest version
// of each object and resolves waiters with the time of the event that first
// made a predicate hold: for benches timing any status transition (a
// Snapshot Ready, a restore Succeeded, a copy Stopped), not only Running.
import { call, closeAll, connect, type Conn } from './http.js';
import { followWatch } from './watch.js';
import type { RunningLodge } from './lodge.js';
import { nowMs } from './stats.js';

/** The parts of an object these waits look at. */
export interface WatchedObject {
  metadata: { name?: string; uid?: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

interface Waiter {
  name: string;
  what: string;
  pred: (o: WatchedObject | undefined) => boolean;
  done: (t: number, o: WatchedObject | undefined) => void;
  fail: (e: Error) => void;
}

export class ObjectWatch {
  /** Latest version of each object by name (undefined once deleted), and when it arrived. */
  readonly latest = new Map<string, { obj: WatchedObject | undefined; at: number }>();
  readonly #waiters = new Set<Waiter>();
  #closed = false;
  error?: Error;

  private constructor(readonly conn: Conn) {}

  static async open(l: RunningLodge, path: string): Promise<ObjectWatch> {
    const conn = connect(l, 'h1');
    const list = JSON.parse((await call(conn, l, 'GET', path)).text) as { metadata: { resourceVersion: string }; items: WatchedObject[] };
    const w = new ObjectWatch(conn);
    const t0 = nowMs();
    for (const o of list.items) if (o.metadata.name) w.latest.set(o.metadata.name, { obj: o, at: t0 });
    await followWatch(l, conn, path, list.metadata.resourceVersion, (ev, t) => w.#event(ev as { type: string; object: WatchedObject }, t), (e) => {
      if (w.#closed) return;
      w.error = e ?? new Error(`the watch on ${path} ended`);
      for (const x of [...w.#waiters]) x.fail(w.error);
    });
    return w;
  }

  #event(ev: { type: string; object: WatchedObject }, t: number): void {
    if (ev.type === 'ERROR') {
      this.error = new Error(`watch error: ${JSON.stringify(ev.object)}`);
      for (const x of [...this.#waiters]) x.fail(this.error);
      return;
    }
    const name = ev.object?.metadata?.name;
    if (!name) return;
    const obj = ev.type === 'DELETED' ? undefined : ev.object;
    this.latest.set(name, { obj, at: t });
    for (const x of [...this.#waiters]) if (x.name === name && x.pred(obj)) x.done(t, obj);
  }

  /**
   * Resolves with nowMs() of the event that first made `pred` hold for
   * object `name` (undefined: deleted), and that version. Register it before
   * causing the change: a version already there that satisfies `pred`
   * resolves at once, with the time it arrived.
   */
  waitFor(name: string, what: string, pred: (o: WatchedObject | undefined) => boolean, timeoutMs: number): Promise<{ t: number; obj: WatchedObject | undefined }> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const cur = this.latest.get(name)?.obj;
        rej(new Error(`timed out after ${timeoutMs} ms waiting for ${name}: ${what}; it is: ${JSON.stringify(cur?.status ?? (cur ? {} : 'gone'))}`));
      }, timeoutMs);
      const waiter: Waiter = {
        name,
        what,
        pred,
        done: (t, o) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          res({ t, obj: o });
        },
        fail: (e) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          rej(e);
        },
      };
      const cur = this.latest.get(name);
      if (cur && pred(cur.obj)) return waiter.done(cur.at, cur.obj);
      if (this.error) return waiter.fail(this.error);
      this.#waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const x of [...this.#waiters]) x.fail(new Error('watch closed'));
    await closeAll([this.conn]);
  }
}
