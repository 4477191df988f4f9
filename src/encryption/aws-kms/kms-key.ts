import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';

import { awsKmsClientOptions } from '../../config/aws-kms-client-options.js';
import { CofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { refused } from '../ciphertext-format.js';
import type { DataKey, EncryptionBinding, EncryptionKey } from '../encryption-key.js';

/** Where a KMS key lives. SECURITY: no credentials here; the SDK's default chain finds them. */
export interface KmsKeyConfig {
  readonly keyId: string;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly profile?: string | undefined;
}

/** KMS's own limit for `Encrypt`: larger data goes through `generate_data_key`. */
export const KMS_MAX_PLAINTEXT = 4096;

const CONNECTION_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** Errors with which KMS says a ciphertext does not open (another context, another key, changed). */
const NOT_OPENING: ReadonlySet<string> = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/**
 * A symmetric AWS KMS key (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`), through the official SDK and its default
 * credential chain. The binding goes in as the `EncryptionContext` `{"cofre:agent", "cofre:purpose"}`: KMS
 * authenticates it with the ciphertext (and key policies can condition on `kms:EncryptionContext:cofre:agent`), so a
 * ciphertext opens only with the agent and purpose it was made for. The body is the ciphertext blob in base64; it
 * names the key, and a blob of another key is refused even where KMS would open it (the key ARN of a decrypt is
 * compared with this key's).
 */
export class KmsEncryptionKey implements EncryptionKey {
  readonly kind = 'kms' as const;
  readonly #name: string;
  readonly #config: KmsKeyConfig;
  readonly #client: KMSClient;
  #arn: Promise<string> | undefined;

  constructor(name: string, config: KmsKeyConfig) {
    this.#name = name;
    this.#config = config;
    const options: KMSClientConfig = awsKmsClientOptions(config, {
      connectionMs: CONNECTION_TIMEOUT_MS,
      requestMs: REQUEST_TIMEOUT_MS,
    });
    this.#client = new KMSClient(options);
  }

  async encrypt(binding: EncryptionBinding, plaintext: Buffer): Promise<string> {
    if (plaintext.length > KMS_MAX_PLAINTEXT) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `encryption key "${this.#name}" is an AWS KMS key, which encrypts at most ${KMS_MAX_PLAINTEXT} bytes (this is ${plaintext.length}); use generate_data_key and encrypt the data yourself with the data key`,
      );
    }
    const out = await this.#send('Encrypt', () =>
      this.#client.send(
        new EncryptCommand({
          KeyId: this.#config.keyId,
          Plaintext: plaintext,
          EncryptionContext: contextOf(binding),
        }),
      ),
    );
    if (out.CiphertextBlob === undefined) throw this.#invalidAnswer('Encrypt');
    return Buffer.from(out.CiphertextBlob).toString('base64');
  }

  async decrypt(binding: EncryptionBinding, body: string): Promise<SecretValue> {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw refused('it is not a KMS ciphertext');
    const arn = await this.#keyArn();
    let out;
    try {
      out = await this.#client.send(
        new DecryptCommand({
          KeyId: this.#config.keyId,
          CiphertextBlob: Buffer.from(body, 'base64'),
          EncryptionContext: contextOf(binding),
        }),
      );
    } catch (err) {
      if (err instanceof Error && NOT_OPENING.has(err.name)) throw refused();
      // A key policy conditioned on `kms:EncryptionContext:cofre:agent` denies another agent's context, and KMS
      // compatible servers (moto) deny a blob of another key so. Refused, with a word for the operator: a denial
      // of every decrypt means cofre lacks kms:Decrypt.
      if (err instanceof Error && err.name === 'AccessDeniedException')
        throw refused('KMS denied the decrypt (if it denies every decrypt, check kms:Decrypt for cofre)');
      throw this.#unavailable('Decrypt', err);
    }
    if (out.Plaintext === undefined) throw this.#invalidAnswer('Decrypt');
    const plaintext = SecretValue.adopt(Buffer.from(out.Plaintext));
    Buffer.from(out.Plaintext.buffer, out.Plaintext.byteOffset, out.Plaintext.byteLength).fill(0);
    if (out.KeyId !== arn) {
      // SECURITY: a blob of another key that this caller may also use is still another key's ciphertext. An alias
      // may have been pointed at another key since the ARN was looked up: look once more before refusing.
      const fresh = await this.#freshArn().catch((err: unknown) => {
        plaintext.zero();
        throw err;
      });
      if (out.KeyId !== fresh) {
        plaintext.zero();
        throw refused('it was made by another key');
      }
    }
    return plaintext;
  }

  async generateDataKey(binding: EncryptionBinding, bytes: 16 | 32): Promise<DataKey> {
    const out = await this.#send('GenerateDataKey', () =>
      this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.#config.keyId,
          NumberOfBytes: bytes,
          EncryptionContext: contextOf(binding),
        }),
      ),
    );
    if (out.Plaintext === undefined || out.CiphertextBlob === undefined)
      throw this.#invalidAnswer('GenerateDataKey');
    const plaintext = SecretValue.adopt(Buffer.from(out.Plaintext));
    Buffer.from(out.Plaintext.buffer, out.Plaintext.byteOffset, out.Plaintext.byteLength).fill(0);
    return { plaintext, body: Buffer.from(out.CiphertextBlob).toString('base64') };
  }

  async check(): Promise<string> {
    const arn = await this.#keyArn();
    return `AWS KMS key ${arn}: symmetric, encrypt/decrypt, enabled`;
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  /** The key's ARN, after checking it is an enabled symmetric encryption key (asked once; again after a failure). */
  #keyArn(): Promise<string> {
    this.#arn ??= this.#describe().catch((err: unknown) => {
      this.#arn = undefined;
      throw err;
    });
    return this.#arn;
  }

  #freshArn(): Promise<string> {
    this.#arn = undefined;
    return this.#keyArn();
  }

  async #describe(): Promise<string> {
    const out = await this.#send('DescribeKey', () =>
      this.#client.send(new DescribeKeyCommand({ KeyId: this.#config.keyId })),
    );
    const meta = out.KeyMetadata;
    if (meta?.Arn === undefined) throw this.#invalidAnswer('DescribeKey');
    const spec = meta.KeySpec;
    if (spec !== 'SYMMETRIC_DEFAULT' || meta.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw new CofreError(
        'COFRE_ENCRYPTION_UNAVAILABLE',
        `encryption key "${this.#name}": KMS key ${this.#config.keyId} is of spec ${spec ?? '?'} and usage ${meta.KeyUsage ?? '?'}; an encryption key must be SYMMETRIC_DEFAULT with ENCRYPT_DECRYPT`,
      );
    }
    if (meta.Enabled === false) {
      throw new CofreError(
        'COFRE_ENCRYPTION_UNAVAILABLE',
        `encryption key "${this.#name}": KMS key ${this.#config.keyId} is disabled (${meta.KeyState ?? 'state unknown'})`,
      );
    }
    return meta.Arn;
  }

  async #send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.#unavailable(operation, err);
    }
  }

  /**
   * A KMS failure as `COFRE_ENCRYPTION_UNAVAILABLE`, by the error's name only. SECURITY: no SDK message or input is
   * quoted (an input holds the plaintext).
   */
  #unavailable(operation: string, err: unknown): unknown {
    if (err instanceof CofreError) return err;
    const name = err instanceof Error ? err.name : 'error';
    const code = (err as { code?: unknown }).code;
    const what = typeof code === 'string' && code !== name ? `${name}, ${code}` : name;
    return new CofreError(
      'COFRE_ENCRYPTION_UNAVAILABLE',
      `encryption key "${this.#name}": KMS ${operation} on ${this.#config.keyId} failed (${what})`,
    );
  }

  #invalidAnswer(operation: string): CofreError {
    return new CofreError(
      'COFRE_ENCRYPTION_UNAVAILABLE',
      `encryption key "${this.#name}": KMS ${operation} on ${this.#config.keyId} answered without its result`,
    );
  }
}

/** The binding as KMS's encryption context (a key policy can condition on `kms:EncryptionContext:cofre:agent`). */
function contextOf(binding: EncryptionBinding): Record<string, string> {
  return { 'cofre:agent': binding.agent, 'cofre:purpose': binding.purpose };
}
