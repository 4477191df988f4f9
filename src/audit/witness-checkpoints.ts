import { CofreError } from '../errors.js';
import { readAuditLines } from './audit-line-reader.js';
import { type CheckpointKey, checkpointSignatureValid } from './checkpoint-key.js';
import type { FindingList, Where } from './verify-findings.js';

/** One checkpoint line a witness holds. */
export interface WitnessCheckpoint {
  readonly witness: string;
  readonly line: number;
  readonly seq: number;
  /** The line's exact bytes, without `\n`. */
  readonly bytes: Buffer;
  readonly record: Readonly<Record<string, unknown>>;
}

/**
 * Reads the checkpoint lines of witness files, by seq. A witness holds one line per checkpoint (one per `every`
 * records), so keeping them in memory is bounded by the number of checkpoints, not records. Lines that are not
 * checkpoint records are reported; a torn last line (a witness written during a crash) only warned about.
 */
export async function readWitnessCheckpoints(
  paths: readonly string[],
  findings: FindingList,
): Promise<Map<number, WitnessCheckpoint[]>> {
  const bySeq = new Map<number, WitnessCheckpoint[]>();
  for (const witness of paths) {
    try {
      await readAuditLines(witness, {
        line: (bytes, line, complete) => {
          if (!complete) {
            findings.warning('witness-malformed', 'the last line has no final newline (torn); ignored', {
              file: witness,
              line,
            });
            return;
          }
          if (bytes.length === 0) return;
          const entry = witnessEntry(witness, line, bytes);
          if (entry === undefined) {
            findings.error('witness-malformed', 'not a checkpoint record', { file: witness, line });
            return;
          }
          bySeq.set(entry.seq, [...(bySeq.get(entry.seq) ?? []), entry]);
        },
        tooLong: (line) => {
          findings.error('witness-malformed', 'a line longer than any checkpoint', { file: witness, line });
        },
      });
    } catch (err) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `cannot read witness ${witness}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: err },
      );
    }
  }
  return bySeq;
}

function witnessEntry(witness: string, line: number, bytes: Buffer): WitnessCheckpoint | undefined {
  let record: unknown;
  try {
    record = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const fields = record as Record<string, unknown>;
  if (fields['kind'] !== 'checkpoint' || !Number.isSafeInteger(fields['seq'])) return undefined;
  return { witness, line, seq: fields['seq'] as number, bytes: Buffer.from(bytes), record: fields };
}

/** What the log was found to hold, for judging a witness checkpoint it did not hold. */
export interface LogEnd {
  /** The last seq read, or -1. */
  readonly lastSeq: number;
  /** Where the log ends, for the message. */
  readonly logEnd: string;
  readonly key: CheckpointKey | undefined;
  readonly logId: string | undefined;
}

/**
 * A witness checkpoint the walk through the log never met: beyond the log's end it proves records were cut
 * (TRUNCATION), unless its own signature fails (a forged witness line); within the log, its record was lost.
 */
export function reportLeftoverWitness(findings: FindingList, entry: WitnessCheckpoint, log: LogEnd): void {
  const { seq } = entry;
  const where: Where = { file: entry.witness, line: entry.line, seq };
  if (seq <= log.lastSeq) {
    findings.error(
      'witness-missing',
      `the log has no intact record at seq ${seq}, which the witness holds`,
      where,
    );
    return;
  }
  const { head, ts, signature, keyId } = entry.record;
  if (log.key !== undefined && log.logId !== undefined) {
    const valid =
      typeof head === 'string' &&
      typeof ts === 'string' &&
      typeof signature === 'string' &&
      keyId === log.key.keyId &&
      checkpointSignatureValid({ logId: log.logId, seq, head, ts, signature }, log.key.key);
    if (!valid) {
      findings.error(
        'witness-forged',
        `a witness checkpoint at seq ${seq} beyond the log's end does not verify`,
        where,
      );
      return;
    }
  }
  findings.error(
    'truncated',
    `TRUNCATED: the log ends at seq ${log.lastSeq} (${log.logEnd}) but the witness holds a checkpoint at seq ${seq}: at least ${seq - log.lastSeq} record(s) were cut off`,
    where,
  );
}
