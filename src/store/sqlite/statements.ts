// Every SQL statement the store runs, prepared once per connection.
import type Database from 'better-sqlite3';
import type { KeyValue, StoreEvent, StoreEventType } from '../store.js';
import type { EventCode } from './schema.js';

export interface CurrentRow {
  key: string;
  value: string;
  revision: number;
  create_revision: number;
}

export interface LogRow {
  revision: number;
  key: string;
  value: string;
  create_revision: number;
  prev_revision: number;
  type: EventCode;
}

type Bound = string | Buffer; // an upper key bound may be the above-all-text BLOB

const LOG_COLUMNS = 'revision, key, value, create_revision, prev_revision, type';
const CURRENT_COLUMNS = 'key, value, revision, create_revision';

// "The row of each key that was current at revision @rev": its newest row at
// or below @rev, unless that row is a deletion. Walks log_key_revision in key order,
// so LIMIT stops the scan early.
const AT_REVISION = `
  SELECT key, value, revision, create_revision FROM log AS l
  WHERE key %OP% @from AND key < @hi AND revision <= @rev AND type != 2
    AND NOT EXISTS (SELECT 1 FROM log AS n WHERE n.key = l.key AND n.revision > l.revision AND n.revision <= @rev)
  ORDER BY key LIMIT @limit`;

export interface AtRevisionParams {
  from: string;
  hi: Bound;
  rev: number;
  limit: number;
}

export function prepareStatements(db: Database.Database) {
  return {
    head: db.prepare<[], number>('SELECT coalesce(max(revision), 0) FROM log').pluck(),
    compacted: db.prepare<[], number>("SELECT value FROM meta WHERE name = 'compacted'").pluck(),
    setCompacted: db.prepare<[number]>("UPDATE meta SET value = ? WHERE name = 'compacted'"),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),

    getCurrent: db.prepare<[string], CurrentRow>(`SELECT ${CURRENT_COLUMNS} FROM current WHERE key = ?`),
    insertLog: db.prepare<[number, string, string, number, number, EventCode]>(
      `INSERT INTO log (${LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertCurrent: db.prepare<[string, string, number, number]>(
      `INSERT INTO current (${CURRENT_COLUMNS}) VALUES (?, ?, ?, ?)`,
    ),
    updateCurrent: db.prepare<[string, number, string]>('UPDATE current SET value = ?, revision = ? WHERE key = ?'),
    deleteCurrent: db.prepare<[string]>('DELETE FROM current WHERE key = ?'),

    // List pages; LIMIT -1 means no limit. "first" pages start at the prefix
    // (inclusive), "after" pages strictly after the continue token's last key.
    listCurrentFirst: db.prepare<[string, Bound, number], CurrentRow>(
      `SELECT ${CURRENT_COLUMNS} FROM current WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`,
    ),
    listCurrentAfter: db.prepare<[string, Bound, number], CurrentRow>(
      `SELECT ${CURRENT_COLUMNS} FROM current WHERE key > ? AND key < ? ORDER BY key LIMIT ?`,
    ),
    countCurrentAfter: db.prepare<[string, Bound], number>('SELECT count(*) FROM current WHERE key > ? AND key < ?').pluck(),
    listLogFirst: db.prepare<AtRevisionParams, CurrentRow>(AT_REVISION.replace('%OP%', '>=')),
    listLogAfter: db.prepare<AtRevisionParams, CurrentRow>(AT_REVISION.replace('%OP%', '>')),

    // The watch pump: every change after a revision.
    logSince: db.prepare<[number, number], LogRow>(
      `SELECT ${LOG_COLUMNS} FROM log WHERE revision > ? ORDER BY revision LIMIT ?`,
    ),
    // Watch catch-up: changes under a prefix in a revision window. The unary +
    // keeps SQLite on the rowid range (cost ∝ how far behind the watcher is)
    // instead of the key index (cost ∝ the prefix's whole history).
    logWindow: db.prepare<[number, number, string, Bound, number], LogRow>(
      `SELECT ${LOG_COLUMNS} FROM log
       WHERE revision > ? AND revision <= ? AND +key >= ? AND +key < ?
       ORDER BY revision LIMIT ?`,
    ),

    // Compaction, one revision window (@lo, @hi] at a time: drop rows at or
    // below @target that a newer row at or below @target supersedes, and
    // deletions (the key is gone by @target). Never the newest row in the log: the revision counter is
    // max(revision)+1 and must not go back.
    compactWindow: db.prepare<{ lo: number; hi: number; target: number }>(
      `DELETE FROM log
       WHERE revision > @lo AND revision <= @hi AND revision <= @target
         AND revision < (SELECT max(revision) FROM log)
         AND (type = 2 OR EXISTS (
           SELECT 1 FROM log AS n WHERE n.key = log.key AND n.revision > log.revision AND n.revision <= @target))`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

const EVENT_TYPES: readonly StoreEventType[] = ['ADDED', 'MODIFIED', 'DELETED'];

export function toKeyValue(row: CurrentRow): KeyValue {
  return { key: row.key, value: row.value, revision: row.revision, createRevision: row.create_revision };
}

export function toEvent(row: LogRow): StoreEvent {
  const type = EVENT_TYPES[row.type];
  if (type === undefined) throw new Error(`sqlite: log row ${row.revision} has unknown type ${String(row.type)}`);
  return {
    type,
    key: row.key,
    value: row.value,
    revision: row.revision,
    createRevision: row.create_revision,
    prevRevision: row.prev_revision,
  };
}
