// The on-disk layout, kine-like: an append-only `log` of every change (the
// revision is its rowid, so there is exactly one revision counter) and a
// `current` table holding each live key's latest value, both written in the
// same transaction. `current` makes get and latest-list one index lookup
// instead of a "latest row per key" scan of the log.
import type Database from 'better-sqlite3';

/** log.type values. Stored as small integers; mapped to names when read. */
export const EventCode = { ADDED: 0, MODIFIED: 1, DELETED: 2 } as const;
export type EventCode = (typeof EventCode)[keyof typeof EventCode];

const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS log (
  revision        INTEGER PRIMARY KEY,
  key             TEXT    NOT NULL,
  value           TEXT    NOT NULL,   -- for DELETED: the last value before deletion
  create_revision INTEGER NOT NULL,
  prev_revision   INTEGER NOT NULL,   -- revision of the value this row replaced, 0 for ADDED
  type            INTEGER NOT NULL    -- EventCode
);
-- Serves list-at-revision ("latest row per key at or below R") and compaction.
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);

-- A rowid table with a separate key index (not WITHOUT ROWID): values are
-- whole JSON objects, often kilobytes, and the narrow index keeps key range
-- scans and counts cheap.
CREATE TABLE IF NOT EXISTS current (
  key             TEXT    PRIMARY KEY,
  value           TEXT    NOT NULL,
  revision        INTEGER NOT NULL,
  create_revision INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS meta (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('compacted', 0);
`;

export function ensureSchema(db: Database.Database): void {
  // IMMEDIATE: two processes opening a fresh file at once serialize here.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true });
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) {
      throw new Error(`sqlite: ${db.name} has schema version ${String(version)}, this Lodge understands ${SCHEMA_VERSION}`);
    }
    db.exec(DDL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
