import type { AuditSink } from '../audit/audit-log.js';
import { openAuditLog, type OpenAuditLogOptions } from '../audit/open-audit-log.js';
import type { AuditConfig } from '../config/config-schema.js';
import { postgresDbOf } from '../state/open-state-store.js';
import type { StateStore } from '../state/state-store.js';

/**
 * The audit log where the config keeps it: with PostgreSQL state, the one chain of every replica in the state's own
 * database (issue 16; `audit.path` and `audit.rotate` do not apply); otherwise the file of {@link openAuditLog}.
 */
export async function openAuditLogFor(
  audit: AuditConfig,
  state: StateStore | undefined,
  options: OpenAuditLogOptions = {},
): Promise<AuditSink> {
  const db = state === undefined ? undefined : postgresDbOf(state);
  if (state === undefined || db === undefined) return openAuditLog(audit, options);
  const { onModeFixed: _files, ...rest } = options;
  // Loaded only with PostgreSQL state, like the store itself.
  const { openPostgresAuditLog } = await import('../audit/open-postgres-audit-log.js');
  return openPostgresAuditLog(audit, db, { ...rest, replica: state.replicaId });
}
