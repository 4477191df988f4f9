import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

import type { AuditedSecrets } from '../../broker/audited-secrets.js';
import { CofreError, isCofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { refused } from '../ciphertext-format.js';
import { bindingBytes, type DataKey, type EncryptionBinding, type EncryptionKey } from '../encryption-key.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Fixed HKDF salt: the key is already uniformly random, the salt only separates this use of it. */
const HKDF_SALT = Buffer.from('cofre encryption-key v1', 'utf8');

/**
 * A 32-byte key kept in a secret backend (development): AES-256-GCM under a key derived for each (agent, purpose)
 * with HKDF-SHA256, the binding also as additional authenticated data. The body is base64url of nonce (12 bytes),
 * ciphertext and tag (16 bytes).
 *
 * SECURITY: the key is read through the audited secret reads for every call and zeroed after, with the derived key;
 * cofre keeps no copy between calls. Nonces are random (96 bits): fine for the volumes one agent's purpose sees,
 * and each (agent, purpose) has its own derived key.
 */
export class EmbeddedEncryptionKey implements EncryptionKey {
  readonly kind = 'embedded' as const;
  readonly #name: string;
  readonly #reference: string;
  readonly #secrets: Pick<AuditedSecrets, 'read'>;

  constructor(name: string, reference: string, secrets: Pick<AuditedSecrets, 'read'>) {
    this.#name = name;
    this.#reference = reference;
    this.#secrets = secrets;
  }

  async encrypt(binding: EncryptionBinding, plaintext: Buffer): Promise<string> {
    return this.#withKey(binding, (key, aad) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return sealed.toString('base64url');
    });
  }

  async decrypt(binding: EncryptionBinding, body: string): Promise<SecretValue> {
    if (!/^[A-Za-z0-9_-]+$/.test(body)) throw refused('it is not an embedded key ciphertext');
    const sealed = Buffer.from(body, 'base64url');
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw refused('it is too short');
    return this.#withKey(binding, (key, aad) => {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const opened = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
      try {
        const last = decipher.final();
        return SecretValue.adopt(Buffer.concat([opened, last]));
      } catch {
        // The tag did not verify: another agent, purpose or key, or a changed ciphertext. Nothing of it is kept.
        opened.fill(0);
        throw refused();
      }
    });
  }

  async generateDataKey(binding: EncryptionBinding, bytes: 16 | 32): Promise<DataKey> {
    const plaintext = SecretValue.adopt(randomBytes(bytes));
    try {
      return { plaintext, body: await this.encrypt(binding, plaintext.bytes()) };
    } catch (err) {
      plaintext.zero();
      throw err;
    }
  }

  async check(): Promise<string> {
    const key = await this.#read();
    key.zero();
    return `embedded key ${this.#reference}: 32 bytes, readable`;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs `use` with the key derived for `binding`; both keys are zeroed after, whatever happens. */
  async #withKey<T>(binding: EncryptionBinding, use: (key: Buffer, aad: Buffer) => T): Promise<T> {
    const master = await this.#read();
    const aad = bindingBytes(binding);
    let derived: Buffer | undefined;
    try {
      derived = Buffer.from(hkdfSync('sha256', master.bytes(), HKDF_SALT, aad, 32));
      return use(derived, aad);
    } finally {
      derived?.fill(0);
      master.zero();
    }
  }

  /** The key, as 32 bytes (read as 64 hex digits); the caller zeroes it. */
  async #read(): Promise<SecretValue> {
    let value: SecretValue;
    try {
      value = await this.#secrets.read(this.#reference, { purpose: 'encryption-key' });
    } catch (err) {
      if (isCofreError(err)) {
        throw new CofreError(
          'COFRE_ENCRYPTION_UNAVAILABLE',
          `encryption key "${this.#name}": its secret ${this.#reference} could not be read (${err.code})`,
          { cause: err },
        );
      }
      throw err;
    }
    try {
      return hexKey(value.bytes(), this.#name, this.#reference);
    } finally {
      value.zero();
    }
  }
}

/** 64 hex digits (surrounding whitespace allowed) to 32 bytes, without making a string of them. */
function hexKey(text: Buffer, name: string, reference: string): SecretValue {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start] ?? 0)) start++;
  while (end > start && isSpace(text[end - 1] ?? 0)) end--;
  const out = Buffer.alloc(32);
  const ok = end - start === 64;
  for (let i = 0; ok && i < 32; i++) {
    const hi = nibble(text[start + 2 * i] ?? 0);
    const lo = nibble(text[start + 2 * i + 1] ?? 0);
    if (hi < 0 || lo < 0) {
      out.fill(0);
      return invalid(name, reference);
    }
    out[i] = hi * 16 + lo;
  }
  if (!ok) return invalid(name, reference);
  return SecretValue.adopt(out);
}

function invalid(name: string, reference: string): never {
  throw new CofreError(
    'COFRE_ENCRYPTION_UNAVAILABLE',
    `encryption key "${name}": the secret ${reference} is not a 32-byte key in hex (64 hex digits); write one with \`openssl rand -hex 32\``,
  );
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
