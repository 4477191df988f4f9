import { isCofreError } from '../../errors.js';
import { schemaVersion } from '../../state/postgres/migrate.js';
import { POSTGRES_SCHEMA_VERSION } from '../../state/postgres/migrations/index.js';
import { openPostgresDb, postgresSecretsFrom } from '../../state/postgres/open-postgres.js';
import { stateFileHealth } from '../../state/sqlite/state-file-health.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from './doctor-checks.js';

/**
 * `cofre doctor`'s state check: the SQLite state file opens (read-only: doctor never creates, migrates or chmods
 * it), `PRAGMA quick_check` says ok, and its schema version is one this cofre knows. Its mode is the hardening
 * check's.
 */
export const stateDoctorCheck: DoctorCheck = (ctx) => {
  if (ctx.config.state.type === 'postgres') return postgresStateCheck(ctx);
  const path = ctx.config.state.path;
  const health = stateFileHealth(path);
  const finding = (status: DoctorFinding['status'], message: string, details?: DoctorFinding['details']) => ({
    check: 'state',
    subject: path,
    status,
    message,
    ...(details === undefined ? {} : { details }),
  });
  switch (health.kind) {
    case 'missing':
      return Promise.resolve([
        finding('ok', 'no state file yet; the first start (or `cofre agent add`) creates it'),
      ]);
    case 'unreadable':
      return Promise.resolve([
        finding('fail', `cannot be read as a SQLite database (${health.reason}); restore it from a backup`),
      ]);
    case 'opened': {
      const details = {
        quickCheck: health.quickCheck,
        schemaVersion: health.schemaVersion,
        knownSchemaVersion: health.knownVersion,
      };
      if (health.quickCheck !== 'ok') {
        return Promise.resolve([
          finding(
            'fail',
            `PRAGMA quick_check: ${health.quickCheck}; stop cofre and restore the file from a backup`,
            details,
          ),
        ]);
      }
      if (health.schemaVersion > health.knownVersion) {
        return Promise.resolve([
          finding(
            'fail',
            `schema version ${health.schemaVersion} was written by a newer cofre (this one knows ${health.knownVersion}); run that version`,
            details,
          ),
        ]);
      }
      if (health.schemaVersion < health.knownVersion) {
        return Promise.resolve([
          finding(
            'warn',
            `schema version ${health.schemaVersion}: the next start migrates it to ${health.knownVersion} (back it up first)`,
            details,
          ),
        ]);
      }
      return Promise.resolve([
        finding('ok', `quick_check ok, schema version ${health.schemaVersion}`, details),
      ]);
    }
  }
};

/**
 * PostgreSQL state (issue 16): the database answers with the configured credentials and its schema is the one this
 * cofre knows (read-only: doctor never migrates).
 */
async function postgresStateCheck(ctx: DoctorContext): Promise<DoctorFinding[]> {
  const finding = (status: DoctorFinding['status'], message: string, details?: DoctorFinding['details']) => ({
    check: 'state',
    subject: 'postgres',
    status,
    message,
    ...(details === undefined ? {} : { details }),
  });
  if (ctx.config.state.type !== 'postgres') return [];
  let db;
  try {
    db = await openPostgresDb(ctx.config.state, postgresSecretsFrom(ctx.resolver));
  } catch (err) {
    return [finding('fail', `cannot connect: ${isCofreError(err) ? err.message : 'unexpected error'}`)];
  }
  try {
    const found = await schemaVersion(db);
    const details = { schemaVersion: found, knownSchemaVersion: POSTGRES_SCHEMA_VERSION };
    if (found === POSTGRES_SCHEMA_VERSION) return [finding('ok', 'connected; schema is current', details)];
    return [
      finding(
        'fail',
        found < POSTGRES_SCHEMA_VERSION
          ? 'the schema is older than this cofre needs: run `cofre state migrate`'
          : 'the schema is newer than this cofre knows: upgrade this cofre',
        details,
      ),
    ];
  } catch (err) {
    return [
      finding('fail', `cannot read the schema: ${isCofreError(err) ? err.message : 'unexpected error'}`),
    ];
  } finally {
    await db.close();
  }
}
