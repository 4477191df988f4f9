/**
 * Reading the ends of an audit file cheaply: the last whole record (to resume the chain) and the first line (to learn
 * the log's id), without reading the file in between. Used by the chained writer on open and whenever another
 * process has written since.
 */
import type { FileHandle } from 'node:fs/promises';

import { AUDIT_SCHEMA_VERSION, type AuditRecordHead } from './audit-format.js';

const CHUNK = 64 * 1024;
const NL = 0x0a;

/** What the end of a file holds. */
export interface AuditTail {
  /** Bytes up to and including the last `\n`: where the last whole record ends. */
  readonly end: number;
  /** Bytes after `end` (a line without its `\n`: a write cut short). */
  readonly torn: number;
  /** The last whole line, without its `\n`; undefined when the file holds no whole line. */
  readonly line: Buffer | undefined;
}

/** The last whole line of the first `size` bytes of `file`, reading backwards in 64 KiB chunks. */
export async function readTail(file: FileHandle, size: number): Promise<AuditTail> {
  let buf = Buffer.alloc(0);
  let start = size;
  let lastNl = -1; // index in buf
  for (;;) {
    const from = Math.max(0, start - CHUNK);
    const chunk = Buffer.alloc(start - from);
    if (chunk.length > 0) await readFully(file, chunk, from);
    buf = Buffer.concat([chunk, buf]);
    start = from;
    if (lastNl === -1) lastNl = buf.lastIndexOf(NL);
    else lastNl += chunk.length;
    if (lastNl !== -1) {
      const before = lastNl === 0 ? -1 : buf.lastIndexOf(NL, lastNl - 1);
      if (before !== -1 || start === 0) {
        const end = start + lastNl + 1;
        return { end, torn: size - end, line: buf.subarray(before + 1, lastNl) };
      }
    } else if (start === 0) {
      return { end: 0, torn: size, line: undefined };
    }
  }
}

/** The first line of `file` (without `\n`), or undefined when it has no whole line. */
export async function readFirstLine(file: FileHandle): Promise<Buffer | undefined> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const chunk = Buffer.alloc(CHUNK);
    const { bytesRead } = await file.read(chunk, 0, CHUNK, buf.length);
    if (bytesRead === 0) return undefined;
    buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
    const nl = buf.indexOf(NL);
    if (nl !== -1) return buf.subarray(0, nl);
  }
}

/** The head of a v1 record, or undefined when `line` is not one (not JSON, or its head fields are missing). */
export function parseRecordHead(line: Buffer): (AuditRecordHead & Record<string, unknown>) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const ok =
    r['v'] === AUDIT_SCHEMA_VERSION &&
    Number.isSafeInteger(r['seq']) &&
    (r['seq'] as number) >= 0 &&
    typeof r['prev'] === 'string' &&
    /^[0-9a-f]{64}$/.test(r['prev']) &&
    typeof r['kind'] === 'string' &&
    typeof r['ts'] === 'string';
  return ok ? (r as unknown as AuditRecordHead & Record<string, unknown>) : undefined;
}

async function readFully(file: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done);
    if (bytesRead === 0)
      throw new Error(`the audit file is shorter than expected (${position + done} bytes)`);
    done += bytesRead;
  }
}
