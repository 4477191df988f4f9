/**
 * What `verifyAuditLog` can find wrong with a log. Each code names one kind of damage; the message says what and
 * where in words an operator can act on.
 */
export type VerifyFindingCode =
  /** No log at the path: neither the current file nor any rotated file. */
  | 'no-log'
  /** A rotated file between two others, or the current file, is missing. */
  | 'missing-file'
  /** A file that should hold records is empty. */
  | 'empty-file'
  /** The oldest files were removed (retention): the chain is checked from the oldest one left. */
  | 'older-files-removed'
  /** A line that is not a JSON object with the record head, or not UTF-8 JSON at all. */
  | 'malformed-line'
  /** A last line with no final newline: torn by a crash (the writer removes it at its next start) or cut. */
  | 'torn-line'
  /** A line longer than any record. */
  | 'line-too-long'
  /** `v` is not the schema version this verifier reads. */
  | 'schema-version'
  /** A head field missing, of the wrong type, or out of order. */
  | 'head-fields'
  /** seq jumps forward: records are missing (deleted) before this one. */
  | 'seq-gap'
  /** seq goes backwards or repeats: a record reordered, duplicated or inserted. */
  | 'seq-out-of-order'
  /** The very same line twice in a row. */
  | 'duplicate-record'
  /** `prev` is not the hash of the line before: that line was edited, or one was inserted or deleted here. */
  | 'prev-mismatch'
  /** The genesis record is missing, misplaced or malformed. */
  | 'genesis'
  /** A file after the first does not start with a `continue` record, or one appears elsewhere. */
  | 'continue-missing'
  /** A `continue` record names another file or size than the file before it. */
  | 'continue-mismatch'
  /** A checkpoint's own fields are wrong: head ≠ prev, count ≠ seq, missing signature. */
  | 'checkpoint-fields'
  /** A checkpoint signed by another key than the pinned one. */
  | 'checkpoint-key'
  /** A checkpoint whose signature does not verify (forged, or its record edited). */
  | 'checkpoint-signature'
  /** Signed checkpoints but no key to check them: no `--public-key`, no key in the genesis record. */
  | 'checkpoint-unverifiable'
  /** A checkpoint written without a signature (no signing key configured): it vouches for nothing. */
  | 'checkpoint-unsigned'
  /** More records between two checkpoints (or after the last) than `every` allows. */
  | 'checkpoint-missing'
  /** The genesis record's public key is not the one pinned with `--public-key`. */
  | 'genesis-key-mismatch'
  /** The checkpoint key was taken from the log itself (genesis), which a rewriter of the whole log controls. */
  | 'key-not-pinned'
  /** A witness checkpoint whose record in the log differs, byte for byte. */
  | 'witness-mismatch'
  /** A witness checkpoint at a seq the log holds, but whose record was not found. */
  | 'witness-missing'
  /** A witness line that is not a checkpoint record. */
  | 'witness-malformed'
  /** A witness holds a checkpoint beyond the log's end: records were cut off. */
  | 'truncated'
  /** A witness checkpoint beyond the log's end whose signature does not verify. */
  | 'witness-forged'
  /**
   * PostgreSQL (issue 16): the `audit_head` row is missing, or names another last record than the table's: records
   * were cut off the end, or added or edited behind the writer's back.
   */
  | 'head-mismatch';

/** One thing found wrong (error) or worth knowing (warning), with where it is when it has a place. */
export interface VerifyFinding {
  readonly severity: 'error' | 'warning';
  readonly code: VerifyFindingCode;
  readonly message: string;
  /** The file's name (in the log's folder), or the witness's path. */
  readonly file?: string;
  /** 1-based line number in `file`. */
  readonly line?: number;
  readonly seq?: number;
}

/** Findings kept in full; past this, only counted, so a wrecked log cannot exhaust memory. */
export const MAX_KEPT_FINDINGS = 1000;

/** Collects findings, keeping the first {@link MAX_KEPT_FINDINGS} and counting the rest. */
export class FindingList {
  readonly kept: VerifyFinding[] = [];
  errors = 0;
  warnings = 0;

  add(finding: VerifyFinding): void {
    if (finding.severity === 'error') this.errors += 1;
    else this.warnings += 1;
    if (this.kept.length < MAX_KEPT_FINDINGS) this.kept.push(finding);
  }

  error(code: VerifyFindingCode, message: string, where: Where = {}): void {
    this.add({ severity: 'error', code, message, ...where });
  }

  warning(code: VerifyFindingCode, message: string, where: Where = {}): void {
    this.add({ severity: 'warning', code, message, ...where });
  }
}

/** Where a finding is. */
export interface Where {
  readonly file?: string;
  readonly line?: number;
  readonly seq?: number;
}

/** A finding as one line, `<code> at <file> line <n> seq <n>: <message>`, as `cofre audit verify` and the console show it. */
export function findingText(f: VerifyFinding): string {
  const where = [
    f.file,
    f.line === undefined ? undefined : `line ${f.line}`,
    f.seq === undefined ? undefined : `seq ${f.seq}`,
  ]
    .filter((x) => x !== undefined)
    .join(' ');
  return `${f.code}${where === '' ? '' : ` at ${where}`}: ${f.message}`;
}
