import { readdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import { rotatedPath } from './audit-format.js';

/** One file of a log, oldest first. `number` is the rotation number, or undefined for the current file. */
export interface AuditFile {
  readonly path: string;
  readonly number: number | undefined;
  /** Size in bytes, or undefined when the file does not exist. */
  readonly size: number | undefined;
}

/**
 * The files of the log at `path`, in chain order: the rotated ones (`<path>.<n>`, lowest n first), then the current
 * file, which is listed even when it does not exist (size undefined) so the caller can report it. Any gap in the
 * numbers is listed as a file with size undefined, so a missing rotated file is reported where it belongs.
 */
export async function listAuditFiles(path: string): Promise<AuditFile[]> {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    names = [];
  }
  const numbers = names
    .filter((name) => name.startsWith(prefix) && /^\d{6,}$/.test(name.slice(prefix.length)))
    .map((name) => Number(name.slice(prefix.length)))
    .sort((a, b) => a - b);
  const files: AuditFile[] = [];
  const first = numbers[0];
  const last = numbers.at(-1);
  if (first !== undefined && last !== undefined) {
    const present = new Set(numbers);
    for (let n = first; n <= last; n++) {
      const file = rotatedPath(path, n);
      files.push({ path: file, number: n, size: present.has(n) ? await sizeOf(file) : undefined });
    }
  }
  files.push({ path, number: undefined, size: await sizeOf(path) });
  return files;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** `name` relative to the log's folder, for messages. */
export function auditFileLabel(file: AuditFile): string {
  return basename(file.path);
}
