import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { CofreError } from '../../errors.js';
import { type KdfParams, KEY_BYTES, scryptParamsProblem, type StoreKeys } from './store-keys.js';

/*
 * The embedded store file, format version 1. All integers big-endian.
 *
 *   offset        size  field
 *   0             8     magic 89 43 4F 46 52 45 0D 0A ("\x89COFRE\r\n": the high byte and CR LF catch 7-bit and
 *                       newline-mangling transfers, as in PNG)
 *   8             2     format version (1)
 *   10            4     H = header length
 *   14            H     header, UTF-8 JSON: {"cipher":"aes-256-gcm","kdf":{...},"salt":b64,"nonce":b64,
 *                       "keyCheck":b64,"bodyLength":n}
 *   14+H          32    SHA-256 of bytes [0, 14+H)
 *   46+H          n     AES-256-GCM ciphertext of the contents (see store-contents.ts)
 *   46+H+n        16    GCM tag
 *
 * The GCM additional data is bytes [0, 14+H): magic, version and header are authenticated along with the body.
 * The SHA-256 is not a security control (anyone can recompute it); it tells accidental damage to the header apart
 * from a wrong key before any key is derived.
 */

/** First bytes of every store file. */
export const STORE_MAGIC = Buffer.from([0x89, 0x43, 0x4f, 0x46, 0x52, 0x45, 0x0d, 0x0a]);
/** The format version this code writes and reads. */
export const STORE_FORMAT_VERSION = 1;

const PREFIX_BYTES = STORE_MAGIC.length + 2 + 4;
const HASH_BYTES = 32;
const TAG_BYTES = 16;
const NONCE_BYTES = 12;
/** Length of the per-store salt (scrypt and HKDF). */
export const SALT_BYTES = 32;
// The header is a few hundred bytes; a bigger length field is damage, and refusing it early avoids reading junk.
const MAX_HEADER_BYTES = 16 * 1024;

/** The decoded JSON header. Holds nothing secret: salt, nonce and key check are public by design. */
export interface StoreHeader {
  readonly cipher: 'aes-256-gcm';
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly nonce: Buffer;
  readonly keyCheck: Buffer;
  readonly bodyLength: number;
}

/** Byte offsets of the parts of a store file; exported for tests and `cofre doctor`. */
export interface StoreLayout {
  readonly headerOffset: number;
  readonly headerLength: number;
  readonly hashOffset: number;
  readonly bodyOffset: number;
  readonly bodyLength: number;
  readonly tagOffset: number;
  readonly totalLength: number;
}

/** A store file whose structure and header checksum are valid; nothing is decrypted or authenticated yet. */
export interface ParsedStoreFile {
  readonly header: StoreHeader;
  readonly layout: StoreLayout;
  /** Bytes [0, 14+H): magic, version, header length, header. */
  readonly aad: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/**
 * Checks the structure of a store file and decodes its header. Throws `COFRE_STORE_CORRUPT` for a file that is not
 * a store, is truncated (the message says how many bytes were expected and found), has trailing bytes, or whose
 * header does not match its checksum. `source` names the file in messages. Pure; safe to call concurrently.
 */
export function parseStoreFile(bytes: Buffer, source: string): ParsedStoreFile {
  if (bytes.length < PREFIX_BYTES) {
    throw truncated(source, PREFIX_BYTES, bytes.length, 'at least ');
  }
  if (!bytes.subarray(0, STORE_MAGIC.length).equals(STORE_MAGIC)) {
    throw corrupt(source, 'does not start with the cofre store signature');
  }
  const version = bytes.readUInt16BE(STORE_MAGIC.length);
  if (version !== STORE_FORMAT_VERSION) {
    throw corrupt(source, `has format version ${version}; this cofre reads version ${STORE_FORMAT_VERSION}`);
  }
  const headerLength = bytes.readUInt32BE(STORE_MAGIC.length + 2);
  if (headerLength === 0 || headerLength > MAX_HEADER_BYTES) {
    throw corrupt(source, `has an impossible header length (${headerLength})`);
  }
  const hashOffset = PREFIX_BYTES + headerLength;
  const bodyOffset = hashOffset + HASH_BYTES;
  if (bytes.length < bodyOffset + TAG_BYTES) {
    throw truncated(source, bodyOffset + TAG_BYTES, bytes.length, 'at least ');
  }
  const aad = bytes.subarray(0, hashOffset);
  const expectedHash = createHash('sha256').update(aad).digest();
  if (!expectedHash.equals(bytes.subarray(hashOffset, bodyOffset))) {
    throw corrupt(source, 'has a damaged header (checksum mismatch)');
  }
  const header = decodeHeader(bytes.subarray(PREFIX_BYTES, hashOffset), source);
  const tagOffset = bodyOffset + header.bodyLength;
  const totalLength = tagOffset + TAG_BYTES;
  if (bytes.length < totalLength) throw truncated(source, totalLength, bytes.length, '');
  if (bytes.length > totalLength) {
    throw corrupt(
      source,
      `has ${bytes.length - totalLength} unexpected bytes after the end (expected ${totalLength} bytes)`,
    );
  }
  return {
    header,
    layout: {
      headerOffset: PREFIX_BYTES,
      headerLength,
      hashOffset,
      bodyOffset,
      bodyLength: header.bodyLength,
      tagOffset,
      totalLength,
    },
    aad,
    ciphertext: bytes.subarray(bodyOffset, tagOffset),
    tag: bytes.subarray(tagOffset, totalLength),
  };
}

/**
 * Throws `COFRE_STORE_WRONG_KEY` unless `keys` were derived from the key this store was written with. Runs before
 * decryption so a wrong key is never reported as corruption. Constant-time comparison.
 */
export function assertKeyMatches(parsed: ParsedStoreFile, keys: StoreKeys, source: string): void {
  const expected = parsed.header.keyCheck;
  if (expected.length !== keys.keyCheck.length || !timingSafeEqual(expected, keys.keyCheck)) {
    throw new CofreError(
      'COFRE_STORE_WRONG_KEY',
      `the key or passphrase does not open the store ${source}; the file itself is intact`,
      { details: { path: source } },
    );
  }
}

/**
 * Decrypts and authenticates the body. The caller owns the returned plaintext and must zero it. Throws
 * `COFRE_STORE_CORRUPT` when authentication fails: with a key that passed {@link assertKeyMatches}, that means the
 * body, the tag or the header was changed (bytes flipped, records swapped, versions rolled back inside the file).
 */
export function decryptStoreBody(parsed: ParsedStoreFile, keys: StoreKeys, source: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', keys.encryption, parsed.header.nonce, {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(parsed.aad);
  decipher.setAuthTag(parsed.tag);
  const plaintext = decipher.update(parsed.ciphertext);
  try {
    decipher.final();
  } catch (err) {
    // SECURITY: unauthenticated plaintext must never be used, not even to build an error message.
    plaintext.fill(0);
    throw corrupt(source, 'failed authentication: its contents were changed after cofre wrote them', err);
  }
  return plaintext;
}

/** What {@link encryptStoreFile} needs besides the plaintext: the store's stable KDF parameters and salt. */
export interface StoreFileParams {
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly keys: StoreKeys;
}

/**
 * Builds a complete store file around `plaintext`. Does not zero `plaintext` (the caller owns it).
 *
 * SECURITY: every call draws a fresh random 96-bit nonce (GCM must never reuse a nonce under one key). Random
 * nonces are safe for about 2^32 encryptions per key (NIST SP 800-38D §8.3); a store is rewritten once per change,
 * many orders of magnitude fewer. `nonce` is injectable for format tests only.
 */
export function encryptStoreFile(
  plaintext: Buffer,
  params: StoreFileParams,
  nonce: Buffer = randomBytes(NONCE_BYTES),
): Buffer {
  const headerJson = Buffer.from(
    JSON.stringify({
      cipher: 'aes-256-gcm',
      kdf: params.kdf,
      salt: params.salt.toString('base64'),
      nonce: nonce.toString('base64'),
      keyCheck: params.keys.keyCheck.toString('base64'),
      bodyLength: plaintext.length,
    }),
    'utf8',
  );
  const prefix = Buffer.alloc(PREFIX_BYTES);
  STORE_MAGIC.copy(prefix, 0);
  prefix.writeUInt16BE(STORE_FORMAT_VERSION, STORE_MAGIC.length);
  prefix.writeUInt32BE(headerJson.length, STORE_MAGIC.length + 2);
  const aad = Buffer.concat([prefix, headerJson]);
  const hash = createHash('sha256').update(aad).digest();

  const cipher = createCipheriv('aes-256-gcm', params.keys.encryption, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([aad, hash, ciphertext, cipher.getAuthTag()]);
}

function decodeHeader(json: Buffer, source: string): StoreHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw corrupt(source, 'has a header that is not valid JSON', err);
  }
  if (!isRecord(raw) || !hasExactKeys(raw, ['cipher', 'kdf', 'salt', 'nonce', 'keyCheck', 'bodyLength'])) {
    throw corrupt(source, 'has a header with missing or unknown fields');
  }
  if (raw.cipher !== 'aes-256-gcm') throw corrupt(source, 'names an unknown cipher');
  const kdf = decodeKdf(raw.kdf, source);
  const salt = decodeBase64(raw.salt, SALT_BYTES, 'salt', source);
  const nonce = decodeBase64(raw.nonce, NONCE_BYTES, 'nonce', source);
  const keyCheck = decodeBase64(raw.keyCheck, KEY_BYTES, 'keyCheck', source);
  const bodyLength = raw.bodyLength;
  if (typeof bodyLength !== 'number' || !Number.isSafeInteger(bodyLength) || bodyLength < 0) {
    throw corrupt(source, 'has an invalid body length');
  }
  return { cipher: 'aes-256-gcm', kdf, salt, nonce, keyCheck, bodyLength };
}

function decodeKdf(raw: unknown, source: string): KdfParams {
  if (isRecord(raw) && raw.name === 'none' && hasExactKeys(raw, ['name'])) return { name: 'none' };
  if (isRecord(raw) && raw.name === 'scrypt' && hasExactKeys(raw, ['name', 'N', 'r', 'p'])) {
    const { N, r, p } = raw;
    if (typeof N === 'number' && typeof r === 'number' && typeof p === 'number') {
      const problem = scryptParamsProblem({ N, r, p });
      if (problem !== undefined)
        throw corrupt(source, `has key derivation parameters out of bounds: ${problem}`);
      return { name: 'scrypt', N, r, p };
    }
  }
  throw corrupt(source, 'names an unknown key derivation');
}

function decodeBase64(raw: unknown, length: number, field: string, source: string): Buffer {
  // Round-trip check: Node's base64 decoder skips junk silently, so compare the re-encoding.
  if (typeof raw === 'string') {
    const bytes = Buffer.from(raw, 'base64');
    if (bytes.length === length && bytes.toString('base64') === raw) return bytes;
  }
  throw corrupt(source, `has an invalid ${field} in its header`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasExactKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const actual = Object.keys(value);
  return actual.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

function truncated(source: string, expected: number, found: number, atLeast: string): CofreError {
  return corrupt(source, `is truncated (expected ${atLeast}${expected} bytes, found ${found})`, undefined, {
    expectedBytes: expected,
    foundBytes: found,
  });
}

/** `COFRE_STORE_CORRUPT` naming the file; exported so the contents decoder reports damage the same way. */
export function corrupt(
  source: string,
  problem: string,
  cause?: unknown,
  extra: Record<string, unknown> = {},
): CofreError {
  return new CofreError('COFRE_STORE_CORRUPT', `store ${source} ${problem}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path: source, ...extra },
  });
}
