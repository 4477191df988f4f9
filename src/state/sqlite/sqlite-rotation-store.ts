import type Database from 'better-sqlite3';

import { CofreError } from '../../errors.js';
import type {
  RotationRecord,
  RotationSecret,
  RotationStatus,
  RotationStore,
} from '../../rotation/rotation-types.js';
import { rotationInProgress, rotationTargetKey } from '../rotation-store-rules.js';

/** The statuses of a rotation that has not ended; at most one such rotation per target. */
const ACTIVE = "('created', 'tested')";

/**
 * Schema version 5 (issue 12): the rotations (see {@link RotationRecord}). The partial unique index is what makes
 * "one unfinished rotation per target" hold across processes: two `cofre rotate` started at once cannot both insert.
 * Idempotent; runs inside the caller's migration transaction.
 */
export function migrateTo5(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS rotations (
  id TEXT PRIMARY KEY,
  target_kind TEXT NOT NULL,
  target TEXT NOT NULL,
  status TEXT NOT NULL,
  secrets TEXT NOT NULL,
  started_by TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  error TEXT,
  promoted_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS rotations_active ON rotations (target_kind, target) WHERE status IN ${ACTIVE};
CREATE INDEX IF NOT EXISTS rotations_started ON rotations (started_at);
`);
}

interface RotationRow {
  id: string;
  target_kind: 'account' | 'secret';
  target: string;
  status: RotationStatus;
  secrets: string;
  started_by: string;
  started_at: number;
  updated_at: number;
  error: string | null;
  promoted_at: number | null;
}

/**
 * The {@link RotationStore} of one state file. Holds no secret value: only backends, paths and version ids. Safe to
 * use from several processes (SQLite's locking; the unique index above for the one-active-rotation rule).
 */
export class SqliteRotationStore implements RotationStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #update: Database.Statement;
  readonly #byId: Database.Statement;
  readonly #all: Database.Statement;
  readonly #active: Database.Statement;
  readonly #activeOf: Database.Statement;

  /** `db` must have been migrated to version 5 ({@link migrateTo5}). The caller owns and closes it. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO rotations (id, target_kind, target, status, secrets, started_by, started_at, updated_at, error, promoted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#update = db.prepare(
      'UPDATE rotations SET status = ?, secrets = ?, updated_at = ?, error = ?, promoted_at = ? WHERE id = ?',
    );
    this.#byId = db.prepare('SELECT * FROM rotations WHERE id = ?');
    this.#all = db.prepare('SELECT * FROM rotations ORDER BY started_at DESC, rowid DESC');
    this.#active = db.prepare(
      `SELECT * FROM rotations WHERE status IN ${ACTIVE} ORDER BY started_at DESC, rowid DESC`,
    );
    this.#activeOf = db.prepare(
      `SELECT id FROM rotations WHERE target_kind = ? AND target = ? AND status IN ${ACTIVE}`,
    );
  }

  createRotation(record: RotationRecord): void {
    const [kind, target] = rotationTargetKey(record);
    const insert = this.#db.transaction(() => {
      const running = this.#activeOf.get(kind, target) as { id: string } | undefined;
      if (running !== undefined) throw rotationInProgress(record, running.id);
      this.#insert.run(
        record.id,
        kind,
        target,
        record.status,
        JSON.stringify(record.secrets),
        record.by,
        record.startedAt.getTime(),
        record.updatedAt.getTime(),
        record.error ?? null,
        record.promotedAt?.getTime() ?? null,
      );
    });
    try {
      // IMMEDIATE: the write lock before the SELECT, so the check and the insert see the same file.
      insert.immediate();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new CofreError('COFRE_INTERNAL', `rotation id ${record.id} is already used`, { cause: err });
      }
      throw err;
    }
  }

  updateRotation(record: RotationRecord): void {
    const changed = this.#update.run(
      record.status,
      JSON.stringify(record.secrets),
      record.updatedAt.getTime(),
      record.error ?? null,
      record.promotedAt?.getTime() ?? null,
      record.id,
    ).changes;
    if (changed !== 1) {
      throw new CofreError('COFRE_ROTATION_NOT_FOUND', `no rotation ${record.id} in the state file`, {
        details: { rotation: record.id },
      });
    }
  }

  rotation(id: string): RotationRecord | undefined {
    const row = this.#byId.get(id) as RotationRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  rotations(options: { readonly active?: boolean } = {}): readonly RotationRecord[] {
    const rows = (options.active === true ? this.#active : this.#all).all() as RotationRow[];
    return rows.map(toRecord);
  }
}

function toRecord(row: RotationRow): RotationRecord {
  const secrets = (JSON.parse(row.secrets) as RotationSecret[]).map((s) => ({
    backend: s.backend,
    path: s.path,
    oldVersion: s.oldVersion ?? undefined,
    newVersion: s.newVersion ?? undefined,
  }));
  return {
    id: row.id,
    target:
      row.target_kind === 'account'
        ? { kind: 'account', account: row.target }
        : { kind: 'secret', reference: row.target },
    status: row.status,
    secrets,
    by: row.started_by,
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.promoted_at === null ? {} : { promotedAt: new Date(row.promoted_at) }),
  };
}
