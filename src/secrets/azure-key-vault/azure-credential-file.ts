import { type FileHandle, open } from 'node:fs/promises';

import { CofreError } from '../../errors.js';

/** Which credential file is read, for messages: the config field that names it. */
export type AzureCredentialFileField = 'clientSecretFile' | 'certificateFile';

// A client secret is ~40 characters and a PEM certificate with its key and a chain a few KiB; anything bigger is a
// wrong path (a log, a key store), not a credential.
const MAX_CREDENTIAL_FILE_BYTES = 64 * 1024;

/**
 * Reads a service principal's credential file (`clientSecretFile` or `certificateFile`) named by backend `name`'s
 * config.
 *
 * SECURITY: the file must not be readable or writable by group or other (`COFRE_KEY_FILE_INSECURE`), as the
 * embedded store's key file: it unlocks the vault that holds the exchange keys, so whoever can read it can read
 * them. Refused, not warned about, because cofre cannot tell who else has read it, and not fixed, because the file
 * is the operator's (often a mounted Kubernetes secret, whose `defaultMode` is the place to fix it). The mode is
 * checked on the opened descriptor, so a file swapped after the check cannot slip through. Errors name the backend,
 * the field and the path, never the contents. The caller zeroes the returned buffer once it has what it needs.
 *
 * Throws `COFRE_CONFIG_INVALID` for a missing, unreadable, non-regular, oversized or empty file.
 */
export async function readAzureCredentialFile(
  name: string,
  field: AzureCredentialFileField,
  path: string,
): Promise<Buffer> {
  const what = `backend "${name}": credential.${field} ${path}`;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    throw invalid(
      code === 'ENOENT'
        ? `${what} does not exist; write the ${describe(field)} there (mode 600) or fix the path`
        : `${what} cannot be opened (${code ?? 'error'}); cofre's user needs read access to it`,
      path,
    );
  }
  try {
    return await readOpened(handle, what, field, path);
  } finally {
    await handle.close();
  }
}

async function readOpened(
  handle: FileHandle,
  what: string,
  field: AzureCredentialFileField,
  path: string,
): Promise<Buffer> {
  const stat = await handle.stat();
  if (!stat.isFile()) throw invalid(`${what} is not a regular file`, path);
  // Windows has no group/other mode bits; ACLs there are the operator's business.
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
    throw new CofreError(
      'COFRE_KEY_FILE_INSECURE',
      `${what} has mode ${mode} and can be accessed by other users; run: chmod 600 ${path} (for a Kubernetes secret volume, set defaultMode: 0400)`,
      { details: { path, mode } },
    );
  }
  // Read one byte past the limit to tell "exactly at the limit" from "too big" without trusting stat.size.
  const buffer = Buffer.alloc(MAX_CREDENTIAL_FILE_BYTES + 1);
  try {
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
    }
    if (length > MAX_CREDENTIAL_FILE_BYTES) {
      throw invalid(`${what} is larger than ${MAX_CREDENTIAL_FILE_BYTES} bytes; is it the right file?`, path);
    }
    if (buffer.subarray(0, length).toString('utf8').trim() === '') {
      throw invalid(`${what} is empty; write the ${describe(field)} there`, path);
    }
    const copy = Buffer.alloc(length);
    buffer.copy(copy, 0, 0, length);
    return copy;
  } catch (err) {
    if (err instanceof CofreError) throw err;
    throw invalid(`${what} cannot be read (${errnoCode(err) ?? 'error'})`, path);
  } finally {
    buffer.fill(0);
  }
}

function describe(field: AzureCredentialFileField): string {
  return field === 'clientSecretFile'
    ? 'client secret (one line)'
    : 'PEM certificate and its unencrypted private key';
}

function invalid(message: string, path: string): CofreError {
  return new CofreError('COFRE_CONFIG_INVALID', message, { details: { path } });
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}
