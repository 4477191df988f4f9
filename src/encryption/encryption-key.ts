import type { SecretValue } from '../secrets/secret-value.js';

/**
 * Who and what a ciphertext is bound to: the agent's principal (a delegated sub-agent acts for its root, see
 * `principalOf`) and the purpose label. Every key kind binds both: another agent's or another purpose's ciphertext
 * does not open.
 */
export interface EncryptionBinding {
  readonly agent: string;
  readonly purpose: string;
}

/** Which kind of key produced a ciphertext, as its text names it (`cofre:v1:<kind>:…`). */
export type EncryptionKeyKind = 'transit' | 'kms' | 'embedded';

/** A data key: the plaintext the caller owns (and zeroes) and the key's body encrypted under the key. */
export interface DataKey {
  readonly plaintext: SecretValue;
  readonly body: string;
}

/**
 * One configured key behind the {@link EncryptionService}: Transit, AWS KMS or embedded. `body` is the key kind's
 * own ciphertext text, without cofre's `cofre:v1:<kind>:` prefix.
 *
 * Errors: `COFRE_DECRYPT_REFUSED` when a body does not open for `binding` (another agent or purpose, another key,
 * changed); `COFRE_ENCRYPTION_UNAVAILABLE` when the key's service cannot be reached or refuses. SECURITY: no error
 * carries a plaintext, a body or key bytes. Safe to call concurrently.
 */
export interface EncryptionKey {
  readonly kind: EncryptionKeyKind;
  encrypt(binding: EncryptionBinding, plaintext: Buffer): Promise<string>;
  /** The plaintext, owned by the caller, who zeroes it. */
  decrypt(binding: EncryptionBinding, body: string): Promise<SecretValue>;
  generateDataKey(binding: EncryptionBinding, bytes: 16 | 32): Promise<DataKey>;
  /** For `cofre doctor`: a one-line description of a key that works, or a thrown error saying why not. */
  check(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The binding as bytes, for the key kinds that take them (Transit's derivation `context`, the embedded key's HKDF
 * info and AAD). JSON of a fixed-order array: unambiguous, so no agent/purpose pair can spell another's.
 */
export function bindingBytes(binding: EncryptionBinding): Buffer {
  return Buffer.from(JSON.stringify(['cofre:v1', binding.agent, binding.purpose]), 'utf8');
}
