import { randomBytes } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

import { CofreError } from '../../errors.js';
import { errnoCode, fsyncDirectory, makePrivateDirectory } from './atomic-write.js';
import { KEY_BYTES } from './store-keys.js';

/**
 * A file holding exactly 32 random bytes (raw, not encoded): zero-setup local use. `EmbeddedBackend.create`
 * writes it, mode 0600, when it does not exist yet.
 */
export interface KeyFileSource {
  readonly kind: 'key-file';
  readonly path: string;
}

/** A file holding a passphrase (one trailing newline is ignored), e.g. a mounted Kubernetes or Docker secret. */
export interface PassphraseFileSource {
  readonly kind: 'passphrase-file';
  readonly path: string;
}

/**
 * A passphrase asked for when the store is opened or created. The CLI supplies a no-echo terminal prompt (and asks
 * twice on create); cofre zeroes the returned buffer once the key is derived, so return a buffer you do not reuse.
 */
export interface PassphrasePromptSource {
  readonly kind: 'passphrase-prompt';
  readonly prompt: () => Promise<Buffer>;
}

/** Where the embedded store's master key comes from. */
export type KeySource = KeyFileSource | PassphraseFileSource | PassphrasePromptSource;

/** Key bytes as read from a {@link KeySource}. The holder zeroes `bytes` after deriving keys. */
export interface KeyMaterial {
  readonly kind: 'key' | 'passphrase';
  readonly bytes: Buffer;
}

// A passphrase file is a line of text; anything bigger is a wrong path (a key store, a log), not a passphrase.
const MAX_PASSPHRASE_BYTES = 4096;

/**
 * Reads key material from `source`.
 *
 * SECURITY: key and passphrase files must not be readable or writable by group or other
 * (`COFRE_KEY_FILE_INSECURE`): a store is only as private as its key. The mode is checked on the opened file
 * descriptor, so a file swapped after the check cannot slip through. Errors name the file, never its contents.
 *
 * Throws `COFRE_KEY_FILE_INVALID` for a missing, unreadable, empty or wrongly sized file and
 * `COFRE_PASSPHRASE_REQUIRED` for an empty prompted passphrase. Safe to call concurrently.
 */
export async function readKeyMaterial(source: KeySource): Promise<KeyMaterial> {
  switch (source.kind) {
    case 'key-file': {
      const bytes = await readPrivateFile(source.path, 'key file', KEY_BYTES);
      if (bytes.length !== KEY_BYTES) {
        bytes.fill(0);
        throw new CofreError(
          'COFRE_KEY_FILE_INVALID',
          `key file ${source.path} holds ${bytes.length} bytes; a cofre key file holds exactly ${KEY_BYTES} random bytes`,
          { details: { path: source.path, length: bytes.length } },
        );
      }
      return { kind: 'key', bytes };
    }
    case 'passphrase-file': {
      const raw = await readPrivateFile(source.path, 'passphrase file', MAX_PASSPHRASE_BYTES);
      const bytes = copyOf(raw.subarray(0, lengthWithoutNewline(raw)));
      raw.fill(0);
      if (bytes.length === 0) {
        throw new CofreError('COFRE_KEY_FILE_INVALID', `passphrase file ${source.path} is empty`, {
          details: { path: source.path },
        });
      }
      return { kind: 'passphrase', bytes };
    }
    case 'passphrase-prompt': {
      const bytes = await source.prompt();
      if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
        throw new CofreError(
          'COFRE_PASSPHRASE_REQUIRED',
          'the store needs a passphrase and an empty one was given',
        );
      }
      return { kind: 'passphrase', bytes };
    }
  }
}

/**
 * Creates a key file of 32 random bytes with mode 0600 (and its directory, mode 0700) unless a file already exists
 * at `path`. Returns whether it created one. Concurrent callers are safe: `O_EXCL` lets exactly one create it.
 *
 * Throws `COFRE_STORE_WRITE_FAILED` when the file cannot be written; a partly written key file is removed.
 */
export async function createKeyFile(path: string): Promise<boolean> {
  await makePrivateDirectory(dirname(path));
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw writeFailed(path, err);
  }
  const key = randomBytes(KEY_BYTES);
  try {
    await handle.writeFile(key);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw writeFailed(path, err);
  } finally {
    key.fill(0);
  }
  await handle.close();
  await fsyncDirectory(dirname(path)).catch((err: unknown) => {
    throw writeFailed(path, err);
  });
  return true;
}

async function readPrivateFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    throw new CofreError(
      'COFRE_KEY_FILE_INVALID',
      code === 'ENOENT'
        ? `${what} ${path} does not exist`
        : `${what} ${path} cannot be opened (${code ?? 'error'})`,
      { cause: err, details: { path } },
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new CofreError('COFRE_KEY_FILE_INVALID', `${what} ${path} is not a regular file`, {
        details: { path },
      });
    }
    // Windows has no group/other mode bits; ACLs there are the operator's business.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new CofreError(
        'COFRE_KEY_FILE_INSECURE',
        `${what} ${path} has mode ${mode} and can be accessed by other users; run: chmod 600 ${path}`,
        { details: { path, mode } },
      );
    }
    // Read one byte past the limit to tell "exactly at the limit" from "too big" without trusting stat.size.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buffer.length) break;
      }
      if (length > maxBytes) {
        throw new CofreError('COFRE_KEY_FILE_INVALID', `${what} ${path} is larger than ${maxBytes} bytes`, {
          details: { path },
        });
      }
      return copyOf(buffer.subarray(0, length));
    } finally {
      buffer.fill(0);
    }
  } catch (err) {
    if (err instanceof CofreError) throw err;
    throw new CofreError(
      'COFRE_KEY_FILE_INVALID',
      `${what} ${path} cannot be read (${errnoCode(err) ?? 'error'})`,
      {
        cause: err,
        details: { path },
      },
    );
  } finally {
    await handle.close();
  }
}

function lengthWithoutNewline(bytes: Buffer): number {
  // One line ending, as `echo` or an editor leaves it; a passphrase ending in spaces keeps them.
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) {
    end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
  }
  return end;
}

// Buffer.alloc never hands out a slice of the shared pool, so zeroing the copy later wipes only our bytes.
function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return copy;
}

function writeFailed(path: string, err: unknown): CofreError {
  return new CofreError(
    'COFRE_STORE_WRITE_FAILED',
    `could not write key file ${path} (${errnoCode(err) ?? 'error'})`,
    { cause: err, details: { path, errno: errnoCode(err) } },
  );
}
