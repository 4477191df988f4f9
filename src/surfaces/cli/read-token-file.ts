import { resolve } from 'node:path';

import { readAgentTokenFile } from '../../client/agent-token.js';
import { CofreClientError } from '../../client/client-errors.js';
import { CofreError, errorCatalogue } from '../../errors.js';
import type { CliIo } from './cli-io.js';

/**
 * Reads an agent token from a file given on the command line (`cofre mcp --token-file`, `cofre agent mcp-config`).
 * The rules are the TypeScript client's, written once (src/client/agent-token.ts): a regular file of mode 600 at most
 * 4 KiB, one agent token, an optional trailing newline.
 *
 * SECURITY: refuses a file that group or others can read or write (`COFRE_TOKEN_FILE_INSECURE`): whoever reads the
 * token acts as the agent. The mode is checked on the opened file, so it cannot be swapped between check and read.
 */
export async function readTokenFile(io: CliIo, path: string): Promise<string> {
  try {
    return await readAgentTokenFile(resolve(io.cwd, path));
  } catch (err) {
    // The CLI's one error type, so its exit codes and messages stay those of the catalogue.
    if (err instanceof CofreClientError && Object.hasOwn(errorCatalogue, err.code)) {
      throw new CofreError(
        err.code as keyof typeof errorCatalogue,
        err.message.replace(resolve(io.cwd, path), path),
        { cause: err },
      );
    }
    throw err;
  }
}
