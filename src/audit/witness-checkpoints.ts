import { CofreError } from '../errors.js';
import { readAuditLines } from './audit-line-reader.js';
import type { FindingList } from './verify-findings.js';

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
