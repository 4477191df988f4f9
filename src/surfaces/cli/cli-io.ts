import type { Readable, Writable } from 'node:stream';

/**
 * The process streams a command uses, passed in so tests run commands in-process and read what they printed.
 * Commands write results to `stdout` and everything meant for a person (progress, warnings, errors) to `stderr`.
 */
export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Working directory that relative `--config`, `--from-file` and `init` paths resolve against. */
  readonly cwd: string;
}

/** The real process streams. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

/** Writes one line to the stream. */
export function println(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
