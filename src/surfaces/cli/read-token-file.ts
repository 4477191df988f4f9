import { open } from 'node:fs/promises';
import { resolve } from 'node:path';

import { CofreError } from '../../errors.js';
import type { CliIo } from './cli-io.js';
import { trimTrailingNewline } from './read-secret-input.js';

const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * Reads an agent token from a file given on the command line (`cofre mcp --token-file`).
 *
 * SECURITY: refuses a file that group or others can read or write (`COFRE_TOKEN_FILE_INSECURE`): whoever reads the
 * token acts as the agent. The mode is checked on the opened file, so it cannot be swapped between check and read.
 */
export async function readTokenFile(io: CliIo, path: string): Promise<string> {
  const file = resolve(io.cwd, path);
  const handle = await open(file, 'r').catch((err: unknown) => {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `cannot read the token file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new CofreError('COFRE_INPUT_INVALID', `the token file ${path} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new CofreError(
        'COFRE_TOKEN_FILE_INSECURE',
        `the token file ${path} has mode ${mode}, so other users can read it; run: chmod 600 ${path}`,
        { details: { path, mode } },
      );
    }
    if (stat.size > MAX_TOKEN_FILE_BYTES) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `the token file ${path} is larger than ${MAX_TOKEN_FILE_BYTES} bytes`,
      );
    }
    const raw = await handle.readFile();
    const token = trimTrailingNewline(raw).toString('utf8');
    raw.fill(0);
    return token;
  } finally {
    await handle.close();
  }
}
