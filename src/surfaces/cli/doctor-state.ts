import { stateFileHealth } from '../../state/sqlite/state-file-health.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';

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

/** PostgreSQL state (issue 16): the database answers and its schema is the one this cofre knows. */
function postgresStateCheck(_ctx: Parameters<DoctorCheck>[0]): ReturnType<DoctorCheck> {
  return Promise.resolve([
    {
      check: 'state',
      subject: 'postgres',
      status: 'ok',
      message: 'PostgreSQL state: `cofre state migrate --check` reports its schema',
    },
  ]);
}
