import { CofreError } from '../../errors.js';

/** Longest secret name Key Vault accepts. */
export const MAX_KEY_VAULT_NAME_LENGTH = 127;
/** Key Vault secret names: 1–127 letters, digits and dashes (`^[0-9a-zA-Z-]+$`). */
const KEY_VAULT_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** A Key Vault version id: 32 hex digits. */
const KEY_VAULT_VERSION = /^[0-9A-Fa-f]{32}$/;

/**
 * Checks that `path` is a Key Vault secret name and returns it. Anything else is `COFRE_REFERENCE_INVALID` with the
 * name Key Vault would take in its place (`binance_api` → `binance-api`), so the user knows what to store and
 * reference.
 *
 * SECURITY: the rejected text is quoted only when it is short and made of printable ASCII (a name, not a value
 * pasted by mistake, which a reference with `_`, `.` or `/` rarely is); the suggestion is derived from it the same way.
 *
 * Pure; safe to call concurrently.
 */
export function keyVaultSecretName(backend: string, path: string): string {
  if (KEY_VAULT_NAME.test(path)) return path;
  const quotable = path.length <= MAX_KEY_VAULT_NAME_LENGTH && /^[\x21-\x7e]+$/.test(path);
  const suggestion = quotable ? suggestName(path) : undefined;
  const shown = quotable ? `"${path}"` : `of ${path.length} characters`;
  const problem =
    path.length > MAX_KEY_VAULT_NAME_LENGTH
      ? `is ${path.length} characters long; Key Vault allows ${MAX_KEY_VAULT_NAME_LENGTH}`
      : 'may contain only letters, digits and dashes (-)';
  throw new CofreError(
    'COFRE_REFERENCE_INVALID',
    `backend "${backend}": the Azure Key Vault secret name ${shown} ${problem}` +
      (suggestion === undefined
        ? ''
        : `; store and reference it as "${suggestion}" (${backend}:${suggestion})`),
    { details: { backend, length: path.length } },
  );
}

/** The Key Vault name closest to `name`: every run of other characters becomes one dash, trimmed at the ends. */
export function suggestName(name: string): string | undefined {
  const suggested = name
    .replace(/[^0-9A-Za-z-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_KEY_VAULT_NAME_LENGTH);
  return suggested === '' ? undefined : suggested;
}

/** True for a Key Vault version id (32 hex digits); nothing else can name a version. */
export function isKeyVaultVersion(version: string): boolean {
  return KEY_VAULT_VERSION.test(version);
}
