import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToHex } from 'viem';

import { CofreError } from '../../errors.js';
import type { RecoverableSignature } from '../signer.js';

/**
 * The Ethereum form of an ECDSA secp256k1 signature made elsewhere (AWS KMS answers DER without a recovery bit):
 * `s` normalised to the lower half of the order (EIP-2; KMS returns either half), and the recovery bit found by
 * recovering the public key from `digest` with each bit and keeping the one that gives `publicKey` back.
 *
 * `publicKey` is the uncompressed point (65 bytes, 0x04 first). Throws `COFRE_SIGNER_KEY_INVALID` when the
 * signature is not DER or no bit recovers the key (the key source signed with another key or another hash).
 */
export function recoverableFromDer(
  der: Uint8Array,
  digest: Uint8Array,
  publicKey: Uint8Array,
  source: string,
): RecoverableSignature {
  let signature;
  try {
    signature = secp256k1.Signature.fromDER(der).normalizeS();
  } catch (err) {
    throw new CofreError('COFRE_SIGNER_KEY_INVALID', `${source} answered a signature that is not DER ECDSA`, {
      cause: err,
    });
  }
  const expected = bytesToHex(publicKey);
  for (const bit of [0, 1] as const) {
    let recovered: string;
    try {
      recovered = bytesToHex(signature.addRecoveryBit(bit).recoverPublicKey(digest).toRawBytes(false));
    } catch {
      continue; // no point for this bit
    }
    if (recovered === expected) return { r: toHex32(signature.r), s: toHex32(signature.s), yParity: bit };
  }
  throw new CofreError(
    'COFRE_SIGNER_KEY_INVALID',
    `${source} answered a signature that does not recover to its public key (not a secp256k1 signature of the digest as given)`,
  );
}

/** A scalar as 32 bytes of hex, the form of `r` and `s`. */
export function toHex32(n: bigint): `0x${string}` {
  return `0x${n.toString(16).padStart(64, '0')}`;
}
