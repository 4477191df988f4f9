import { secp256k1 } from '@noble/curves/secp256k1';
import type { Hex } from 'viem';

import type { AuditedSecrets } from '../../broker/audited-secrets.js';
import { CofreError, isCofreError } from '../../errors.js';
import type { SecretValue } from '../../secrets/secret-value.js';
import type { RecoverableSignature, TransactionSigner } from '../signer.js';
import { addressOfPrivateKey, embeddedPrivateKey } from './embedded-key.js';
import { toHex32 } from './recoverable-signature.js';

const KEY_SOURCE_DOWN: ReadonlySet<string> = new Set([
  'COFRE_BACKEND_UNAVAILABLE',
  'COFRE_BACKEND_DENIED',
  'COFRE_BACKEND_CLOSED',
  'COFRE_STORE_LOCKED',
]);

/**
 * A wallet key kept in a secret backend (development). The key is read through the audited secret reads for each
 * signature (each read is a `secret-access` audit record, purpose `wallet-key`) and zeroed right after: it is in
 * cofre's memory only while one digest is signed. The address is derived once and cached (it is public).
 *
 * What zeroing cannot reach: @noble/curves turns the key into a bigint while signing, which JavaScript cannot wipe;
 * it lives until the garbage collector takes it. Use AWS KMS where that matters.
 *
 * Safe to call concurrently.
 */
export class EmbeddedSigner implements TransactionSigner {
  readonly source: string;
  readonly #reference: string;
  readonly #secrets: Pick<AuditedSecrets, 'read'>;
  #address: Promise<Hex> | undefined;

  constructor(reference: string, secrets: Pick<AuditedSecrets, 'read'>) {
    this.#reference = reference;
    this.#secrets = secrets;
    this.source = `embedded ${reference}`;
  }

  address(): Promise<Hex> {
    this.#address ??= this.#withKey(addressOfPrivateKey).catch((err: unknown) => {
      this.#address = undefined;
      throw err;
    });
    return this.#address;
  }

  async signDigest(digest: Uint8Array): Promise<RecoverableSignature> {
    if (digest.length !== 32) {
      throw new CofreError('COFRE_INTERNAL', `a digest to sign is 32 bytes, not ${digest.length}`);
    }
    // lowS (EIP-2) is @noble/curves' default for secp256k1; said here because Ethereum depends on it.
    const signature = await this.#withKey((key) => secp256k1.sign(digest, key, { lowS: true }));
    return {
      r: toHex32(signature.r),
      s: toHex32(signature.s),
      yParity: signature.recovery === 1 ? 1 : 0,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Reads the key, runs `use` with it, and zeroes the key and the secret whatever happens. */
  async #withKey<T>(use: (key: Uint8Array) => T): Promise<T> {
    let value: SecretValue;
    try {
      value = await this.#secrets.read(this.#reference, { purpose: 'wallet-key' });
    } catch (err) {
      // The key source could not be reached or refused: that is the signer being unavailable. Other errors pass as
      // they are: a missing secret (COFRE_SECRET_NOT_FOUND names it), and an audit log that could not record the
      // read (COFRE_AUDIT_UNAVAILABLE: fail closed, nothing signed). Each names the reference, never a value.
      if (isCofreError(err) && KEY_SOURCE_DOWN.has(err.code)) {
        throw new CofreError(
          'COFRE_SIGNER_UNAVAILABLE',
          `the wallet key ${this.#reference} could not be read: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    let key: Uint8Array | undefined;
    try {
      key = embeddedPrivateKey(value, this.#reference);
      return use(key);
    } finally {
      key?.fill(0);
      value.zero();
    }
  }
}
