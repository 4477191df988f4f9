import { CofreClientError } from './client-errors.js';

const MAX_TOKEN_FILE_BYTES = 4096;
/** Visible ASCII only: a token with a space, CR or LF could split the Authorization header. */
const TOKEN_TEXT = /^[\x21-\x7e]{1,4096}$/;

/**
 * Checks a token given in code. SECURITY: the message never quotes the token, not even in part.
 */
export function checkAgentToken(token: string, source: string): string {
  if (!TOKEN_TEXT.test(token)) {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      `the agent token from ${source} is empty or holds characters a token never has (spaces, line breaks, non-ASCII)`,
    );
  }
  if (token.startsWith('cofre_op_')) {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      `the token from ${source} is an operator token; the client takes an agent token (cofre agent add)`,
    );
  }
  return token;
}

/**
 * Reads an agent token from a file, by the same rules as the server's `--token-file`: one token, an optional
 * trailing newline, at most 4 KiB.
 *
 * SECURITY: refuses a file that group or others can read or write (`COFRE_TOKEN_FILE_INSECURE`): whoever reads the
 * token acts as the agent. The mode is checked on the opened file, so it cannot be swapped between check and read.
 * `node:fs` is loaded only here, so a client given its token in code runs where there is no file system.
 */
export async function readAgentTokenFile(path: string): Promise<string> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      `cannot read the token file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new CofreClientError('COFRE_INPUT_INVALID', `the token file ${path} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new CofreClientError(
        'COFRE_TOKEN_FILE_INSECURE',
        `the token file ${path} has mode ${mode}, so other users can read it; run: chmod 600 ${path}`,
      );
    }
    if (stat.size > MAX_TOKEN_FILE_BYTES) {
      throw new CofreClientError(
        'COFRE_INPUT_INVALID',
        `the token file ${path} is larger than ${MAX_TOKEN_FILE_BYTES} bytes`,
      );
    }
    const raw = await handle.readFile();
    let end = raw.length;
    if (end > 0 && raw[end - 1] === 0x0a) end--;
    if (end > 0 && raw[end - 1] === 0x0d) end--;
    const token = raw.subarray(0, end).toString('utf8');
    raw.fill(0);
    return checkAgentToken(token, `the token file ${path}`);
  } finally {
    await handle.close();
  }
}
