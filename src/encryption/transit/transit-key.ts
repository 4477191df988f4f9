import { z } from 'zod';

import { CofreError, isCofreError } from '../../errors.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { SecretValue } from '../../secrets/secret-value.js';
import type { VaultSession } from '../../secrets/vault/vault-session.js';
import { refused } from '../ciphertext-format.js';
import { bindingBytes, type DataKey, type EncryptionBinding, type EncryptionKey } from '../encryption-key.js';

/** Where a Transit key lives: the `vault` backend whose address and login are used, the mount and the key name. */
export interface TransitKeyConfig {
  readonly backend: string;
  readonly mount: string;
  readonly key: string;
}

const keyInfoSchema = z.object({
  data: z.object({
    type: z.string(),
    derived: z.boolean(),
    supports_encryption: z.boolean().optional(),
    latest_version: z.number().int().optional(),
  }),
});
const encryptSchema = z.object({ data: z.object({ ciphertext: z.string().regex(/^vault:v\d+:/) }) });
const decryptSchema = z.object({ data: z.object({ plaintext: z.string() }) });
const dataKeySchema = z.object({
  data: z.object({ plaintext: z.string(), ciphertext: z.string().regex(/^vault:v\d+:/) }),
});

/**
 * A key of the Transit secrets engine (OpenBao or Vault), through the configured `vault` backend's client and login
 * (its session renews or logs in again as for secret reads).
 *
 * The binding goes in as the derivation `context`: a key created with `derived=true` derives a key per context, so
 * a ciphertext opens only with the agent and purpose it was made for. SECURITY: before first use the key is read
 * (`GET <mount>/keys/<key>`) and refused unless it is derived and supports encryption — Transit ignores `context`
 * on a key that is not derived, which would let any agent decrypt any other's data. (Transit would also create a
 * missing key on encrypt, not derived; the check stops that too.)
 *
 * The body is Transit's own `vault:v<N>:…`, which names the key version (rotation keeps old versions decryptable).
 */
export class TransitEncryptionKey implements EncryptionKey {
  readonly kind = 'transit' as const;
  readonly #name: string;
  readonly #config: TransitKeyConfig;
  readonly #resolver: SecretResolver;
  #verified: Promise<VaultSession> | undefined;

  constructor(name: string, config: TransitKeyConfig, resolver: SecretResolver) {
    this.#name = name;
    this.#config = config;
    this.#resolver = resolver;
  }

  async encrypt(binding: EncryptionBinding, plaintext: Buffer): Promise<string> {
    const answer = await this.#call('encrypt', encryptSchema, {
      plaintext: plaintext.toString('base64'),
      context: bindingBytes(binding).toString('base64'),
    });
    return answer.data.ciphertext;
  }

  async decrypt(binding: EncryptionBinding, body: string): Promise<SecretValue> {
    if (!/^vault:v\d+:[A-Za-z0-9+/=]+$/.test(body)) throw refused('it is not a Transit ciphertext');
    let answer: z.infer<typeof decryptSchema>;
    try {
      answer = await this.#call('decrypt', decryptSchema, {
        ciphertext: body,
        context: bindingBytes(binding).toString('base64'),
      });
    } catch (err) {
      // Transit answers 400 to a ciphertext that does not open (another context or key, changed, unknown version).
      if (isCofreError(err, 'COFRE_ENCRYPTION_UNAVAILABLE') && err.details?.['rejected'] === true)
        throw refused();
      throw err;
    }
    return SecretValue.adopt(Buffer.from(answer.data.plaintext, 'base64'));
  }

  async generateDataKey(binding: EncryptionBinding, bytes: 16 | 32): Promise<DataKey> {
    const answer = await this.#call('datakey/plaintext', dataKeySchema, {
      context: bindingBytes(binding).toString('base64'),
      bits: bytes * 8,
    });
    return {
      plaintext: SecretValue.adopt(Buffer.from(answer.data.plaintext, 'base64')),
      body: answer.data.ciphertext,
    };
  }

  async check(): Promise<string> {
    const session = await this.#verify();
    const { mount, key } = this.#config;
    return `Transit key ${mount}/${key} at ${session.client.address} (backend "${this.#config.backend}"): derived, binds agent and purpose`;
  }

  close(): Promise<void> {
    // The session belongs to the backend; the resolver closes it.
    return Promise.resolve();
  }

  /** One Transit request, after the key passed its check; failures mapped to the encryption codes. */
  async #call<T>(operation: string, schema: z.ZodType<T>, body: Record<string, unknown>): Promise<T> {
    const session = await this.#verify();
    const { mount, key } = this.#config;
    try {
      return await session.withToken((token) =>
        session.client.request('POST', `${mount}/${operation}/${key}`, {
          token,
          body,
          schema,
          subject: this.#subject(),
          // Decrypting twice is harmless, and so is encrypting twice (a second, different ciphertext is dropped).
          retry: true,
        }),
      );
    } catch (err) {
      throw this.#unavailable(err, operation);
    }
  }

  /** The backend's session, once the key is known to be derived (checked once; again after a failed check). */
  #verify(): Promise<VaultSession> {
    this.#verified ??= this.#check().catch((err: unknown) => {
      this.#verified = undefined;
      throw err;
    });
    return this.#verified;
  }

  async #check(): Promise<VaultSession> {
    const session = await this.#session();
    const { mount, key } = this.#config;
    let info: z.infer<typeof keyInfoSchema>;
    try {
      info = await session.withToken((token) =>
        session.client.request('GET', `${mount}/keys/${key}`, {
          token,
          schema: keyInfoSchema,
          subject: this.#subject(),
        }),
      );
    } catch (err) {
      if (isCofreError(err, 'COFRE_SECRET_NOT_FOUND')) {
        throw new CofreError(
          'COFRE_ENCRYPTION_UNAVAILABLE',
          `encryption key "${this.#name}": Transit key ${mount}/${key} does not exist; create it with \`bao write -f ${mount}/keys/${key} derived=true\``,
        );
      }
      throw this.#unavailable(err, 'keys');
    }
    if (!info.data.derived) {
      throw new CofreError(
        'COFRE_ENCRYPTION_UNAVAILABLE',
        `encryption key "${this.#name}": Transit key ${mount}/${key} was not created with derived=true, so it would not bind the agent and purpose (any agent could decrypt another's data); create a new key with \`bao write -f ${mount}/keys/<name> derived=true\``,
      );
    }
    if (info.data.supports_encryption === false) {
      throw new CofreError(
        'COFRE_ENCRYPTION_UNAVAILABLE',
        `encryption key "${this.#name}": Transit key ${mount}/${key} is of type ${info.data.type}, which does not encrypt; use aes256-gcm96`,
      );
    }
    return session;
  }

  async #session(): Promise<VaultSession> {
    // Loaded lazily, like every backend implementation; already in memory once the backend is open.
    const { VaultBackend } = await import('../../secrets/vault/vault-backend.js');
    const backend = this.#resolver.backend(this.#config.backend);
    if (!(backend instanceof VaultBackend)) {
      throw new CofreError(
        'COFRE_ENCRYPTION_UNAVAILABLE',
        `encryption key "${this.#name}": backend "${this.#config.backend}" is not an open vault backend`,
      );
    }
    return backend.session;
  }

  #subject(): string {
    return `Transit key ${this.#config.mount}/${this.#config.key}`;
  }

  /**
   * Any failure as `COFRE_ENCRYPTION_UNAVAILABLE`, naming the key and the cause's code. A request Transit rejected
   * (400) is marked `rejected`, which decrypt turns into a refusal. SECURITY: VaultClient's messages hold no
   * request body (the plaintext), and neither does this one.
   */
  #unavailable(err: unknown, operation: string): unknown {
    if (!isCofreError(err)) return err;
    if (err.code === 'COFRE_ENCRYPTION_UNAVAILABLE') return err;
    const rejected = err.code === 'COFRE_VAULT_REQUEST_REJECTED';
    return new CofreError(
      'COFRE_ENCRYPTION_UNAVAILABLE',
      `encryption key "${this.#name}": Transit ${operation} failed: ${err.message}`,
      { cause: err, details: { rejected, cause: err.code } },
    );
  }
}
