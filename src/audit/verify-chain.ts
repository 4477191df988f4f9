import { type AuditFile, auditFileLabel, listAuditFiles } from './audit-files.js';
import { readAuditLines } from './audit-line-reader.js';
import { ChainState } from './chain-state.js';
import { type CheckpointKey } from './checkpoint-key.js';
import { type VerifyFinding } from './verify-findings.js';
import { readWitnessCheckpoints } from './witness-checkpoints.js';

/** How far verification has got, for a progress display. */
export interface VerifyProgress {
  readonly file: string;
  readonly fileBytes: number;
  readonly fileSize: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly records: number;
}

/** What to verify and against what. */
export interface VerifyOptions {
  /** `audit.path`: the current file; rotated files are found beside it. */
  readonly path: string;
  /** The checkpoint key the operator pinned (`--public-key`); without it, the genesis record's key is used. */
  readonly pinnedKey?: CheckpointKey;
  /** Witness files whose checkpoint lines must all be in the log, byte for byte. */
  readonly witnesses?: readonly string[];
  /** Warn when more records than this lie between two checkpoints (or after the last). */
  readonly maxRecordsBetweenCheckpoints?: number;
  /** Called after each chunk read (about every MiB). */
  readonly onProgress?: (progress: VerifyProgress) => void;
}

/** A checkpoint whose signature verified, and where it is. */
export interface VerifiedCheckpoint {
  readonly seq: number;
  readonly ts: string;
  readonly file: string;
  readonly line: number;
}

/** The result of {@link verifyAuditLog}. */
export interface VerifyReport {
  /** `verified`: no error (warnings may remain); `broken`: at least one error. */
  readonly verdict: 'verified' | 'broken';
  readonly records: number;
  readonly files: number;
  readonly bytes: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly firstTime?: string;
  readonly lastTime?: string;
  readonly logId?: string;
  /** Which key checked the checkpoints: the pinned one, the genesis record's, or none. */
  readonly key: { readonly source: 'pinned' | 'genesis' | 'none'; readonly keyId?: string };
  readonly checkpoints: { readonly verified: number; readonly unsigned: number };
  readonly lastVerifiedCheckpoint?: VerifiedCheckpoint;
  /** Records after the last verified checkpoint: no signature covers them (all records when there is none). */
  readonly uncoveredRecords: number;
  readonly errors: number;
  readonly warnings: number;
  /** The first 1000 findings, in the order found; `errors` and `warnings` count them all. */
  readonly findings: readonly VerifyFinding[];
}

/**
 * Verifies a whole audit log (format v1, `audit-format.ts`): the rotated files in order, then the current one, line
 * by line in bounded memory. Checks every record's head, the seq and hash chain across files, the `continue` record
 * of each file, every checkpoint's head, count, key and signature, and that every witness checkpoint is in the log.
 * Reports each problem with its file, line and seq; never throws for a damaged log (only for an unreadable witness).
 *
 * What it trusts: the pinned key, when given; otherwise the key in the genesis record, which a writer able to
 * rewrite the whole log also controls (reported as a warning).
 */
export async function verifyAuditLog(options: VerifyOptions): Promise<VerifyReport> {
  const files = await listAuditFiles(options.path);
  const state = new ChainState(options);
  state.witnesses = await readWitnessCheckpoints(options.witnesses ?? [], state.findings);
  const totalBytes = files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  if (files.every((f) => f.size === undefined)) {
    state.findings.error('no-log', `no audit log at ${options.path}`);
  } else {
    let doneBytes = 0;
    for (const [index, file] of files.entries()) {
      await verifyFile(state, file, index, files, (fileBytes) => {
        options.onProgress?.({
          file: auditFileLabel(file),
          fileBytes,
          fileSize: file.size ?? 0,
          doneBytes: doneBytes + fileBytes,
          totalBytes,
          records: state.records,
        });
      });
      doneBytes += file.size ?? 0;
    }
  }
  state.finish();
  return state.report(files.filter((f) => f.size !== undefined).length, totalBytes);
}

async function verifyFile(
  state: ChainState,
  file: AuditFile,
  index: number,
  files: readonly AuditFile[],
  progress: (fileBytes: number) => void,
): Promise<void> {
  const label = auditFileLabel(file);
  const isCurrent = index === files.length - 1;
  if (file.size === undefined) {
    state.findings.error(
      'missing-file',
      isCurrent
        ? `the current file ${label} is missing; the log ends in ${auditFileLabel(files[index - 1] ?? file)}`
        : `${label} is missing between ${auditFileLabel(files[index - 1] ?? file)} and ${auditFileLabel(files[index + 1] ?? file)}`,
      { file: label },
    );
    state.lostFile();
    return;
  }
  state.startFile(file, index === 0 ? undefined : files[index - 1], isCurrent);
  if (file.size === 0) {
    if (isCurrent && index > 0) state.findings.warning('empty-file', `${label} is empty (just rotated?)`);
    else state.findings.error('empty-file', `${label} is empty`, { file: label });
    return;
  }
  await readAuditLines(file.path, {
    line: (bytes, line, complete) => {
      state.line(bytes, line, complete);
    },
    tooLong: (line) => {
      state.findings.error('line-too-long', 'a line longer than any record (16 MiB)', { file: label, line });
      state.lostLine();
    },
    progress,
  });
}
