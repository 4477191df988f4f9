import { followPostgresAudit, lastPostgresAuditRecords } from '../../audit/postgres-audit-scan.js';
import { followAuditLog, lastAuditRecords, type ScannedRecord } from '../../audit/scan-audit-records.js';
import { CofreError } from '../../errors.js';
import { auditLogTarget } from './audit-log-path.js';
import { auditRecordText } from './audit-record-text.js';
import { withAuditStateDatabase } from './audit-state-database.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { untilSignal } from './until-signal.js';

export interface AuditTailOptions {
  readonly log?: string;
  readonly lines?: string;
  readonly follow?: boolean;
  readonly json?: boolean;
}

/** How `--follow` stops: on SIGINT/SIGTERM by default; tests pass a signal. */
export interface FollowControl {
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

/**
 * `cofre audit tail [-n N] [--follow] [--json]`: the last N records (across rotated files when the current one holds
 * fewer), then, with `--follow`, each new one as it is written, following rotation, until Ctrl-C.
 */
export async function auditTail(
  io: CliIo,
  global: GlobalOptions,
  options: AuditTailOptions,
  control: FollowControl = {},
): Promise<void> {
  const n = Number(options.lines ?? '10');
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CofreError('COFRE_USAGE', `-n takes a whole number of records, not "${options.lines ?? ''}"`);
  }
  const target = await auditLogTarget(io, global, options.log);
  const print = (r: ScannedRecord): void => {
    println(io.stdout, options.json === true ? r.text : auditRecordText(r));
  };
  const onBad = (file: string, line: number): void => {
    println(io.stderr, `cofre: ${file} line ${line} is not a record (run cofre audit verify)`);
  };
  const following = (): AbortSignal => {
    if (control.signal !== undefined) return control.signal;
    const abort = new AbortController();
    void untilSignal().then(() => {
      abort.abort();
    });
    return abort.signal;
  };
  // Issue 16: with PostgreSQL state (and no --log), the one chain of every replica, in the database.
  const state = target.config?.state;
  if (state?.type === 'postgres' && target.config !== undefined) {
    await withAuditStateDatabase(io, target.config, state, async (db) => {
      const last = await lastPostgresAuditRecords(db, n, onBad);
      last.records.forEach(print);
      if (options.follow !== true) return;
      await followPostgresAudit(db, print, {
        afterSeq: last.lastSeq,
        signal: following(),
        onBad,
        ...(control.pollMs === undefined ? {} : { pollMs: control.pollMs }),
      });
    });
    return;
  }
  const last = await lastAuditRecords(target.path, n, onBad);
  last.records.forEach(print);
  if (options.follow !== true) return;
  const signal = following();
  await followAuditLog(target.path, print, {
    from: last.currentOffset,
    signal,
    onBad,
    ...(control.pollMs === undefined ? {} : { pollMs: control.pollMs }),
  });
}
