import type { Logger } from 'pino';

import type { AuditedSecrets } from '../broker/audited-secrets.js';
import type { CofreConfig } from '../config/config-schema.js';
import type { EncryptionKeyConfig } from '../config/encryption-config.js';
import { CofreError } from '../errors.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { SecretValue } from '../secrets/secret-value.js';
import { bodyOf, formatCiphertext } from './ciphertext-format.js';
import { EmbeddedEncryptionKey } from './embedded/embedded-key.js';
import type { EncryptionBinding, EncryptionKey } from './encryption-key.js';
import { TransitEncryptionKey } from './transit/transit-key.js';

export type { EncryptionBinding } from './encryption-key.js';

/**
 * Issue 19: encryption as a service. The keys (OpenBao/Vault Transit, AWS KMS, embedded) live behind it in
 * src/encryption; the broker calls it from its send step (src/broker/broker-encryption.ts).
 *
 * Every ciphertext is bound to `binding` (the agent's principal and the purpose) and names the key kind that made
 * it (`cofre:v1:<kind>:…`, see ciphertext-format.ts). Errors: `COFRE_ENCRYPTION_KEY_UNKNOWN` for a name not
 * configured; `COFRE_DECRYPT_REFUSED` for a ciphertext that does not open for this key and binding;
 * `COFRE_ENCRYPTION_UNAVAILABLE` when the key's service cannot be reached or the key is unfit.
 *
 * SECURITY: plaintexts and data keys travel as buffers and {@link SecretValue}s the caller owns and zeroes; nothing
 * here logs or keeps them. Safe to call concurrently.
 */
export interface EncryptionService {
  /** Configured key names. */
  readonly names: readonly string[];
  /** `plaintext` encrypted under key `name`, bound to `binding`: the text agents keep. */
  encrypt(name: string, binding: EncryptionBinding, plaintext: Buffer): Promise<string>;
  /** What {@link encrypt} (or {@link generateDataKey}) made for this key and binding; the caller zeroes it. */
  decrypt(name: string, binding: EncryptionBinding, ciphertext: string): Promise<SecretValue>;
  /** A fresh data key of `bits`, in plaintext (the caller zeroes it) and encrypted like {@link encrypt}. */
  generateDataKey(
    name: string,
    binding: EncryptionBinding,
    bits: 128 | 256,
  ): Promise<{ readonly plaintext: SecretValue; readonly ciphertext: string }>;
  /** For `cofre doctor`: what key `name` is, once it was reached and found fit to bind; throws otherwise. */
  check(name: string): Promise<string>;
  close(): Promise<void>;
}

/** What opening the keys needs. */
export interface EncryptionServiceDependencies {
  /** The secret resolver, for Transit's backend (its address and login) and embedded keys. */
  readonly resolver: SecretResolver;
  /** Audited secret reads (embedded keys). The caller zeroes each value. */
  readonly secrets: Pick<AuditedSecrets, 'read'>;
  readonly logger: Logger;
}

/**
 * The encryption keys of `config`, or undefined when none is configured. Opens nothing yet: each key reaches its
 * service (and loads the AWS SDK) on first use, so a key whose service is down fails its own calls only.
 */
export function openEncryption(
  config: CofreConfig,
  deps: EncryptionServiceDependencies,
): EncryptionService | undefined {
  if (Object.keys(config.encryptionKeys).length === 0) return undefined;
  return new KeyedEncryptionService(config.encryptionKeys, deps);
}

class KeyedEncryptionService implements EncryptionService {
  readonly names: readonly string[];
  readonly #configs: Readonly<Record<string, EncryptionKeyConfig>>;
  readonly #deps: EncryptionServiceDependencies;
  readonly #keys = new Map<string, Promise<EncryptionKey>>();

  constructor(configs: Readonly<Record<string, EncryptionKeyConfig>>, deps: EncryptionServiceDependencies) {
    this.#configs = configs;
    this.#deps = deps;
    this.names = Object.freeze(Object.keys(configs));
  }

  async encrypt(name: string, binding: EncryptionBinding, plaintext: Buffer): Promise<string> {
    const key = await this.#key(name);
    return formatCiphertext(key.kind, await key.encrypt(binding, plaintext));
  }

  async decrypt(name: string, binding: EncryptionBinding, ciphertext: string): Promise<SecretValue> {
    const key = await this.#key(name);
    return key.decrypt(binding, bodyOf(ciphertext, key.kind));
  }

  async generateDataKey(
    name: string,
    binding: EncryptionBinding,
    bits: 128 | 256,
  ): Promise<{ readonly plaintext: SecretValue; readonly ciphertext: string }> {
    const key = await this.#key(name);
    const { plaintext, body } = await key.generateDataKey(binding, bits === 128 ? 16 : 32);
    return { plaintext, ciphertext: formatCiphertext(key.kind, body) };
  }

  async check(name: string): Promise<string> {
    return (await this.#key(name)).check();
  }

  async close(): Promise<void> {
    const keys = [...this.#keys.values()];
    this.#keys.clear();
    await Promise.allSettled(keys.map(async (k) => (await k).close()));
  }

  #key(name: string): Promise<EncryptionKey> {
    let key = this.#keys.get(name);
    if (key === undefined) {
      const config = Object.hasOwn(this.#configs, name) ? this.#configs[name] : undefined;
      if (config === undefined) {
        return Promise.reject(
          new CofreError('COFRE_ENCRYPTION_KEY_UNKNOWN', `no encryption key "${name}" is configured`),
        );
      }
      key = this.#open(name, config);
      this.#keys.set(name, key);
    }
    return key;
  }

  async #open(name: string, config: EncryptionKeyConfig): Promise<EncryptionKey> {
    switch (config.type) {
      case 'transit':
        return new TransitEncryptionKey(name, config, this.#deps.resolver);
      case 'embedded':
        return new EmbeddedEncryptionKey(name, config.secret, this.#deps.secrets);
      case 'aws-kms': {
        // The AWS SDK is loaded only when a KMS key is used, so `cofre --help` stays fast.
        const { KmsEncryptionKey } = await import('./aws-kms/kms-key.js');
        return new KmsEncryptionKey(name, config);
      }
    }
  }
}
