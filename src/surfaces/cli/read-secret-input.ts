import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { CofreError } from '../../errors.js';
import type { CliIo } from './cli-io.js';

const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * Reads all of stdin into one Buffer (bounded). Used for secret values piped in; the chunks are zeroed after they
 * are copied.
 */
export async function readStdin(io: CliIo): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    chunks.push(buffer);
    if (size > MAX_INPUT_BYTES) {
      for (const c of chunks) c.fill(0);
      throw new CofreError(
        'COFRE_SECRET_VALUE_INVALID',
        `input on stdin is larger than ${MAX_INPUT_BYTES} bytes`,
      );
    }
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

/** Reads a file given on the command line, relative to the working directory. */
export async function readInputFile(io: CliIo, path: string): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, path));
  } catch (err) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Prompts on the terminal without echo and returns what was typed (without the newline). Hand-written over raw
 * mode because the prompt libraries return JavaScript strings, which cannot be zeroed; this one fills a Buffer.
 *
 * SECURITY: nothing typed is echoed; Ctrl-C and Ctrl-D abort with a usage error and the partial input is zeroed.
 */
export async function promptHidden(io: CliIo, question: string): Promise<Buffer> {
  const { stdin } = io;
  if (stdin.isTTY !== true || stdin.setRawMode === undefined) {
    throw new CofreError('COFRE_PASSPHRASE_REQUIRED', 'cannot prompt: standard input is not a terminal');
  }
  const setRawMode = stdin.setRawMode.bind(stdin);
  io.stderr.write(question);
  const buffer = Buffer.alloc(4096);
  let length = 0;
  setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<Buffer>((done, fail) => {
      const onData = (chunk: Buffer): void => {
        for (const byte of chunk) {
          if (byte === 0x0d || byte === 0x0a) {
            stdin.off('data', onData);
            done(Buffer.from(buffer.subarray(0, length)));
            return;
          }
          if (byte === 0x03 || byte === 0x04) {
            stdin.off('data', onData);
            fail(new CofreError('COFRE_USAGE', 'aborted'));
            return;
          }
          if (byte === 0x7f || byte === 0x08) {
            if (length > 0) length--;
          } else if (length < buffer.length) {
            buffer[length++] = byte;
          }
        }
        chunk.fill(0);
      };
      stdin.on('data', onData);
    });
  } finally {
    buffer.fill(0);
    setRawMode(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}

/** Drops one trailing `\n` or `\r\n` (what `echo` and editors add), in place; returns the trimmed view. */
export function trimTrailingNewline(input: Buffer): Buffer {
  let end = input.length;
  if (end > 0 && input[end - 1] === 0x0a) end--;
  if (end > 0 && input[end - 1] === 0x0d) end--;
  return input.subarray(0, end);
}
