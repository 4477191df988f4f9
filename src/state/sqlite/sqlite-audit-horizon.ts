import type Database from 'better-sqlite3';

import type { AuditHorizon } from '../state-store.js';

/**
 * Schema version 4 (issue 11): where the audit log was last known to be reflected in this state file, one row.
 * Idempotent; runs inside the caller's migration transaction.
 */
export function migrateTo4(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS audit_horizon (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  ino TEXT NOT NULL,
  offset INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`);
}

interface HorizonRow {
  seq: number;
  hash: string;
  ino: string;
  offset: number;
  updated_at: number;
}

/**
 * The audit horizon of one state file (see {@link AuditHorizon}). SECURITY: it lives in the same SQLite file as the
 * requests it vouches for, so it can never be newer than they are: SQLite's WAL keeps commits in order and a power
 * loss drops only a suffix of them, and a restored copy of the file carries the horizon it had when it was copied.
 */
export class SqliteAuditHorizon {
  readonly #get: Database.Statement;
  readonly #set: Database.Statement;

  /** `db` must have been migrated to version 4 ({@link migrateTo4}). The caller owns and closes it. */
  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT seq, hash, ino, offset, updated_at FROM audit_horizon WHERE id = 1');
    this.#set = db.prepare(
      'INSERT OR REPLACE INTO audit_horizon (id, seq, hash, ino, offset, updated_at) VALUES (1, ?, ?, ?, ?, ?)',
    );
  }

  get(): AuditHorizon | undefined {
    const row = this.#get.get() as HorizonRow | undefined;
    if (row === undefined) return undefined;
    return { seq: row.seq, hash: row.hash, ino: row.ino, offset: row.offset, at: new Date(row.updated_at) };
  }

  set(horizon: AuditHorizon): void {
    this.#set.run(horizon.seq, horizon.hash, horizon.ino, horizon.offset, horizon.at.getTime());
  }
}
