import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { type CheckpointKey, checkpointKeyFromPem } from '../../audit/checkpoint-key.js';
import { verifyPostgresAudit } from '../../audit/postgres-audit-verify.js';
import { verifyAuditLog, type VerifyProgress, type VerifyReport } from '../../audit/verify-chain.js';
import { findingText } from '../../audit/verify-findings.js';
import { CofreError } from '../../errors.js';
import { auditLogTarget } from './audit-log-path.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { readInputFile } from './read-secret-input.js';

/** Logs larger than this show progress on stderr even when it is not a terminal. */
export const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

export interface AuditVerifyOptions {
  readonly log?: string;
  readonly publicKey?: string;
  readonly witness?: readonly string[];
  readonly json?: boolean;
}

/**
 * `cofre audit verify`: checks the whole chain, every checkpoint and every witness; prints a summary and every
 * finding, and exits 1 (`COFRE_AUDIT_VERIFY_FAILED`) when anything is wrong. Witness files named in the config are
 * checked too. With `state.type: postgres` in the config (and no `--log`), the chain is the one all replicas write
 * into the state database (issue 16), read there.
 */
export async function auditVerify(
  io: CliIo,
  global: GlobalOptions,
  options: AuditVerifyOptions,
): Promise<void> {
  const target = await auditLogTarget(io, global, options.log);
  const pinnedKey = options.publicKey === undefined ? undefined : await readPinnedKey(io, options.publicKey);
  const given = (options.witness ?? []).map((w) => resolve(io.cwd, w));
  const missing = given.filter((w) => !existsSync(w));
  if (missing.length > 0) throw new CofreError('COFRE_USAGE', `no witness file at ${missing.join(', ')}`);
  const configured = target.witnessFiles.filter((w) => existsSync(w) && !given.includes(w));
  const witnesses = [...given, ...configured];
  const every = target.audit?.checkpoint.every;
  const checks = {
    ...(pinnedKey === undefined ? {} : { pinnedKey }),
    witnesses,
    // The writer checkpoints after the group commit that reaches `every`, so a run may pass it by one batch.
    ...(every === undefined ? {} : { maxRecordsBetweenCheckpoints: every * 2 }),
  };
  const state = target.config?.state;
  // With PostgreSQL state, every replica's records are one chain in the state database (issue 16).
  const inPostgres = target.config !== undefined && state?.type === 'postgres';
  const where = inPostgres ? POSTGRES_AUDIT_LABEL : target.path;
  const report = inPostgres
    ? await (
        await import('./audit-state-database.js')
      ).withAuditStateDatabase(io, target.config, state, (db) => verifyPostgresAudit(db, checks))
    : await verifyAuditLog({ path: target.path, ...checks, onProgress: progressPrinter(io) });
  if (options.json === true)
    println(
      io.stdout,
      JSON.stringify(
        { ...(inPostgres ? { store: 'postgres' } : { path: target.path }), witnesses, ...report },
        null,
        2,
      ),
    );
  else printReport(io, where, witnesses, options.publicKey, report);
  if (report.verdict !== 'verified') {
    throw new CofreError(
      'COFRE_AUDIT_VERIFY_FAILED',
      `the audit log ${inPostgres ? 'in' : 'at'} ${where} does not verify: ${report.errors} error(s)`,
    );
  }
}

/** How the report names the chain kept in PostgreSQL (issue 16). */
const POSTGRES_AUDIT_LABEL = 'the PostgreSQL state database (table audit_records)';

async function readPinnedKey(io: CliIo, file: string): Promise<CheckpointKey> {
  const pem = await readInputFile(io, file);
  return checkpointKeyFromPem(pem, 'pinned', `--public-key ${file}`);
}

/** Progress on stderr: on a terminal, one line rewritten; otherwise, for big logs only, a line per 10 %. */
function progressPrinter(io: CliIo): (progress: VerifyProgress) => void {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let lastStep = -1;
  return (p) => {
    if (!tty && p.totalBytes < PROGRESS_MIN_BYTES) return;
    const percent = p.totalBytes === 0 ? 100 : Math.floor((100 * p.doneBytes) / p.totalBytes);
    const step = tty ? percent : Math.floor(percent / 10);
    if (step === lastStep) return;
    lastStep = step;
    const text = `verifying ${p.file}: ${percent}% of ${mib(p.totalBytes)} MiB, ${p.records.toLocaleString('en')} records`;
    io.stderr.write(tty ? `\r${text}${percent >= 100 ? '\n' : ''}` : `${text}\n`);
  };
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function printReport(
  io: CliIo,
  path: string,
  witnesses: readonly string[],
  publicKeyFile: string | undefined,
  r: VerifyReport,
): void {
  const out = (line: string): void => {
    println(io.stdout, line);
  };
  const files = path === POSTGRES_AUDIT_LABEL ? '' : ` ${r.files} file(s),`;
  out(`audit log   ${path}:${files} ${mib(r.bytes)} MiB, ${r.records.toLocaleString('en')} records`);
  if (r.firstSeq !== undefined) {
    out(`records     seq ${r.firstSeq}–${r.lastSeq ?? '?'}, ${r.firstTime ?? '?'} to ${r.lastTime ?? '?'}`);
  }
  if (r.logId !== undefined) out(`log id      ${r.logId}`);
  const keyFrom =
    r.key.source === 'pinned'
      ? `pinned (--public-key ${publicKeyFile ?? ''})`
      : r.key.source === 'genesis'
        ? "from the log's genesis record (not pinned)"
        : 'none';
  out(`key         ${r.key.keyId ?? '-'} ${keyFrom}`);
  out(`checkpoints ${r.checkpoints.verified} verified, ${r.checkpoints.unsigned} unsigned`);
  const last = r.lastVerifiedCheckpoint;
  out(
    `last signed ${last === undefined ? 'none' : `seq ${last.seq} at ${last.ts} (${last.file} line ${last.line})`}`,
  );
  out(`uncovered   ${r.uncoveredRecords} record(s) after the last verified checkpoint`);
  out(
    `witnesses   ${witnesses.length === 0 ? 'none (a cut after the last checkpoint is undetectable)' : witnesses.join(', ')}`,
  );
  for (const f of r.findings) out(`${f.severity === 'error' ? 'ERROR  ' : 'WARNING'} ${findingText(f)}`);
  const hidden = r.errors + r.warnings - r.findings.length;
  if (hidden > 0) out(`… and ${hidden} more finding(s) not shown`);
  out(
    r.verdict === 'verified'
      ? `VERIFIED${r.warnings > 0 ? ` with ${r.warnings} warning(s)` : ''}`
      : `BROKEN: ${r.errors} error(s), ${r.warnings} warning(s)`,
  );
}
