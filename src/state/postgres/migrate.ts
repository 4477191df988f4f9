import { CofreError } from '../../errors.js';
import { MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import type { PgDb, PgQueryable } from './pg-db.js';

/**
 * Key of the transaction-level advisory lock every migration step holds ('cofre' in ASCII): two replicas, or two
 * `cofre state migrate`, migrating at once take turns, and the second finds each step already applied.
 */
const MIGRATION_LOCK = 0x636f667265;

const CREATE_HISTORY = `CREATE TABLE IF NOT EXISTS cofre_schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL
)`;

/**
 * Applies every step of {@link MIGRATIONS} the database lacks, in order, each in its own transaction under
 * {@link MIGRATION_LOCK}, and returns the steps it applied (none when the schema was current). Safe to run
 * concurrently from several processes: each step is applied exactly once. `onApplied` hears of each step as it
 * commits (what `cofre state migrate` prints).
 *
 * Refuses (`COFRE_STATE_SCHEMA_MISMATCH`) a database a later cofre migrated: its steps are unknown here.
 */
export async function migrate(
  db: PgDb,
  options: { readonly onApplied?: (step: Migration) => void; readonly steps?: readonly Migration[] } = {},
): Promise<readonly Migration[]> {
  const steps = options.steps ?? MIGRATIONS;
  const known = steps.length;
  const found = await schemaVersion(db);
  if (found > known) throw newerSchema(found, known);
  const applied: Migration[] = [];
  for (const step of steps) {
    if (step.version <= found) continue;
    const done = await db.transaction(async (tx) => {
      // A step may take long (an index on a big table), and so may the wait for another process's step: the pool's
      // statement_timeout, meant for the request path, does not apply here.
      await tx.query('SET LOCAL statement_timeout = 0');
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query(CREATE_HISTORY);
      // Checked under the lock: another process may have applied it since `found` was read.
      const already = await tx.query('SELECT 1 FROM cofre_schema_migrations WHERE version = $1', [
        step.version,
      ]);
      if (already.rowCount !== 0) return false;
      if (step.sql.trim() !== '') await tx.query(step.sql);
      await tx.query(
        'INSERT INTO cofre_schema_migrations (version, name, applied_at) VALUES ($1, $2, now())',
        [step.version, step.name],
      );
      return true;
    });
    if (done) {
      applied.push(step);
      options.onApplied?.(step);
    }
  }
  return applied;
}

/** The version of the schema in `db`: the last step applied, or 0 on a database cofre never migrated. */
export async function schemaVersion(db: PgQueryable): Promise<number> {
  const table = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('cofre_schema_migrations') IS NOT NULL AS exists",
  );
  if (table.rows[0]?.exists !== true) return 0;
  const result = await db.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM cofre_schema_migrations',
  );
  return result.rows[0]?.version ?? 0;
}

/**
 * Throws `COFRE_STATE_SCHEMA_MISMATCH` unless `db` holds exactly the schema this cofre knows
 * ({@link POSTGRES_SCHEMA_VERSION}): a replica never serves on a schema older (it would miss tables) or newer (a
 * later cofre may have changed what rows mean) than its own.
 */
export async function checkSchema(
  db: PgQueryable,
  expected: number = POSTGRES_SCHEMA_VERSION,
): Promise<void> {
  const found = await schemaVersion(db);
  if (found === expected) return;
  if (found > expected) throw newerSchema(found, expected);
  throw new CofreError(
    'COFRE_STATE_SCHEMA_MISMATCH',
    found === 0
      ? `the PostgreSQL state database has no cofre schema yet (this cofre needs version ${expected}); run: cofre state migrate`
      : `the PostgreSQL state schema is at version ${found}, older than the version ${expected} this cofre needs; run: cofre state migrate`,
    { details: { found, expected } },
  );
}

function newerSchema(found: number, known: number): CofreError {
  return new CofreError(
    'COFRE_STATE_SCHEMA_MISMATCH',
    `the PostgreSQL state schema is at version ${found}, newer than the version ${known} this cofre knows (a later cofre migrated it); upgrade this cofre`,
    { details: { found, expected: known } },
  );
}
