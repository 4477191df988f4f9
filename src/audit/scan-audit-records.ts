import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { auditFileLabel, listAuditFiles } from './audit-files.js';
import { readAuditLines } from './audit-line-reader.js';

/** One record read back from the log, for `tail` and `query`. Not verified: `cofre audit verify` does that. */
export interface ScannedRecord {
  /** The file's name in the log's folder. */
  readonly file: string;
  readonly line: number;
  /** The line as written, without `\n`. */
  readonly text: string;
  readonly record: Readonly<Record<string, unknown>>;
}

/** Called for a line that is not a JSON object (a torn last line is skipped silently: a crash leaves one). */
export type BadLineHandler = (file: string, line: number) => void;

export function parseLine(
  file: string,
  line: number,
  bytes: Buffer | string,
  onBad?: BadLineHandler,
): ScannedRecord | undefined {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  try {
    const record: unknown = JSON.parse(text);
    if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
      return { file, line, text, record: record as Record<string, unknown> };
    }
  } catch {
    // reported below
  }
  onBad?.(file, line);
  return undefined;
}

/**
 * Streams every record of the log at `path`, oldest first across its rotated files, in bounded memory. Missing
 * files are skipped (`verify` reports them).
 */
export async function scanAuditRecords(
  path: string,
  onRecord: (record: ScannedRecord) => void,
  onBad?: BadLineHandler,
): Promise<void> {
  for (const file of await listAuditFiles(path)) {
    if (file.size === undefined) continue;
    const label = auditFileLabel(file);
    await readAuditLines(file.path, {
      line: (bytes, line, complete) => {
        if (!complete) return;
        const scanned = parseLine(label, line, bytes, onBad);
        if (scanned !== undefined) onRecord(scanned);
      },
      tooLong: (line) => onBad?.(label, line),
    });
  }
}

/** The last records of a log and where the current file's complete lines end (to follow from there). */
export interface LastRecords {
  readonly records: ScannedRecord[];
  /** Bytes of the current file up to the end of its last complete line. */
  readonly currentOffset: number;
}

/**
 * The last `n` records of the log, newest last, reading files from the newest back only as far as needed, each in
 * bounded memory (a ring of `n` lines).
 */
export async function lastAuditRecords(
  path: string,
  n: number,
  onBad?: BadLineHandler,
): Promise<LastRecords> {
  const files = (await listAuditFiles(path)).filter((f) => f.size !== undefined).reverse();
  let collected: ScannedRecord[] = [];
  let currentOffset = 0;
  for (const file of files) {
    if (collected.length >= n) break;
    const want = n - collected.length;
    const ring: ScannedRecord[] = [];
    const label = auditFileLabel(file);
    let offset = 0;
    await readAuditLines(file.path, {
      line: (bytes, line, complete) => {
        if (!complete) return;
        offset += bytes.length + 1;
        const scanned = parseLine(label, line, bytes, onBad);
        if (scanned === undefined) return;
        ring.push(scanned);
        if (ring.length > want) ring.shift();
      },
      tooLong: (line) => onBad?.(label, line),
    });
    if (file.number === undefined) currentOffset = offset;
    collected = [...ring, ...collected];
  }
  return { records: collected, currentOffset };
}

/** How {@link followAuditLog} runs. */
export interface FollowOptions {
  /** Byte offset in the current file to start after. */
  readonly from: number;
  readonly signal: AbortSignal;
  /** How often to look for new lines (default 250 ms). */
  readonly pollMs?: number;
  readonly onBad?: BadLineHandler;
}

/**
 * Calls `onRecord` for each record appended to the current file from `from` on, until `signal` aborts. Follows a
 * rotation: when the path names a new file, the rest of the old one (still open) is read first, then the new one
 * from its start.
 */
export async function followAuditLog(
  path: string,
  onRecord: (record: ScannedRecord) => void,
  options: FollowOptions,
): Promise<void> {
  let file = await open(path, 'r');
  let ino = (await file.stat()).ino;
  let position = options.from;
  let pending = Buffer.alloc(0);
  let line = 0; // line numbers are unknown when following from an offset: reported relative to it
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  const drain = async (): Promise<void> => {
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      pending = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let nl = pending.indexOf(10);
      while (nl !== -1) {
        line += 1;
        const scanned = parseLine(basename(path), line, pending.subarray(0, nl), options.onBad);
        if (scanned !== undefined) onRecord(scanned);
        pending = pending.subarray(nl + 1);
        nl = pending.indexOf(10);
      }
    }
  };
  try {
    while (!options.signal.aborted) {
      await drain();
      const now = await stat(path).catch(() => undefined);
      if (now !== undefined && now.ino !== ino) {
        await drain(); // the rest of the file that was rotated away
        await file.close();
        file = await open(path, 'r');
        ino = (await file.stat()).ino;
        position = 0;
        pending = Buffer.alloc(0);
        line = 0;
        continue;
      }
      await abortableDelay(options.pollMs ?? 250, options.signal);
    }
  } finally {
    await file.close();
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}
