import type { AuditRecordFilter } from '../../audit/audit-record-filter.js';
import { auditRecordMatches } from '../../audit/audit-record-filter.js';
import { scanPostgresAuditRecords } from '../../audit/postgres-audit-scan.js';
import { scanAuditRecords, type ScannedRecord } from '../../audit/scan-audit-records.js';
import { CofreError } from '../../errors.js';
import { auditLogTarget } from './audit-log-path.js';
import { auditRecordText } from './audit-record-text.js';
import { withAuditStateDatabase } from './audit-state-database.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';

export interface AuditQueryOptions {
  readonly log?: string;
  readonly since?: string;
  readonly until?: string;
  readonly agent?: string;
  readonly account?: string;
  readonly action?: string;
  readonly request?: string;
  readonly kind?: string;
  readonly json?: boolean;
}

/**
 * `cofre audit query`: prints the records matching every filter given, oldest first, streaming through all the
 * log's files. Reads; does not verify (`cofre audit verify` does).
 */
export async function auditQuery(
  io: CliIo,
  global: GlobalOptions,
  options: AuditQueryOptions,
): Promise<void> {
  const filter: AuditRecordFilter = {
    ...time('--since', options.since, 'since'),
    ...time('--until', options.until, 'until'),
    ...(options.agent === undefined ? {} : { agent: options.agent }),
    ...(options.account === undefined ? {} : { account: options.account }),
    ...(options.action === undefined ? {} : { action: options.action }),
    ...(options.request === undefined ? {} : { requestId: options.request }),
    ...(options.kind === undefined ? {} : { kind: options.kind }),
  };
  const target = await auditLogTarget(io, global, options.log);
  let matched = 0;
  const onRecord = (r: ScannedRecord): void => {
    if (!auditRecordMatches(r.record, filter)) return;
    matched += 1;
    println(io.stdout, options.json === true ? r.text : auditRecordText(r));
  };
  const onBad = (file: string, line: number): void => {
    println(io.stderr, `cofre: ${file} line ${line} is not a record (run cofre audit verify)`);
  };
  // Issue 16: with PostgreSQL state (and no --log), the one chain of every replica, in the database.
  const state = target.config?.state;
  if (state?.type === 'postgres' && target.config !== undefined) {
    await withAuditStateDatabase(io, target.config, state, (db) =>
      scanPostgresAuditRecords(db, onRecord, onBad),
    );
  } else {
    await scanAuditRecords(target.path, onRecord, onBad);
  }
  if (options.json !== true) println(io.stderr, `${matched} record(s)`);
}

function time(flag: string, value: string | undefined, key: 'since' | 'until'): Partial<AuditRecordFilter> {
  if (value === undefined) return {};
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new CofreError(
      'COFRE_USAGE',
      `${flag} takes an ISO 8601 time, e.g. 2026-11-30T06:00:00Z, not "${value}"`,
    );
  }
  return { [key]: ms };
}
