import type { WalletKeyConfig } from '../config/wallets-config.js';
import { AwsKmsSigner } from './signers/aws-kms-signer.js';
import { EmbeddedSigner } from './signers/embedded-signer.js';
import type { WalletServiceDependencies } from './wallet-service.js';

/** A 0x-prefixed hex string. */
export type Hex = `0x${string}`;

/** A secp256k1 signature as Ethereum needs it: low-s (EIP-2), with the recovery bit. */
export interface RecoverableSignature {
  readonly r: Hex;
  readonly s: Hex;
  readonly yParity: 0 | 1;
}

/**
 * Issue 19: a key that signs Ethereum digests without giving itself up. AWS KMS signs inside KMS (the key is not
 * exportable); the embedded signer reads its key from a secret backend for each signature and zeroes it after.
 * Azure Key Vault keys (P-256K) and HSMs can follow behind the same interface.
 */
export interface TransactionSigner {
  /** Where the key is, for messages and `cofre wallet list`, e.g. `aws-kms alias/cofre-hot`; never a secret. */
  readonly source: string;
  /** The wallet's address (EIP-55 checksummed), from the public key; read once and cached. */
  address(): Promise<Hex>;
  /**
   * Signs a 32-byte digest (a Keccak-256 hash). Throws `COFRE_SIGNER_UNAVAILABLE` when the key source cannot be
   * reached or refuses, `COFRE_SIGNER_KEY_INVALID` for a key of the wrong kind.
   */
  signDigest(digest: Uint8Array): Promise<RecoverableSignature>;
  close(): Promise<void>;
}

/**
 * The signer of a wallet's key config. Opens nothing yet: the KMS client and SDK load on first use, and an embedded
 * key is read for each signature, so a wallet whose key source is down does not stop cofre from starting (its sends
 * fail with `COFRE_SIGNER_UNAVAILABLE`; `cofre doctor` checks the key).
 */
export function openSigner(
  key: WalletKeyConfig,
  deps: Pick<WalletServiceDependencies, 'secrets'>,
): TransactionSigner {
  switch (key.type) {
    case 'aws-kms':
      return new AwsKmsSigner(key);
    case 'embedded':
      return new EmbeddedSigner(key.secret, deps.secrets);
  }
}
