import { readFileSync } from 'node:fs';

import { securePrivateFile } from '../../../config/private-file.js';
import { CofreError } from '../../../errors.js';

/** The certificate and key the console serves HTTPS with. */
export interface ConsoleTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads `server.console.tls` once, at start. SECURITY: the key file gets the check of every private file of cofre
 * (`securePrivateFile`: restricted to 600 when it is ours and readable beyond its owner, refused when another user
 * owns it). A file that cannot be read is `COFRE_CONFIG_INVALID` naming it.
 */
export function readConsoleTls(tls: { readonly certFile: string; readonly keyFile: string }): ConsoleTls {
  if (!securePrivateFile(tls.keyFile)) throw unreadable('keyFile', tls.keyFile, 'ENOENT');
  return { cert: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) };
}

function read(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw unreadable(field, path, (err as NodeJS.ErrnoException).code ?? 'error', err);
  }
}

function unreadable(field: string, path: string, code: string, cause?: unknown): CofreError {
  return new CofreError(
    'COFRE_CONFIG_INVALID',
    `server.console.tls.${field}: cannot read ${path} (${code})`,
    { ...(cause === undefined ? {} : { cause }), details: { path } },
  );
}
