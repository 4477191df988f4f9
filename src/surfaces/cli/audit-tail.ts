import { followAuditLog, lastAuditRecords, type ScannedRecord } from '../../audit/scan-audit-records.js';
import { CofreError } from '../../errors.js';
import { auditLogTarget } from './audit-log-path.js';
import { auditRecordText } from './audit-record-text.js';
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
  const last = await lastAuditRecords(target.path, n, onBad);
  last.records.forEach(print);
  if (options.follow !== true) return;
  let signal = control.signal;
  if (signal === undefined) {
    const abort = new AbortController();
    void untilSignal().then(() => {
      abort.abort();
    });
    signal = abort.signal;
  }
  await followAuditLog(target.path, print, {
    from: last.currentOffset,
    signal,
    onBad,
    ...(control.pollMs === undefined ? {} : { pollMs: control.pollMs }),
  });
}
