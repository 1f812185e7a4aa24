// The embedded Store: one SQLite file (better-sqlite3, WAL), shareable by
// several processes. Layout in schema.ts, watches in watch-hub.ts.
//
// Writes run synchronously inside BEGIN IMMEDIATE transactions (immediate, so
// two processes never deadlock upgrading a read lock); the Promise API only
// wraps them. The revision of a write is max(log.revision) + 1, read under the
// write lock, so every process shares one counter.
import Database from 'better-sqlite3';
import {
  CompactedError,
  KeyExistsError,
  NotFoundError,
  RevisionConflictError,
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type StoreProgress,
  type WatchOptions,
} from '../store.js';
import { decodeContinue, encodeContinue, prefixRange, type KeyRange } from './keys.js';
import { applyPragmas } from './pragmas.js';
import { EventCode, ensureSchema } from './schema.js';
import { prepareStatements, toKeyValue, type CurrentRow, type LogRow, type Statements } from './statements.js';
import { WatchHub, type LogReader } from './watch-hub.js';

export interface SqliteStoreOptions {
  /**
   * Events a live watcher buffers for a slow consumer before it stops taking
   * the live feed and re-reads the log instead (see watch-hub.ts). Default 10000.
   */
  watchBufferLimit?: number;
  /** How often watches look for commits by other processes. Default 30 ms. */
  pollIntervalMs?: number;
}

/** Writes per group commit at most (see flush()). */
const MAX_BATCH_WRITES = 128;
/** Revisions deleted per compaction transaction: keeps the write lock short. */
const COMPACT_WINDOW = 10000;

export class SqliteStore implements Store {
  private readonly sql: Statements;
  private readonly hub: WatchHub;
  private closed = false;
  /** Compactions run one at a time; each is several transactions. */
  private compacting: Promise<unknown> = Promise.resolve();

  /** Writes waiting for the next group commit (see enqueue). */
  private pending: Array<{ op: string; key: string; run: () => number; resolve: (revision: number) => void; reject: (err: unknown) => void }> = [];
  private flushScheduled = false;
  private readonly batchTxn: Database.Transaction<(body: () => void) => void>;
  private readonly createTxn: Database.Transaction<(key: string, value: string) => number>;
  private readonly updateTxn: Database.Transaction<(key: string, value: string, expected: number) => number>;
  private readonly deleteTxn: Database.Transaction<(key: string, expected: number | undefined) => number>;
  private readonly listTxn: Database.Transaction<(prefix: string, range: KeyRange, limit: number, revision: number, after: string | undefined, fromToken: boolean) => ListResult>;
  private readonly sinceTxn: Database.Transaction<LogReader['since']>;
  private readonly windowTxn: Database.Transaction<LogReader['window']>;
  private readonly compactStartTxn: Database.Transaction<(revision: number) => number>;
  private readonly compactWindowTxn: Database.Transaction<(lo: number, hi: number, target: number) => void>;

  /** Opens (creating if needed) the store in the SQLite file at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      applyPragmas(db);
      ensureSchema(db);
      return new SqliteStore(db, options);
    } catch (err) {
      db?.close();
      throw withCause(new StoreError(`sqlite: cannot open store ${path}: ${(err as Error).message}`), err);
    }
  }

  private constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
  ) {
    const sql = (this.sql = prepareStatements(db));
    this.batchTxn = db.transaction((body: () => void) => body());
    // Run inside batchTxn, each of these is a savepoint.
    this.createTxn = db.transaction((key, value) => this.doCreate(key, value));
    this.updateTxn = db.transaction((key, value, expected) => this.doUpdate(key, value, expected));
    this.deleteTxn = db.transaction((key, expected) => this.doDelete(key, expected));
    this.listTxn = db.transaction((prefix, range, limit, revision, after, fromToken) =>
      this.doList(prefix, range, limit, revision, after, fromToken),
    );
    this.sinceTxn = db.transaction((after: number, limit: number) => ({
      rows: sql.logSince.all(after, limit),
      compacted: sql.compacted.get() ?? 0,
    }));
    this.windowTxn = db.transaction((after: number, window: number, range: KeyRange, limit: number) => {
      const head = sql.head.get() ?? 0;
      const upTo = Math.min(head, after + window);
      const rows: LogRow[] = upTo > after ? sql.logWindow.all(after, upTo, range.lo, range.hi, limit) : [];
      return { rows, upTo, head, compacted: sql.compacted.get() ?? 0 };
    });
    this.compactStartTxn = db.transaction((revision: number) => this.startCompaction(revision));
    this.compactWindowTxn = db.transaction((lo: number, hi: number, target: number) => {
      sql.compactWindow.run({ lo, hi, target });
    });
    const reader: LogReader = {
      since: (after, limit) => this.sinceTxn.deferred(after, limit),
      window: (after, window, range, limit) => this.windowTxn.deferred(after, window, range, limit),
      dataVersion: () => sql.dataVersion.get() ?? 0,
    };
    this.hub = new WatchHub(reader, sql.head.get() ?? 0, {
      bufferLimit: options.watchBufferLimit ?? 10000,
      pollIntervalMs: options.pollIntervalMs ?? 30,
    });
  }

  async get(key: string): Promise<KeyValue | null> {
    this.assertOpen('get', key);
    const row = this.sql.getCurrent.get(key);
    return row ? toKeyValue(row) : null;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.assertOpen('list', prefix);
    const range = prefixRange(prefix);
    const limit = options.limit !== undefined && options.limit > 0 ? Math.floor(options.limit) : 0;
    if (options.continue) {
      // The token fixes the revision; a revision option beside it is ignored
      // (Kubernetes rejects that combination before it gets here).
      const pos = decodeContinue(prefix, options.continue);
      return this.listTxn.deferred(prefix, range, limit, pos.revision, pos.lastKey, true);
    }
    // Revision 0 (or none) means "latest", as in etcd.
    const revision = options.revision !== undefined && options.revision > 0 ? options.revision : 0;
    return this.listTxn.deferred(prefix, range, limit, revision, undefined, false);
  }

  async create(key: string, value: string): Promise<number> {
    this.assertOpen('create', key);
    return this.enqueue('create', key, () => this.createTxn(key, value));
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    this.assertOpen('update', key);
    return this.enqueue('update', key, () => this.updateTxn(key, value, expectedRevision));
  }

  async delete(key: string, expectedRevision?: number): Promise<number> {
    this.assertOpen('delete', key);
    return this.enqueue('delete', key, () => this.deleteTxn(key, expectedRevision));
  }

  /**
   * Group commit: writes that arrive in the same turn of the event loop (8
   * clients' requests parsed in one poll phase) commit in one SQLite
   * transaction, each in its own savepoint so one failing check (a CAS
   * conflict) does not undo the others. A write is acknowledged only after
   * the transaction that holds it committed, so durability is unchanged;
   * the commit's fixed cost (WAL frames, wal-index) is paid once per batch.
   */
  private enqueue(op: string, key: string, run: () => number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op, key, run, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    // A bounded batch: the acknowledgements' continuations run right after the
    // commit, and the rest waits one turn so requests are read in between.
    const batch = this.pending.splice(0, MAX_BATCH_WRITES);
    if (this.pending.length) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (!batch.length) return;
    const outcomes: Array<{ revision: number; row: LogRow } | { error: unknown }> = [];
    try {
      this.batchTxn.immediate(() => {
        for (const w of batch) {
          try {
            const revision = w.run();
            outcomes.push({ revision, row: this.written as LogRow });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      });
    } catch (err) {
      // The commit itself failed (SQLITE_BUSY past the timeout, disk full): nothing in the batch was written.
      for (const w of batch) w.reject(this.writeError(w.op, w.key, err));
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if ('error' in o) w.reject(this.writeError(w.op, w.key, o.error));
      else this.hub.notifyCommit(o.row);
    });
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (!('error' in o)) w.resolve(o.revision);
    });
  }

  watch(prefix: string, fromRevision: number, options: WatchOptions = {}): AsyncIterable<StoreEvent | StoreProgress> {
    this.assertOpen('watch', prefix);
    const range = prefixRange(prefix);
    // Each iteration is its own watch, registered only when iterated, so an
    // AsyncIterable that is never iterated holds nothing.
    return { [Symbol.asyncIterator]: () => this.hub.open(prefix, range, fromRevision, options) };
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen('compact');
    const run = this.compacting.then(() => this.doCompact(revision));
    this.compacting = run.catch(() => undefined);
    return run;
  }

  async currentRevision(): Promise<number> {
    this.assertOpen('currentRevision');
    return this.sql.head.get() ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush(); // writes already accepted are committed, not dropped
    this.closed = true;
    this.hub.close();
    await this.compacting; // do not close the connection under a compaction
    this.db.close();
  }

  /** The log row of the last write, handed to the watch hub after the commit so it need not read it back. */
  private written: LogRow | undefined;

  /** SQLite failures (SQLITE_BUSY after the timeout, disk full) name the key; the store's own errors pass as they are. */
  private writeError(op: string, key: string, err: unknown): unknown {
    if (err instanceof Database.SqliteError) return withCause(new StoreError(`${op} ${key}: sqlite ${err.code}: ${err.message}`, key), err);
    return err;
  }

  private assertOpen(op: string, key?: string): void {
    if (this.closed) throw new StoreError(`${op}${key === undefined ? '' : ` ${key}`}: store is closed`, key);
  }

  // --- transaction bodies (run inside BEGIN IMMEDIATE / BEGIN) ---

  private nextRevision(): number {
    return (this.sql.head.get() ?? 0) + 1;
  }

  private doCreate(key: string, value: string): number {
    const existing = this.sql.getCurrent.get(key);
    if (existing) throw new KeyExistsError(`create ${key}: key already exists (revision ${existing.revision})`, key);
    const revision = this.nextRevision();
    this.sql.insertLog.run(revision, key, value, revision, 0, EventCode.ADDED);
    this.sql.insertCurrent.run(key, value, revision, revision);
    this.written = { revision, key, value, create_revision: revision, prev_revision: 0, type: EventCode.ADDED };
    return revision;
  }

  private doUpdate(key: string, value: string, expected: number): number {
    const current = this.requireRevision('update', key, expected);
    const revision = this.nextRevision();
    this.sql.insertLog.run(revision, key, value, current.create_revision, current.revision, EventCode.MODIFIED);
    this.sql.updateCurrent.run(value, revision, key);
    this.written = { revision, key, value, create_revision: current.create_revision, prev_revision: current.revision, type: EventCode.MODIFIED };
    return revision;
  }

  private doDelete(key: string, expected: number | undefined): number {
    const current = this.requireRevision('delete', key, expected);
    const revision = this.nextRevision();
    // The deletion row keeps the last value: Kubernetes DELETED events carry the object's final state.
    this.sql.insertLog.run(revision, key, current.value, current.create_revision, current.revision, EventCode.DELETED);
    this.sql.deleteCurrent.run(key);
    this.written = { revision, key, value: current.value, create_revision: current.create_revision, prev_revision: current.revision, type: EventCode.DELETED };
    return revision;
  }

  private requireRevision(op: string, key: string, expected: number | undefined): CurrentRow {
    const current = this.sql.getCurrent.get(key);
    if (!current) throw new NotFoundError(`${op} ${key}: key not found`, key);
    if (expected !== undefined && current.revision !== expected) {
      throw new RevisionConflictError(
        `${op} ${key}: expected revision ${expected}, but the key is at revision ${current.revision}`,
        key,
        current.revision,
      );
    }
    return current;
  }

  private doList(
    prefix: string,
    range: KeyRange,
    limit: number,
    requested: number,
    after: string | undefined,
    fromToken: boolean,
  ): ListResult {
    const head = this.sql.head.get() ?? 0;
    const revision = requested || head;
    if (revision > head) {
      throw new StoreError(`list ${prefix} at revision ${revision}: the store is only at revision ${head}`, prefix);
    }
    // Unchanged since the requested revision (typical for the pages of a
    // list on a quiet store): the current table is that revision.
    const latest = revision === head;
    if (!latest) {
      const compacted = this.sql.compacted.get() ?? 0;
      if (revision < compacted) {
        const what = fromToken ? 'continue token expired' : `revision ${revision} is compacted`;
        throw new CompactedError(`list ${prefix}: ${what} (history up to revision ${compacted} was compacted)`, compacted);
      }
    }
    const sqlLimit = limit > 0 ? limit + 1 : -1; // one extra row says whether there is a next page
    let rows: CurrentRow[];
    if (latest) {
      rows = after === undefined
        ? this.sql.listCurrentFirst.all(range.lo, range.hi, sqlLimit)
        : this.sql.listCurrentAfter.all(after, range.hi, sqlLimit);
    } else {
      rows = after === undefined
        ? this.sql.listLogFirst.all({ from: range.lo, hi: range.hi, rev: revision, limit: sqlLimit })
        : this.sql.listLogAfter.all({ from: after, hi: range.hi, rev: revision, limit: sqlLimit });
    }
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    const result: ListResult = { items: rows.map(toKeyValue), revision };
    if (more) {
      const lastKey = rows[rows.length - 1]!.key;
      result.continue = encodeContinue(prefix, { revision, lastKey });
      // Counting the key index is cheap; counting "live at revision R" in the log is not.
      if (latest) result.remaining = this.sql.countCurrentAfter.get(lastKey, range.hi) ?? 0;
    }
    return result;
  }

  /** Validates and records the compacted revision; returns it, or 0 when there is nothing to do. */
  private startCompaction(revision: number): number {
    const head = this.sql.head.get() ?? 0;
    if (revision > head) {
      throw new StoreError(`compact to revision ${revision}: the store is only at revision ${head}`);
    }
    const compacted = this.sql.compacted.get() ?? 0;
    if (revision <= compacted) return 0; // already done
    // Recorded before any row goes: from now on, reads below `revision`
    // fail instead of seeing half-compacted history.
    this.sql.setCompacted.run(revision);
    return revision;
  }

  private async doCompact(revision: number): Promise<void> {
    if (this.closed) return;
    // Deliver everything before history disappears, so local live watchers
    // never see a gap.
    this.hub.pump();
    const target = this.compactStartTxn.immediate(revision);
    if (target === 0) return;
    // Windows from 0: rows kept by earlier compactions (each key's latest) may
    // be superseded now.
    for (let lo = 0; lo < target; lo += COMPACT_WINDOW) {
      if (this.closed) return;
      this.compactWindowTxn.immediate(lo, Math.min(lo + COMPACT_WINDOW, target), target);
      await new Promise<void>((resolve) => setImmediate(resolve)); // let requests in between windows
    }
  }
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  return Object.assign(error, { cause });
}
