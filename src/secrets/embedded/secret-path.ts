import { CofreError } from '../../errors.js';

/** Longest secret path the embedded store accepts, in characters. */
export const MAX_SECRET_PATH_LENGTH = 512;

// The same character set as a reference path, minus `%`: references percent-decode before they reach a backend,
// so a stored name never needs an escape. Keeping the set small means a name can be shown in a terminal, a log or
// an error message without quoting games.
const SECRET_PATH = /^[A-Za-z0-9_.\-/+=:,]+$/;

/**
 * Throws `COFRE_INPUT_INVALID` unless `path` is a valid embedded-store secret name: 1–512 characters from
 * `[A-Za-z0-9_.-/+=:,]`, not starting or ending with `/` and without `//`.
 *
 * The message quotes the path only when it is made of allowed characters, so control characters or a value pasted
 * by mistake are never echoed.
 */
export function assertValidSecretPath(path: string): void {
  if (path.length === 0) {
    throw new CofreError('COFRE_INPUT_INVALID', 'secret path is empty');
  }
  if (path.length > MAX_SECRET_PATH_LENGTH) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `secret path is ${path.length} characters long; the limit is ${MAX_SECRET_PATH_LENGTH}`,
      { details: { length: path.length } },
    );
  }
  if (!SECRET_PATH.test(path)) {
    // SECURITY: do not quote the input: it failed validation, so it may be anything, including a value.
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'secret path may contain only letters, digits and _ . - / + = : ,',
    );
  }
  if (path.startsWith('/') || path.endsWith('/') || path.includes('//')) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `secret path "${path}" must not start or end with "/" or contain "//"`,
      { details: { path } },
    );
  }
}
