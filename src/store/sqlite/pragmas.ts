// The connection settings every Lodge SQLite connection uses. Shared with
// bench/sqlite-raw.ts so the "raw SQLite" figure is measured under exactly the
// durability the store promises, not a faster, weaker one.
import type Database from 'better-sqlite3';

/** How long a writer waits for another process's write lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export function applyPragmas(db: Database.Database): void {
  // Set first: switching to WAL and creating the schema take locks, and a
  // second process opening the same file at the same moment should wait, not fail.
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (typeof mode === 'string' && mode.toLowerCase() !== 'wal' && !db.memory) {
    throw new Error(`sqlite: could not switch ${db.name} to WAL mode (got journal_mode=${mode})`);
  }
  // In WAL mode, NORMAL syncs the WAL at checkpoints, not at every commit. A
  // commit is written to the WAL file before it returns, so it survives the
  // process being killed (SIGKILL, crash, OOM): the OS still holds the pages.
  // Only a power loss or kernel crash can lose the last transactions — never
  // corrupt the database. That is the trade a single-host control plane wants:
  // FULL would fsync on every commit and cost an order of magnitude in writes.
  db.pragma('synchronous = NORMAL');
  // Small temporary B-trees (sorts, the DELETE rowid set of compaction) stay in memory.
  db.pragma('temp_store = MEMORY');
  // A bigger page cache (negative = KiB): list and watch catch-up read recent pages.
  db.pragma('cache_size = -16384');
}
