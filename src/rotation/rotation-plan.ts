import type { CofreConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import { parseSecretReference, type SecretReference } from '../secrets/secret-reference.js';

/** The ccxt credential fields an account may reference, in the order the config lists them. */
export const CREDENTIAL_FIELDS = ['apiKey', 'secret', 'password', 'uid'] as const;
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

/** One secret a rotation writes, and which credential fields land where in its value. */
export interface PlannedSecret {
  readonly backend: string;
  readonly path: string;
  /**
   * Credential field → JSON field of the secret's value (`#field`), or `undefined` when the reference takes the whole
   * value (then it is the only credential of this secret).
   */
  readonly fields: ReadonlyMap<CredentialField, string | undefined>;
}

/**
 * The distinct secrets (backend + path) an account's credential references point to. Refused
 * (`COFRE_ROTATION_INVALID`): an unknown account; a reference pinned to a version or stage (a rotation moves
 * `current`, which such a reference does not follow); one path referenced both whole and by `#field`, or whole twice.
 */
export function planAccountSecrets(config: CofreConfig, account: string): readonly PlannedSecret[] {
  const credentials = config.accounts[account]?.credentials;
  if (credentials === undefined) {
    const known = Object.keys(config.accounts).join(', ') || 'none';
    throw new CofreError(
      'COFRE_ROTATION_INVALID',
      `no account "${account}" in the config (accounts: ${known})`,
    );
  }
  const planned = new Map<
    string,
    { backend: string; path: string; fields: Map<CredentialField, string | undefined> }
  >();
  for (const field of CREDENTIAL_FIELDS) {
    const text = credentials[field];
    if (text === undefined) continue;
    const ref = rotatableReference(text, `accounts.${account}.credentials.${field}`);
    const key = `${ref.backend}:${ref.path}`;
    let secret = planned.get(key);
    if (secret === undefined) {
      secret = { backend: ref.backend, path: ref.path, fields: new Map() };
      planned.set(key, secret);
    }
    const whole = [...secret.fields.values()].some((f) => f === undefined);
    if (secret.fields.size > 0 && (ref.field === undefined || whole)) {
      throw new CofreError(
        'COFRE_ROTATION_INVALID',
        `accounts.${account}.credentials: ${key} is referenced as a whole value and again by another credential; give each credential its own #field or its own secret`,
      );
    }
    secret.fields.set(field, ref.field);
  }
  return [...planned.values()];
}

/**
 * Parses a reference a rotation will write through: it must follow `current` (no `@version`, no `@stage=`).
 * `where` names it in the error (a config path or the command line).
 */
export function rotatableReference(text: string, where: string): SecretReference {
  const ref = parseSecretReference(text);
  if (ref.selector.kind !== 'latest') {
    throw new CofreError(
      'COFRE_ROTATION_INVALID',
      `${where} is pinned (${text}); rotation writes a new version and moves "current", which a pinned reference does not follow: remove the @version or @stage= part first`,
      { details: { reference: text } },
    );
  }
  return ref;
}
