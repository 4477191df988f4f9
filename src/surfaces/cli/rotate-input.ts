import { open } from 'node:fs/promises';
import { resolve } from 'node:path';

import { CofreError } from '../../errors.js';
import { type NewCredentials, parseNewCredentials } from '../../rotation/new-credentials.js';
import type { CredentialField } from '../../rotation/rotation-plan.js';
import { SecretValue } from '../../secrets/secret-value.js';
import type { CliIo } from './cli-io.js';
import { promptHidden, readStdin } from './read-secret-input.js';

const MAX_FILE_BYTES = 64 * 1024;

/**
 * The new credentials of `cofre rotate <account>`, as a JSON object of ccxt fields: from `--from-file`, else stdin
 * when it is not a terminal, else a no-echo prompt per field. Exactly `fields` must be given.
 *
 * SECURITY: never from argv; a file group or others can read is refused (`COFRE_KEY_FILE_INSECURE`, checked on the
 * opened file); input buffers are zeroed once parsed. No typo check by asking twice: the rotation's test step
 * refuses a key the venue does not accept, and nothing is promoted.
 */
export async function readNewCredentials(
  io: CliIo,
  fields: readonly CredentialField[],
  fromFile: string | undefined,
): Promise<NewCredentials> {
  let raw: Buffer;
  if (fromFile !== undefined) raw = await readPrivateFile(io, fromFile);
  else if (io.stdin.isTTY === true) raw = await promptFields(io, fields);
  else raw = await readStdin(io);
  const input = SecretValue.copyOf(raw);
  raw.fill(0);
  try {
    return parseNewCredentials(input, fields);
  } finally {
    input.zero();
  }
}

async function promptFields(io: CliIo, fields: readonly CredentialField[]): Promise<Buffer> {
  const object: Record<string, string> = {};
  for (const field of fields) {
    const typed = await promptHidden(io, `New ${field}: `);
    object[field] = typed.toString('utf8');
    typed.fill(0);
  }
  return Buffer.from(JSON.stringify(object));
}

async function readPrivateFile(io: CliIo, path: string): Promise<Buffer> {
  const handle = await open(resolve(io.cwd, path), 'r').catch((err: unknown) => {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CofreError('COFRE_INPUT_INVALID', `${path} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new CofreError(
        'COFRE_KEY_FILE_INSECURE',
        `${path} has mode ${mode}, so other users can read the new credentials; run: chmod 600 ${path} (and delete it after the rotation)`,
        { details: { path, mode } },
      );
    }
    if (stat.size > MAX_FILE_BYTES) {
      throw new CofreError('COFRE_INPUT_INVALID', `${path} is larger than ${MAX_FILE_BYTES} bytes`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
