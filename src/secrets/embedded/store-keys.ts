import { createSecretKey, hkdfSync, type KeyObject, scrypt } from 'node:crypto';

import { CofreError } from '../../errors.js';
import type { KeyMaterial } from './key-source.js';

/** scrypt cost parameters (RFC 7914). Stored in the store header so a store can always be reopened. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/**
 * How the master key is obtained: `none` means the master key is the 32 bytes of a key file, used as is; `scrypt`
 * means it is derived from a passphrase with the store's salt.
 */
export type KdfParams = { readonly name: 'none' } | ({ readonly name: 'scrypt' } & ScryptParams);

/**
 * The default cost: N=2^17, r=8, p=1 needs 128 MiB and about half a second on a laptop core, the parameters the
 * scrypt paper and OWASP suggest for interactive logins. Paid once per process start, not per read.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

// Bounds applied to parameters read from a file as well as to those asked for at create: the header is
// attacker-controlled input until it is authenticated, and the KDF runs before anything can be authenticated, so an
// unbounded N would let a crafted file make cofre allocate gigabytes. The floor keeps tests fast (2^10 takes ~1 ms)
// without letting a config silly-walk down to a cost of 2.
const MIN_SCRYPT_N = 2 ** 10;
const MAX_SCRYPT_N = 2 ** 20;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/** Length of the master key and of every subkey, in bytes (AES-256, HMAC-SHA256). */
export const KEY_BYTES = 32;

// HKDF `info` labels: one per purpose, so no subkey can stand in for another (RFC 5869 §3.2).
const INFO_ENCRYPTION = 'cofre/embedded-store/v1/aes-256-gcm';
const INFO_KEY_CHECK = 'cofre/embedded-store/v1/key-check';
const INFO_FINGERPRINT = 'cofre/embedded-store/v1/fingerprint-hmac-sha256';

/**
 * The keys of one open store, all derived from the master key with HKDF-SHA256 and the store's salt.
 *
 * SECURITY: the encryption and fingerprint keys are `KeyObject`s, whose bytes live outside the JavaScript heap and
 * print as `SecretKeyObject`; the master key they come from is zeroed as soon as they exist. `keyCheck` is not
 * secret: it is stored in the header and only tells a right key from a wrong one.
 */
export interface StoreKeys {
  readonly encryption: KeyObject;
  readonly fingerprint: KeyObject;
  readonly keyCheck: Buffer;
}

/** A problem with scrypt parameters, or undefined when they are within cofre's bounds. */
export function scryptParamsProblem(params: ScryptParams): string | undefined {
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || N < MIN_SCRYPT_N || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of two from 2^10 to 2^20`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > 32) return 'scrypt r must be an integer from 1 to 32';
  if (!Number.isSafeInteger(p) || p < 1 || p > 16) return 'scrypt p must be an integer from 1 to 16';
  if (scryptMaxmem(params) > MAX_SCRYPT_MEMORY) return 'scrypt N and r together need more than 1 GiB';
  return undefined;
}

/**
 * Derives the store keys from key material and the store's KDF parameters and salt. Does not zero `material`
 * (the caller owns it); zeroes every intermediate it makes.
 *
 * Throws `COFRE_STORE_WRONG_KEY` when the material is of the wrong kind for the store (a passphrase for a key-file
 * store or the reverse). Safe to call concurrently; scrypt runs on the libuv thread pool.
 */
export async function deriveStoreKeys(
  material: KeyMaterial,
  kdf: KdfParams,
  salt: Buffer,
): Promise<StoreKeys> {
  assertMaterialFits(material, kdf);
  // A key file's bytes are the master key itself (the caller zeroes them); a passphrase's master key is ours to zero.
  const master = kdf.name === 'none' ? material.bytes : await runScrypt(material.bytes, salt, kdf);
  try {
    return {
      encryption: subkey(master, salt, INFO_ENCRYPTION),
      fingerprint: subkey(master, salt, INFO_FINGERPRINT),
      keyCheck: Buffer.from(hkdfSync('sha256', master, salt, INFO_KEY_CHECK, KEY_BYTES)),
    };
  } finally {
    if (master !== material.bytes) master.fill(0);
  }
}

/** Throws `COFRE_STORE_WRONG_KEY` when the key source kind cannot open a store with this KDF. */
export function assertMaterialFits(material: Pick<KeyMaterial, 'kind'>, kdf: KdfParams): void {
  if (kdf.name === 'none' && material.kind !== 'key') {
    throw new CofreError(
      'COFRE_STORE_WRONG_KEY',
      'the store is encrypted with a key file, but a passphrase was given',
    );
  }
  if (kdf.name === 'scrypt' && material.kind !== 'passphrase') {
    throw new CofreError(
      'COFRE_STORE_WRONG_KEY',
      'the store is encrypted with a passphrase, but a key file was given',
    );
  }
}

function subkey(master: Buffer, salt: Buffer, info: string): KeyObject {
  const bytes = Buffer.from(hkdfSync('sha256', master, salt, info, KEY_BYTES));
  try {
    // createSecretKey copies the bytes into native memory.
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

function scryptMaxmem({ N, r, p }: ScryptParams): number {
  // OpenSSL needs 128·N·r for V plus 128·r·p for B; Node's default maxmem (32 MiB) is below the default cost.
  return 128 * N * r + 128 * r * p + 1024 * 1024;
}

function runScrypt(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, KEY_BYTES, { N, r, p, maxmem: scryptMaxmem(params) }, (err, key) => {
      if (err === null) resolve(key);
      else reject(new CofreError('COFRE_INTERNAL', 'scrypt key derivation failed', { cause: err }));
    });
  });
}
