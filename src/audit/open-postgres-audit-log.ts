import type { AuditConfig } from '../config/config-schema.js';
import type { PgDb } from '../state/postgres/pg-db.js';
import type { OpenAuditLogOptions } from './open-audit-log.js';
import { PostgresAuditLog } from './postgres-audit-log.js';
import { createWitnesses } from './witness-sink.js';

/**
 * The audit log of a config whose state is PostgreSQL (issue 16): the one chain of every replica, in the state
 * database `db` (the state store's pool: `PostgresStateStore.db`), with the checkpoints and witnesses the config asks
 * for; `audit.path` and `audit.rotate` do not apply. `replica` is the state store's `replicaId`, recorded in each
 * record this process writes. Closing the log leaves `db` open. Throws `COFRE_CONFIG_INVALID` as `openAuditLog` does.
 */
export function openPostgresAuditLog(
  audit: Pick<AuditConfig, 'checkpoint' | 'witnesses'>,
  db: PgDb,
  options: Omit<OpenAuditLogOptions, 'onModeFixed'> & { readonly replica?: string } = {},
): PostgresAuditLog {
  const { stdout, ...rest } = options;
  return new PostgresAuditLog(db, {
    ...rest,
    checkpoint: audit.checkpoint,
    witnesses: createWitnesses(audit.witnesses, stdout === undefined ? {} : { stdout }),
  });
}
