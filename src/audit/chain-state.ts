import { type AuditFile, auditFileLabel } from './audit-files.js';
import { GENESIS_PREV } from './audit-format.js';
import { type CheckpointKey, checkpointKeyFromPem, checkpointSignatureValid } from './checkpoint-key.js';
import { lineHash, parseAuditRecord, type ParsedRecord } from './parse-audit-record.js';
import type { VerifiedCheckpoint, VerifyOptions, VerifyReport } from './verify-chain.js';
import { FindingList, type Where } from './verify-findings.js';
import { reportLeftoverWitness, type WitnessCheckpoint } from './witness-checkpoints.js';

/**
 * The verifier's state while it walks the chain, one line at a time: where the chain is (next seq, hash of the last
 * line), what is known about the log (logId, key), and what was found. Internal to `verifyAuditLog`.
 */
export class ChainState {
  readonly findings = new FindingList();
  witnesses = new Map<number, WitnessCheckpoint[]>();
  records = 0;

  #key: CheckpointKey | undefined;
  readonly #maxRun: number | undefined;
  #logId: string | undefined;
  /** The seq and hash the next record must have; undefined until the first record, or after damage (resync). */
  #expectedSeq: number | undefined;
  #prevHash: string | undefined;
  #prevWhere: Where = {};
  #started = false;
  #firstSeq: number | undefined;
  #lastSeq: number | undefined;
  #firstTime: string | undefined;
  #lastTime: string | undefined;
  #verified = 0;
  #unsigned = 0;
  #lastVerified: VerifiedCheckpoint | undefined;
  #sinceCheckpoint = 0;
  #sinceVerified = 0;
  #unverifiableReported = false;
  // The file being read.
  #file: AuditFile | undefined;
  #label = '';
  #previousFile: AuditFile | undefined;
  #isCurrent = false;
  #firstInFile = true;
  #isFirstFile = true;

  constructor(options: VerifyOptions) {
    this.#key = options.pinnedKey;
    this.#maxRun = options.maxRecordsBetweenCheckpoints;
  }

  /** A file begins; `previous` is the file before it in the chain (undefined for the first). */
  startFile(file: AuditFile, previous: AuditFile | undefined, isCurrent: boolean): void {
    this.#file = file;
    this.#label = auditFileLabel(file);
    this.#previousFile = previous;
    this.#isCurrent = isCurrent;
    this.#firstInFile = true;
    this.#isFirstFile = previous === undefined;
  }

  /** A whole file is missing: the chain cannot be followed across it, so the next record resyncs. */
  lostFile(): void {
    this.#expectedSeq = undefined;
    this.#prevHash = undefined;
  }

  /** A line could not be read as a record: the next record resyncs (the damage is already reported). */
  lostLine(): void {
    this.#firstInFile = false;
    this.#expectedSeq = undefined;
    this.#prevHash = undefined;
  }

  /** One line of the current file. */
  line(bytes: Buffer, line: number, complete: boolean): void {
    const where: Where = { file: this.#label, line };
    if (!complete) {
      const message = 'the last line has no final newline: torn by a crash or cut';
      if (this.#isCurrent)
        this.findings.warning('torn-line', `${message} (the writer removes it at its next start)`, where);
      else this.findings.error('torn-line', message, where);
      return;
    }
    const hash = lineHash(bytes);
    const record = this.#parse(bytes, where);
    if (record === undefined) {
      this.lostLine();
      return;
    }
    const at: Where = { ...where, seq: record.seq };
    if (hash === this.#prevHash) {
      this.findings.error(
        'duplicate-record',
        `the same record as line ${this.#prevWhere.line ?? '?'} again`,
        at,
      );
      return; // the chain continues from the original
    }
    this.#checkLink(record, at);
    this.#checkKind(record, at);
    this.#checkWitness(record, bytes, at);
    this.#advance(record, hash, at);
  }

  #parse(bytes: Buffer, where: Where): ParsedRecord | undefined {
    const parsed = parseAuditRecord(bytes, this.#prevHash);
    if ('fields' in parsed) return parsed;
    this.findings.error(parsed.code, parsed.message, {
      ...where,
      ...(parsed.seq === undefined ? {} : { seq: parsed.seq }),
    });
    return undefined;
  }

  /** The seq and prev of a record against the record before it. */
  #checkLink(record: ParsedRecord, at: Where): void {
    if (!this.#started) {
      this.#checkStart(record, at);
      return;
    }
    const expected = this.#expectedSeq;
    if (expected === undefined) return; // resync after reported damage
    const before = describe(this.#prevWhere);
    if (record.seq > expected) {
      const missing = record.seq - expected;
      this.findings.error(
        'seq-gap',
        `seq ${record.seq} follows ${before}: ${missing} record(s) (seq ${expected}${missing > 1 ? `–${record.seq - 1}` : ''}) missing, deleted?`,
        at,
      );
    } else if (record.seq < expected) {
      this.findings.error(
        'seq-out-of-order',
        `seq ${record.seq} follows ${before}: a record reordered, duplicated or inserted`,
        at,
      );
    } else if (record.prev !== this.#prevHash) {
      this.findings.error(
        'prev-mismatch',
        `prev is not the hash of ${before}: that record was edited, or a record was inserted or deleted here`,
        at,
      );
    }
  }

  /** The first record of the log. */
  #checkStart(record: ParsedRecord, at: Where): void {
    this.#started = true;
    if (record.seq === 0) {
      if (record.prev !== GENESIS_PREV)
        this.findings.error('genesis', 'seq 0 must have the genesis prev (64 zeros)', at);
      return;
    }
    if (this.#file?.number !== undefined && this.#file.number > 1 && record.kind === 'continue') {
      this.findings.warning(
        'older-files-removed',
        `the log starts at seq ${record.seq}: files before ${this.#label} were removed (retention); checked from here`,
        at,
      );
      return;
    }
    this.findings.error(
      'genesis',
      `the log's first record is seq ${record.seq}, not the genesis record: records 0–${record.seq - 1} are missing`,
      at,
    );
  }

  #checkKind(record: ParsedRecord, at: Where): void {
    if (this.#firstInFile && !this.#isFirstFile && record.kind !== 'continue') {
      this.findings.error('continue-missing', `${this.#label} does not start with a continue record`, at);
    }
    if (record.kind === 'genesis') this.#genesis(record, at);
    else if (record.kind === 'continue') this.#continue(record, at);
    else if (record.kind === 'checkpoint') this.#checkpoint(record, at);
  }

  #genesis(record: ParsedRecord, at: Where): void {
    if (record.seq !== 0 || !this.#firstInFile || !this.#isFirstFile) {
      this.findings.error('genesis', 'a genesis record anywhere but at seq 0, first in the first file', at);
      return;
    }
    const { logId, publicKey } = record.fields;
    if (typeof logId !== 'string' || !/^[0-9a-f]{32}$/.test(logId)) {
      this.findings.error('genesis', 'the genesis record has no logId (32 hex digits)', at);
    } else {
      this.#logId = logId;
    }
    if (publicKey === undefined) return;
    let genesisKey: CheckpointKey;
    try {
      if (typeof publicKey !== 'string') throw new Error('the genesis publicKey is not a PEM string');
      genesisKey = checkpointKeyFromPem(publicKey, 'genesis', 'the genesis publicKey');
    } catch (err) {
      this.findings.error('genesis', (err as Error).message, at);
      return;
    }
    if (this.#key === undefined) {
      this.#key = genesisKey;
      this.findings.warning(
        'key-not-pinned',
        `checkpoints are checked against the genesis record's key ${genesisKey.keyId}, which whoever rewrites the whole log controls; pin it with --public-key`,
        at,
      );
    } else if (this.#key.keyId !== genesisKey.keyId) {
      this.findings.error(
        'genesis-key-mismatch',
        `the genesis record names key ${genesisKey.keyId}, not the pinned key ${this.#key.keyId}`,
        at,
      );
    }
  }

  #continue(record: ParsedRecord, at: Where): void {
    if (!this.#firstInFile) {
      this.findings.error(
        'continue-missing',
        'a continue record that is not the first record of its file',
        at,
      );
      return;
    }
    if (this.#isFirstFile) {
      this.#adoptLogId(record); // the oldest file left after retention
      return;
    }
    const previous = this.#previousFile;
    const { file, prevFileSize } = record.fields;
    if (previous === undefined || previous.size === undefined) return; // a missing file is reported already
    if (file !== previous.number) {
      this.findings.error(
        'continue-mismatch',
        `continues file ${JSON.stringify(file)}, but the file before is ${auditFileLabel(previous)}: a file is missing, extra or out of place`,
        at,
      );
    } else if (prevFileSize !== previous.size) {
      this.findings.error(
        'continue-mismatch',
        `says ${auditFileLabel(previous)} was ${JSON.stringify(prevFileSize)} bytes, it is ${previous.size}: that file was cut, extended or replaced`,
        at,
      );
    }
    this.#adoptLogId(record);
  }

  /** A continue record may carry the logId (so a log whose genesis file was removed can still be checked). */
  #adoptLogId(record: ParsedRecord): void {
    const { logId } = record.fields;
    if (this.#logId === undefined && typeof logId === 'string' && /^[0-9a-f]{32}$/.test(logId))
      this.#logId = logId;
  }

  #checkpoint(record: ParsedRecord, at: Where): void {
    const { head, count, keyId, signature, unsigned } = record.fields;
    if (head !== record.prev || count !== record.seq) {
      this.findings.error('checkpoint-fields', 'head must equal prev and count must equal seq', at);
      return;
    }
    this.#checkRun(at);
    this.#sinceCheckpoint = 0;
    if (signature === undefined && unsigned === true) {
      this.#unsigned += 1;
      this.findings.warning(
        'checkpoint-unsigned',
        'an unsigned checkpoint (no audit.signingKey): it vouches for nothing',
        at,
      );
      return;
    }
    if (typeof signature !== 'string' || typeof keyId !== 'string') {
      this.findings.error(
        'checkpoint-fields',
        'a checkpoint with no signature and keyId (and not marked unsigned)',
        at,
      );
      return;
    }
    if (this.#key === undefined || this.#logId === undefined) {
      if (!this.#unverifiableReported) {
        this.#unverifiableReported = true;
        this.findings.error(
          'checkpoint-unverifiable',
          this.#key === undefined
            ? 'signed checkpoints but no key to check them: pass --public-key (the genesis record has none)'
            : 'signed checkpoints but no logId to check them with (no genesis record, no logId in continue)',
          at,
        );
      }
      return;
    }
    if (keyId !== this.#key.keyId) {
      this.findings.error(
        'checkpoint-key',
        `signed by key ${keyId}, not the ${this.#key.source} key ${this.#key.keyId}`,
        at,
      );
      return;
    }
    if (
      !checkpointSignatureValid(
        { logId: this.#logId, seq: record.seq, head, ts: record.ts, signature },
        this.#key.key,
      )
    ) {
      this.findings.error(
        'checkpoint-signature',
        'the signature does not verify: a forged checkpoint, or this record was edited',
        at,
      );
      return;
    }
    this.#verified += 1;
    this.#sinceVerified = -1; // #advance counts the checkpoint itself
    this.#lastVerified = { seq: record.seq, ts: record.ts, file: at.file ?? '', line: at.line ?? 0 };
  }

  /** Too many records since the last checkpoint: a warning, since `every` may have been changed since. */
  #checkRun(at: Where): void {
    if (this.#maxRun !== undefined && this.#sinceCheckpoint > this.#maxRun) {
      this.findings.warning(
        'checkpoint-missing',
        `${this.#sinceCheckpoint} records without a checkpoint, more than ${this.#maxRun}: a checkpoint dropped, or the config changed`,
        at,
      );
    }
  }

  #checkWitness(record: ParsedRecord, bytes: Buffer, at: Where): void {
    const entries = this.witnesses.get(record.seq);
    if (entries === undefined) return;
    this.witnesses.delete(record.seq);
    for (const entry of entries) {
      if (!entry.bytes.equals(bytes)) {
        this.findings.error(
          'witness-mismatch',
          `witness ${entry.witness} line ${entry.line} holds another record at seq ${record.seq}: this one was edited or replaced`,
          at,
        );
      }
    }
  }

  #advance(record: ParsedRecord, hash: string, at: Where): void {
    this.#firstInFile = false;
    this.#expectedSeq = record.seq + 1;
    this.#prevHash = hash;
    this.#prevWhere = at;
    this.records += 1;
    this.#firstSeq ??= record.seq;
    this.#lastSeq = record.seq;
    this.#firstTime ??= record.ts;
    this.#lastTime = record.ts;
    if (record.kind !== 'checkpoint') this.#sinceCheckpoint += 1;
    this.#sinceVerified += 1;
  }

  /** After the last file: the tail after the last checkpoint, and witness checkpoints the log did not hold. */
  finish(): void {
    this.#checkRun({ ...this.#prevWhere });
    for (const [seq, entries] of this.witnesses) {
      for (const entry of entries) this.#leftoverWitness(seq, entry);
    }
    this.witnesses.clear();
  }

  #leftoverWitness(seq: number, entry: WitnessCheckpoint): void {
    if (this.#firstSeq !== undefined && seq < this.#firstSeq) return; // in files removed by retention
    reportLeftoverWitness(this.findings, entry, {
      lastSeq: this.#lastSeq ?? -1,
      logEnd: describe(this.#prevWhere),
      key: this.#key,
      logId: this.#logId,
    });
  }

  report(files: number, bytes: number): VerifyReport {
    const f = this.findings;
    return {
      verdict: f.errors === 0 ? 'verified' : 'broken',
      records: this.records,
      files,
      bytes,
      ...(this.#firstSeq === undefined ? {} : { firstSeq: this.#firstSeq }),
      ...(this.#lastSeq === undefined ? {} : { lastSeq: this.#lastSeq }),
      ...(this.#firstTime === undefined ? {} : { firstTime: this.#firstTime }),
      ...(this.#lastTime === undefined ? {} : { lastTime: this.#lastTime }),
      ...(this.#logId === undefined ? {} : { logId: this.#logId }),
      key:
        this.#key === undefined ? { source: 'none' } : { source: this.#key.source, keyId: this.#key.keyId },
      checkpoints: { verified: this.#verified, unsigned: this.#unsigned },
      ...(this.#lastVerified === undefined ? {} : { lastVerifiedCheckpoint: this.#lastVerified }),
      uncoveredRecords: this.#lastVerified === undefined ? this.records : this.#sinceVerified,
      errors: f.errors,
      warnings: f.warnings,
      findings: f.kept,
    };
  }
}

function describe(where: Where): string {
  return `seq ${where.seq ?? '?'} (${where.file ?? '?'} line ${where.line ?? '?'})`;
}
