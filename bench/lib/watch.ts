// A watch on one collection of a running Lodge, with the time each object
// was first seen Running and deleted, for the benches that time starts.
import { authHeaders, call, closeAll, connect, type Conn } from './http.js';
import type { RunningLodge } from './lodge.js';
import { nowMs } from './stats.js';

export interface WatchEvent {
  type: string;
  object: unknown;
}

/**
 * Follow a watch of `path` from `resourceVersion`: each event with the time
 * its chunk arrived (before parsing, so the parse is not in the figure);
 * `onEnd` once the stream ends or fails. Resolves once the watch is open.
 */
export async function followWatch(l: RunningLodge, conn: Conn, path: string, resourceVersion: string, onEvent: (ev: WatchEvent, t: number) => void, onEnd: (e?: Error) => void): Promise<void> {
  const r = await conn.client.request({ method: 'GET', path: `${path}?watch=1&allowWatchBookmarks=false&resourceVersion=${resourceVersion}`, headers: authHeaders(l) });
  if (r.statusCode !== 200) throw new Error(`watch ${path}: HTTP ${r.statusCode}: ${await r.body.text()}`);
  let buf = '';
  r.body.setEncoding('utf8');
  r.body.on('data', (chunk: string) => {
    const t = nowMs();
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onEvent(JSON.parse(line) as WatchEvent, t);
    }
  });
  r.body.on('error', onEnd);
  r.body.on('end', () => onEnd());
}

export interface Seen {
  running?: number;
  deleted?: number;
}

/** One watch on a collection; remembers when each object was first seen with status.phase Running and when it went. */
export class ResourceWatch {
  readonly seen = new Map<string, Seen>();
  #waiters = new Set<() => void>();
  #closed = false;
  error?: Error;

  private constructor(readonly conn: Conn) {}

  static async open(l: RunningLodge, path: string): Promise<ResourceWatch> {
    const conn = connect(l, 'h1');
    const list = JSON.parse((await call(conn, l, 'GET', path)).text) as { metadata: { resourceVersion: string } };
    const w = new ResourceWatch(conn);
    await followWatch(l, conn, path, list.metadata.resourceVersion, (ev, t) => w.#event(ev, t), (e) => {
      if (!w.#closed) w.error = e ?? new Error('the watch ended');
      w.#wake();
    });
    return w;
  }

  #event(ev: WatchEvent, t: number): void {
    const obj = ev.object as { metadata?: { name?: string }; status?: { phase?: string } } | undefined;
    const name = String(obj?.metadata?.name ?? '');
    if (ev.type === 'ERROR') {
      this.error = new Error(`watch error: ${JSON.stringify(ev.object)}`);
    } else if (name) {
      const s = this.seen.get(name) ?? {};
      if (ev.type === 'DELETED') s.deleted ??= t;
      else if (obj?.status?.phase === 'Running') s.running ??= t;
      this.seen.set(name, s);
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves when `pred` holds; rejects after `timeoutMs` or when the watch fails. */
  until(what: string, pred: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((res, rej) => {
      const check = (): void => {
        if (pred()) done(undefined);
        else if (this.error) done(this.error);
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const done = (e: Error | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (e) rej(e);
        else res();
      };
      this.#waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await closeAll([this.conn]);
  }
}
