import { secp256k1 } from '@noble/curves/secp256k1';
import type { Hex } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';

import { CofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';

/**
 * The 32-byte private key held in an embedded key's secret: 64 hex digits, `0x` optional, surrounding whitespace
 * (a trailing newline) ignored. Decoded byte by byte from the secret's buffer, so no string of the key is made.
 * The caller owns the result and zeroes it.
 *
 * SECURITY: the error names the reference and what is wrong in general (length, a non-hex byte, out of range),
 * never a byte of the value.
 */
export function embeddedPrivateKey(value: SecretValue, reference: string): Uint8Array {
  const text = value.bytes();
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start] ?? 0)) start++;
  while (end > start && isSpace(text[end - 1] ?? 0)) end--;
  if (end - start >= 2 && text[start] === 0x30 && (text[start + 1] === 0x78 || text[start + 1] === 0x58))
    start += 2;
  if (end - start !== 64) {
    throw invalid(reference, `it holds ${end - start} characters where 64 hex digits are expected`);
  }
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const high = hexDigit(text[start + 2 * i] ?? 0);
    const low = hexDigit(text[start + 2 * i + 1] ?? 0);
    if (high < 0 || low < 0) {
      key.fill(0);
      throw invalid(reference, 'it holds a character that is not a hex digit');
    }
    key[i] = high * 16 + low;
  }
  if (!secp256k1.utils.isValidPrivateKey(key)) {
    key.fill(0);
    throw invalid(reference, 'it is not a secp256k1 private key (zero, or not below the curve order)');
  }
  return key;
}

/** The address (EIP-55) of a private key. */
export function addressOfPrivateKey(key: Uint8Array): Hex {
  const point = secp256k1.getPublicKey(key, false);
  return publicKeyToAddress(`0x${Buffer.from(point).toString('hex')}`);
}

/**
 * A fresh key for `cofre wallet create-key`: the secret to write (64 hex digits, as {@link embeddedPrivateKey}
 * reads) and its address. The caller writes the secret and zeroes it.
 */
export function newEmbeddedKey(): { readonly secret: SecretValue; readonly address: Hex } {
  const key = secp256k1.utils.randomPrivateKey();
  try {
    const secret = SecretValue.adopt(Buffer.from(Buffer.from(key).toString('hex'), 'utf8'));
    return { secret, address: addressOfPrivateKey(key) };
  } finally {
    key.fill(0);
  }
}

function invalid(reference: string, why: string): CofreError {
  return new CofreError(
    'COFRE_SIGNER_KEY_INVALID',
    `the wallet key in ${reference} is not a private key: ${why}`,
    { details: { reference } },
  );
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}
