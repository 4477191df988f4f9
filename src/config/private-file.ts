/**
 * Files cofre keeps for itself and no one else: the state database (token hashes, every stored response) with its
 * `-wal`/`-shm`/`-journal` companions, and the audit log. They are created with mode 600 in folders created 700,
 * whatever the umask, and checked each time they are opened.
 *
 * A file found with group or other permission bits is **fixed, not refused**, when it belongs to the user cofre runs
 * as: the file is cofre's own, so restricting it can never lose data or lock anyone legitimate out; every install
 * before this check has such files (SQLite and the audit log were created with the umask, typically 644), and
 * refusing would turn an upgrade into an outage for something cofre can correct itself. The fix is reported
 * (`onFixed`), because the file *was* exposed and the operator should know for how long and to whom. A file
 * owned by another user is refused (`COFRE_PRIVATE_FILE_INSECURE`): cofre cannot restrict it, and someone else
 * owning cofre's state is itself a sign of trouble. Windows has no mode bits; ACLs there are the operator's business.
 *
 * Synchronous on purpose: the SQLite store opens in a constructor; each call is a few syscalls.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';

import { CofreError } from '../errors.js';

/** A private file that had group/other permission bits and was restricted to 600. */
export interface PrivateFileFixed {
  readonly path: string;
  /** The mode it had, octal, e.g. `644`. */
  readonly was: string;
}

/** Options of {@link securePrivateFile}. */
export interface PrivateFileOptions {
  /** Create the file (empty, mode 600) when it does not exist. Default false: a missing file is left missing. */
  readonly create?: boolean;
  /** Told about each file whose mode was restricted. Default: a process warning (stderr). */
  readonly onFixed?: (fixed: PrivateFileFixed) => void;
}

const CHECKS_MODES = process.platform !== 'win32';

/** Creates the folder of `path` (and missing parents) with mode 700; an existing folder is left as it is. */
export function ensurePrivateFolder(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}

/**
 * Makes `path` a file only its owner can read or write: creates it with mode 600 (`create`), or restricts an
 * existing one to 600 when it belongs to the current user, reporting the fix. Throws
 * `COFRE_PRIVATE_FILE_INSECURE` (naming `chmod 600 <file>`) when it belongs to another user or cannot be changed.
 * Returns whether the file exists afterwards.
 */
export function securePrivateFile(path: string, options: PrivateFileOptions = {}): boolean {
  if (options.create === true) {
    // 'a' creates without truncating; the mode applies only to a new file (the check below handles an old one).
    closeSync(openSync(path, 'a', 0o600));
  }
  let mode: number;
  let uid: number;
  try {
    ({ mode, uid } = statSync(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!CHECKS_MODES || (mode & 0o077) === 0) return true;
  const was = (mode & 0o777).toString(8).padStart(3, '0');
  const me = process.getuid?.();
  if (me !== undefined && uid !== me) {
    const user = userName(me);
    throw insecure(
      path,
      was,
      `belongs to another user (uid ${uid}), so cofre will not change it`,
      `chown ${user} ${path} && chmod 600 ${path} (if the file is meant to be cofre's)`,
    );
  }
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw insecure(path, was, `could not be restricted (${code})`, `chmod 600 ${path}`);
  }
  (options.onFixed ?? warnProcess)({ path, was });
  return true;
}

function insecure(path: string, was: string, why: string, fix: string): CofreError {
  return new CofreError(
    'COFRE_PRIVATE_FILE_INSECURE',
    `${path} has mode ${was}, readable beyond its owner, and ${why}; run: ${fix}`,
    { details: { path, mode: was } },
  );
}

function warnProcess(fixed: PrivateFileFixed): void {
  process.emitWarning(
    `${fixed.path} had mode ${fixed.was} (readable beyond its owner); restricted it to 600. Whoever could read it until now may have seen what it holds.`,
    { code: 'COFRE_PRIVATE_FILE_MODE_FIXED' },
  );
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}
