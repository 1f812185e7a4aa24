// The ceiling for the store's write rate: single-row commits straight through
// better-sqlite3, WAL, with the same pragmas the SQLite store uses. The API
// benchmark prints it beside Lodge's figures as "the limit to approach".
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { applyPragmas } from '../src/store/sqlite/pragmas.js';

/** Commits `n` one-row INSERT transactions into a fresh database under `dir`. */
export function rawSqliteWriteRate(dir: string, n = 20000): { commitsPerSecond: number } {
  const work = mkdtempSync(join(dir, 'sqlite-raw-'));
  const db = new Database(join(work, 'raw.db'));
  try {
    applyPragmas(db);
    // Shaped like the store's `current` table: a text key with a unique index
    // and a JSON-sized value.
    db.exec('CREATE TABLE kv (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL)');
    const insert = db.prepare<[string, string]>('INSERT INTO kv (key, value) VALUES (?, ?)');
    const value = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' }, data: { k: 'v'.repeat(100) } });
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) insert.run(`/registry/configmaps/default/cm-${i}`, value); // autocommit: one transaction each
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { commitsPerSecond: Math.round(n / seconds) };
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}
