/**
 * Where the chain stands in the current file: found from the file's last whole record (a torn line after it is cut
 * off), or, in an empty file, from the newest rotated file (the new file then starts with a `continue` record) or
 * from nothing (a `genesis` record). Runs under the log's lock.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';

import { CofreError } from '../errors.js';
import { GENESIS_PREV, recordHash } from './audit-format.js';
import { listRotated } from './audit-rotation.js';
import { parseRecordHead, readFirstLine, readTail } from './audit-tail.js';

/** The next record's place: its seq, its prev, and the file offset it starts at. */
export interface ChainCursor {
  readonly seq: number;
  readonly prev: string;
  readonly end: number;
}

/** A record the chain itself needs before the next batch: the first of a new log or of a new file. */
export interface ChainLead {
  readonly kind: 'genesis' | 'continue';
  readonly fields: Readonly<Record<string, unknown>>;
}

/** What {@link locateChainEnd} found. */
export interface ChainPosition {
  readonly cursor: ChainCursor;
  readonly lead: ChainLead | undefined;
  readonly logId: string | undefined;
  /** Bytes of a torn last line cut off (never acknowledged: a crash or failure mid-write). */
  readonly torn: number;
}

/**
 * The chain's end in `file` (the current log file, `size` bytes, opened read+append), cutting a torn last line.
 * Returns `legacy` when the file holds lines of the unchained format (before issue 10), which the caller sets aside.
 * Throws `COFRE_AUDIT_UNAVAILABLE` when the last line is not a record (edited or damaged).
 */
export async function locateChainEnd(
  file: FileHandle,
  path: string,
  size: number,
  known: { readonly logId: string | undefined; readonly publicKeyPem: string | undefined },
): Promise<ChainPosition | 'legacy'> {
  const tail = await readTail(file, size);
  // SECURITY: a torn line was never acknowledged (an append resolves only after its whole batch is synced), so
  // cutting it loses nothing promised, and the chain never builds on a record the verifier could not place.
  if (tail.torn > 0) await file.truncate(tail.end);
  if (tail.line === undefined) {
    return { ...(await startFile(path, known)), torn: tail.torn };
  }
  const last = parseRecordHead(tail.line);
  if (last === undefined) {
    const first = await readFirstLine(file);
    if (first !== undefined && parseRecordHead(first) === undefined) return 'legacy';
    throw notARecord(path);
  }
  const logId = known.logId ?? logIdOf(await readFirstLine(file));
  return {
    cursor: { seq: last.seq + 1, prev: recordHash(tail.line), end: tail.end },
    lead: undefined,
    logId,
    torn: tail.torn,
  };
}

/** The start of an empty current file: `continue` after the newest rotated file, or `genesis` of a new log. */
async function startFile(
  path: string,
  known: { readonly logId: string | undefined; readonly publicKeyPem: string | undefined },
): Promise<Omit<ChainPosition, 'torn'>> {
  const newest = (await listRotated(path)).at(-1);
  if (newest === undefined) {
    const logId = randomBytes(16).toString('hex');
    return {
      cursor: { seq: 0, prev: GENESIS_PREV, end: 0 },
      lead: { kind: 'genesis', fields: { logId, publicKey: known.publicKeyPem } },
      logId,
    };
  }
  const file = await open(newest.path, 'r');
  try {
    const { size } = await file.stat();
    const tail = await readTail(file, size);
    const last = tail.line === undefined ? undefined : parseRecordHead(tail.line);
    if (tail.line === undefined || last === undefined) throw notARecord(newest.path);
    const logId = known.logId ?? logIdOf(await readFirstLine(file));
    return {
      cursor: { seq: last.seq + 1, prev: recordHash(tail.line), end: 0 },
      // `logId` is carried in each `continue` so that a writer can sign checkpoints after retention removed the
      // file with the genesis record.
      lead: { kind: 'continue', fields: { file: newest.n, prevFileSize: tail.end, logId } },
      logId,
    };
  } finally {
    await file.close();
  }
}

function logIdOf(firstLine: Buffer | undefined): string | undefined {
  const first = firstLine === undefined ? undefined : parseRecordHead(firstLine);
  const id = first?.['logId'];
  return typeof id === 'string' ? id : undefined;
}

function notARecord(path: string): CofreError {
  return new CofreError(
    'COFRE_AUDIT_UNAVAILABLE',
    `the last line of ${path} is not an audit record (edited or damaged); run \`cofre audit verify\` and move the file aside to start a new log`,
  );
}
