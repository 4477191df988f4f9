import { CofreError } from '../../errors.js';
import type {
  RotationRecord,
  RotationSecret,
  RotationStatus,
  RotationStore,
} from '../../rotation/rotation-types.js';
import { rotationInProgress, rotationTargetKey } from '../rotation-store-rules.js';
import type { PgDb } from './pg-db.js';
import { isUniqueViolation } from './pg-errors.js';

interface RotationRow {
  id: string;
  target_kind: 'account' | 'secret';
  target: string;
  status: RotationStatus;
  secrets: RotationSecret[];
  started_by: string;
  started_at: Date;
  updated_at: Date;
  error: string | null;
  promoted_at: Date | null;
}

/** The statuses of a rotation that has not ended (the `rotations_active` index of migration 0001). */
const ACTIVE = "('created', 'tested')";

/**
 * The {@link RotationStore} on PostgreSQL. Holds no secret value. "One unfinished rotation per target" holds across
 * replicas through the partial unique index `rotations_active`: of two `cofre rotate` inserting at once, the second
 * fails on it and is told which rotation runs.
 */
export class PostgresRotationStore implements RotationStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async createRotation(record: RotationRecord): Promise<void> {
    const [kind, target] = rotationTargetKey(record);
    try {
      await this.#db.query(
        `INSERT INTO rotations (id, target_kind, target, status, secrets, started_by, started_at, updated_at, error,
           promoted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.id,
          kind,
          target,
          record.status,
          JSON.stringify(record.secrets),
          record.by,
          record.startedAt,
          record.updatedAt,
          record.error ?? null,
          record.promotedAt ?? null,
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'rotations_pkey')) {
        throw new CofreError('COFRE_INTERNAL', `rotation id ${record.id} is already used`, { cause: err });
      }
      if (!isUniqueViolation(err, 'rotations_active')) throw err;
      const running = await this.#db.query<{ id: string }>(
        `SELECT id FROM rotations WHERE target_kind = $1 AND target = $2 AND status IN ${ACTIVE}`,
        [kind, target],
      );
      throw rotationInProgress(record, running.rows[0]?.id ?? 'unknown');
    }
  }

  async updateRotation(record: RotationRecord): Promise<void> {
    const result = await this.#db.query(
      'UPDATE rotations SET status = $1, secrets = $2, updated_at = $3, error = $4, promoted_at = $5 WHERE id = $6',
      [
        record.status,
        JSON.stringify(record.secrets),
        record.updatedAt,
        record.error ?? null,
        record.promotedAt ?? null,
        record.id,
      ],
    );
    if (result.rowCount !== 1) {
      throw new CofreError('COFRE_ROTATION_NOT_FOUND', `no rotation ${record.id} in the state database`, {
        details: { rotation: record.id },
      });
    }
  }

  async rotation(id: string): Promise<RotationRecord | undefined> {
    const { rows } = await this.#db.query<RotationRow>('SELECT * FROM rotations WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async rotations(options: { readonly active?: boolean } = {}): Promise<readonly RotationRecord[]> {
    const where = options.active === true ? `WHERE status IN ${ACTIVE}` : '';
    const { rows } = await this.#db.query<RotationRow>(
      `SELECT * FROM rotations ${where} ORDER BY started_at DESC, seq DESC`,
    );
    return rows.map(toRecord);
  }
}

function toRecord(row: RotationRow): RotationRecord {
  return {
    id: row.id,
    target:
      row.target_kind === 'account'
        ? { kind: 'account', account: row.target }
        : { kind: 'secret', reference: row.target },
    status: row.status,
    secrets: row.secrets.map((s) => ({
      backend: s.backend,
      path: s.path,
      oldVersion: s.oldVersion ?? undefined,
      newVersion: s.newVersion ?? undefined,
    })),
    by: row.started_by,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.promoted_at === null ? {} : { promotedAt: row.promoted_at }),
  };
}
