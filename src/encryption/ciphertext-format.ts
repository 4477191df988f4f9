import { CofreError } from '../errors.js';
import type { EncryptionKeyKind } from './encryption-key.js';

const PREFIX = 'cofre:v1:';
const KINDS: readonly EncryptionKeyKind[] = ['transit', 'kms', 'embedded'];

/**
 * The text agents hold: `cofre:v1:<kind>:<body>`, where `<kind>` names the key kind that produced it (`transit`,
 * `kms`, `embedded`) and `<body>` is that kind's own ciphertext (Transit's `vault:v<N>:…`, which carries the key
 * version; KMS's ciphertext blob in base64, which names the key; the embedded key's nonce, ciphertext and tag in
 * base64url).
 */
export function formatCiphertext(kind: EncryptionKeyKind, body: string): string {
  return `${PREFIX}${kind}:${body}`;
}

/**
 * The body of `text` when it was produced by a key of `kind`. SECURITY: anything else — another format, another key
 * kind — is `COFRE_DECRYPT_REFUSED`, with a message that quotes nothing of the text.
 */
export function bodyOf(text: string, kind: EncryptionKeyKind): string {
  if (!text.startsWith(PREFIX)) throw refused('it is not a cofre ciphertext (cofre:v1:…)');
  const rest = text.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const found = colon < 0 ? '' : rest.slice(0, colon);
  if (!(KINDS as readonly string[]).includes(found)) throw refused('it names no known key kind');
  if (found !== kind) throw refused(`it was made by a ${found} key, and this key is a ${kind} key`);
  const body = rest.slice(colon + 1);
  if (body === '') throw refused('it is empty');
  return body;
}

/** The one refusal of a ciphertext that does not open, whatever the reason underneath. */
export function refused(why?: string): CofreError {
  return new CofreError(
    'COFRE_DECRYPT_REFUSED',
    `the ciphertext does not open with this key and purpose for you${why === undefined ? '' : `: ${why}`}`,
  );
}
