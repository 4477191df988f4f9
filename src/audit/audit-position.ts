import { type FileHandle, open, stat } from 'node:fs/promises';

import { type AuditFile, auditFileLabel, listAuditFiles } from './audit-files.js';
import { recordHash } from './audit-format.js';
import { MAX_AUDIT_LINE_BYTES, readAuditLines } from './audit-line-reader.js';

/**
 * One record's place in the log: its chain position and hash, and where its line ends on disk (the file's inode,
 * which a rotation's rename keeps, and the byte offset after its `\n`). Enough to seek straight to what follows it,
 * and to check that the record found there is the same one.
 */
export interface AuditPosition {
  readonly seq: number;
  /** SHA-256 (hex) of the record's line without its `\n` ({@link recordHash}). */
  readonly hash: string;
  /** Inode of the file holding it, as a decimal string. */
  readonly ino: string;
  /** Byte offset just after the record's `\n`. */
  readonly offset: number;
}

const TAIL_BYTES = 64 * 1024;

/**
 * The last complete record of the log's current file, or undefined when it has none (missing, empty, or its last
 * complete line is not a record). A torn last line (no `\n`) is not a record yet and is left out.
 */
export async function auditEnd(path: string): Promise<AuditPosition | undefined> {
  const file = await openIfExists(path);
  if (file === undefined) return undefined;
  try {
    const { ino, size } = await file.stat();
    const last = await lineEndingBefore(file, size);
    if (last === undefined) return undefined;
    const seq = seqOf(last.text);
    if (seq === undefined) return undefined;
    return { seq, hash: recordHash(last.text), ino: String(ino), offset: last.end };
  } finally {
    await file.close();
  }
}

/** How {@link readAuditAfter} read the log. */
export interface AuditReadReport {
  /** `position`: from just after the given position; `start`: from the oldest file (no position, or not found). */
  readonly from: 'position' | 'start';
  /** Records handed to the caller. */
  readonly read: number;
}

/**
 * Hands every record after `after` to `onRecord`, oldest first, across rotated files, in bounded memory. When
 * `after` is undefined, or no file of the log holds that very record any more (the log was cut back by a power loss
 * and written on since, copied to another disk, or its file was removed by retention), every record of the log is
 * read instead: slower, never a record missed. Torn last lines and lines that are not JSON objects are skipped.
 */
export async function readAuditAfter(
  path: string,
  after: AuditPosition | undefined,
  onRecord: (record: Readonly<Record<string, unknown>>, file: string) => void,
  options: {
    /** Only records of these kinds are parsed and handed over (the others are skipped unparsed: faster). */
    readonly kinds?: readonly string[];
    /**
     * Rotated files last written before this are skipped: every record in them is older. The current file, and the
     * file holding `after`, are always read.
     */
    readonly notBefore?: Date;
  } = {},
): Promise<AuditReadReport> {
  const files = (await listAuditFiles(path)).filter((f) => f.size !== undefined);
  const wanted = options.kinds?.map((kind) => Buffer.from(`"kind":${JSON.stringify(kind)}`));
  let first = -1;
  if (after !== undefined) {
    for (let i = files.length - 1; i >= 0 && first === -1; i--) {
      if (await holds(files[i]?.path ?? '', after)) first = i;
    }
  }
  let read = 0;
  for (let i = Math.max(first, 0); i < files.length; i++) {
    const file = files[i];
    if (file === undefined || (i !== first && (await writtenBefore(file, options.notBefore)))) continue;
    const label = auditFileLabel(file);
    await readAuditLines(
      file.path,
      {
        line: (bytes, _line, complete) => {
          if (!complete) return;
          if (wanted !== undefined && !wanted.some((w) => bytes.includes(w))) return;
          const record = parseRecord(bytes);
          if (record === undefined) return;
          read += 1;
          onRecord(record, label);
        },
        tooLong: () => undefined,
      },
      { from: i === first && after !== undefined ? after.offset : 0 },
    );
  }
  return { from: first === -1 ? 'start' : 'position', read };
}

/** Whether `file` is a rotated file last written before `notBefore` (so is every record in it). */
async function writtenBefore(file: AuditFile, notBefore: Date | undefined): Promise<boolean> {
  if (notBefore === undefined || file.number === undefined) return false;
  const info = await stat(file.path).catch(() => undefined);
  return info !== undefined && info.mtimeMs < notBefore.getTime();
}

/** Whether the file at `path` is the one `position` names and still holds that record, ending where it said. */
async function holds(path: string, position: AuditPosition): Promise<boolean> {
  const file = await openIfExists(path);
  if (file === undefined) return false;
  try {
    const { ino, size } = await file.stat();
    if (String(ino) !== position.ino || position.offset > size) return false;
    const last = await lineEndingBefore(file, position.offset);
    return last?.end === position.offset && recordHash(last.text) === position.hash;
  } finally {
    await file.close();
  }
}

/** The last complete line before byte `end` (without its `\n`) and the offset after its `\n`. */
async function lineEndingBefore(
  file: FileHandle,
  end: number,
): Promise<{ readonly text: Buffer; readonly end: number } | undefined> {
  for (let window = TAIL_BYTES; ; window *= 4) {
    const start = Math.max(0, end - window);
    const buffer = Buffer.alloc(end - start);
    await file.read(buffer, 0, buffer.length, start);
    const nl = buffer.lastIndexOf(10);
    if (nl === -1 && start === 0) return undefined;
    if (nl !== -1) {
      const previous = nl === 0 ? -1 : buffer.lastIndexOf(10, nl - 1);
      if (previous !== -1 || start === 0)
        return { text: buffer.subarray(previous + 1, nl), end: start + nl + 1 };
    }
    if (window > MAX_AUDIT_LINE_BYTES) return undefined;
  }
}

function parseRecord(bytes: Buffer): Readonly<Record<string, unknown>> | undefined {
  try {
    const record: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
      return record as Record<string, unknown>;
    }
  } catch {
    // not a record: skipped, as `cofre audit query` does (`cofre audit verify` reports it)
  }
  return undefined;
}

function seqOf(line: Buffer): number | undefined {
  const seq = parseRecord(line)?.['seq'];
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : undefined;
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
