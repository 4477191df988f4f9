import { open } from 'node:fs/promises';

/** Lines longer than this are not records (the writer never writes one); they are reported and skipped. */
export const MAX_AUDIT_LINE_BYTES = 16 * 1024 * 1024;

const CHUNK_BYTES = 1024 * 1024;

/** What {@link readAuditLines} hands over for each line. */
export interface AuditLineHandler {
  /**
   * One line, without its `\n`. `line` is a view into a reused buffer: copy it to keep it. `complete` is false only
   * for a last line with no final `\n` (torn by a crash or cut by hand).
   */
  line(line: Buffer, lineNumber: number, complete: boolean): void;
  /** A line longer than {@link MAX_AUDIT_LINE_BYTES}, skipped up to its `\n`. */
  tooLong(lineNumber: number): void;
  /** Called after each chunk read with the bytes read so far. */
  progress?(bytesRead: number): void;
}

/**
 * Reads a file line by line in fixed-size chunks, so memory stays bounded whatever the file's size: at most one
 * chunk plus one line of at most {@link MAX_AUDIT_LINE_BYTES}. Lines are split on the byte `\n` (never inside a
 * UTF-8 sequence, which has no byte below 0x80), so each line's bytes are exactly those the writer hashed.
 */
export async function readAuditLines(
  path: string,
  handler: AuditLineHandler,
  options: {
    /** Byte offset to start at, which must be the start of a line (line numbers then count from it); default 0. */
    readonly from?: number;
  } = {},
): Promise<void> {
  const file = await open(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let carry: Buffer | undefined; // the start of a line that began in an earlier chunk
    let skipping = false; // inside a line that is too long
    let lineNumber = 1;
    let bytesRead = 0;
    let position = options.from ?? 0;
    for (;;) {
      const { bytesRead: n } = await file.read(chunk, 0, CHUNK_BYTES, position);
      position += n;
      if (n === 0) break;
      bytesRead += n;
      let start = 0;
      for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < n; nl = chunk.indexOf(10, start)) {
        if (skipping) skipping = false;
        else if (carry === undefined) handler.line(chunk.subarray(start, nl), lineNumber, true);
        else handler.line(Buffer.concat([carry, chunk.subarray(start, nl)]), lineNumber, true);
        carry = undefined;
        lineNumber += 1;
        start = nl + 1;
      }
      if (start < n && !skipping) {
        const rest = chunk.subarray(start, n);
        carry = carry === undefined ? Buffer.from(rest) : Buffer.concat([carry, rest]);
        if (carry.length > MAX_AUDIT_LINE_BYTES) {
          handler.tooLong(lineNumber);
          carry = undefined;
          skipping = true;
        }
      }
      handler.progress?.(bytesRead);
    }
    if (carry !== undefined) handler.line(carry, lineNumber, false);
  } finally {
    await file.close();
  }
}
