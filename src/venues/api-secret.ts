/**
 * What an account's API `secret` is — an HMAC secret, or an Ed25519 or RSA private key in PEM — and the exact form
 * ccxt needs to sign with it.
 *
 * How ccxt 4.5.84 signs Binance requests (js/src/binance.js `sign`, :13424): if the secret contains `PRIVATE KEY`
 * it is a PEM private key, and then its *length in characters* picks the algorithm: more than 120 is RSA
 * (`rsa()` in base/functions/rsa.js: `crypto.createSign('RSA-SHA256').sign(secret, 'base64')`, PKCS#1 v1.5), 120 or
 * fewer is Ed25519 (`eddsa()` in base/functions/crypto.js: the DER of the PEM body from byte 16 on, taken as the
 * 32-byte seed); the base64 signature is then URL-encoded. Anything else is an HMAC secret (hex HMAC-SHA256).
 * That guess breaks on keys that are fine: an Ed25519 PEM with CRLF line ends or a trailing blank line (over 120
 * characters: signed as RSA, which throws), one in PKCS#8 v2 with its public key inside (byte 16 on is not the
 * seed), an RSA key in PKCS#1 (`RSA PRIVATE KEY`: works, by luck of the length). So cofre reads the key itself
 * and hands ccxt one canonical form: unencrypted PKCS#8 PEM, 64-character lines, LF — 119 characters for every
 * Ed25519 key, well over 120 for RSA — which is also what Binance's docs ask for ("We support PKCS#8").
 *
 * Refused, before anything is sent (`COFRE_CREDENTIALS_INVALID`, naming the account, never the key): an encrypted
 * key (ccxt has no passphrase to give; the backend is the protection), a public key or certificate stored where the
 * private key belongs, a key of another type (EC, OpenSSH format), RSA below 2048 bits (Binance takes 2048 and
 * 4096).
 *
 * SECURITY: the key is read from the SecretValue's bytes (no JavaScript string of it is made here); the canonical
 * PEM is a new SecretValue the caller owns and zeroes. Node's KeyObject keeps the key in OpenSSL's memory until it
 * is collected; nothing here can wipe that.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

import { CofreError } from '../errors.js';
import { encodePem, looksLikePem, type PemBlock, readPemBlocks } from '../secrets/pem-block.js';
import { SecretValue } from '../secrets/secret-value.js';

/** The kinds of API secret cofre signs with. */
export const API_KEY_TYPES = ['hmac', 'ed25519', 'rsa'] as const;
export type ApiKeyType = (typeof API_KEY_TYPES)[number];

/** What an API secret is; safe to print. */
export interface ApiKeyDescription {
  readonly type: ApiKeyType;
  /** RSA modulus length. */
  readonly bits?: number;
}

const MIN_RSA_BITS = 2048;
const PRIVATE_LABELS: Readonly<Record<string, 'pkcs8' | 'pkcs1'>> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
};

/** What `secret` is. Throws `COFRE_CREDENTIALS_INVALID` for a PEM cofre cannot sign with (see the module comment). */
export function describeApiSecret(secret: SecretValue, account: string): ApiKeyDescription {
  const key = privateKeyOf(secret, account);
  return key === undefined ? { type: 'hmac' } : key.description;
}

/**
 * The secret to give ccxt, with its description: `secret` itself for HMAC (no copy is made), else a new
 * SecretValue holding the canonical PKCS#8 PEM, which the caller owns and zeroes. Throws as {@link describeApiSecret}.
 */
export function signingSecret(
  secret: SecretValue,
  account: string,
): { readonly value: SecretValue; readonly description: ApiKeyDescription } {
  const key = privateKeyOf(secret, account);
  if (key === undefined) return { value: secret, description: { type: 'hmac' } };
  const der = key.object.export({ type: 'pkcs8', format: 'der' });
  try {
    return { value: SecretValue.adopt(encodePem('PRIVATE KEY', der)), description: key.description };
  } finally {
    der.fill(0);
  }
}

/**
 * The public key (SPKI PEM, what Binance's "Register API key" form takes) of an Ed25519 or RSA private key secret;
 * undefined for an HMAC secret. Throws as {@link describeApiSecret}.
 */
export function apiPublicKey(secret: SecretValue, account: string): string | undefined {
  const key = privateKeyOf(secret, account);
  if (key === undefined) return undefined;
  return createPublicKey(key.object).export({ type: 'spki', format: 'pem' }).toString();
}

/** A one-phrase description for humans (`cofre doctor`): `Ed25519`, `RSA 2048`, `HMAC`. */
export function apiKeyLabel(description: ApiKeyDescription): string {
  if (description.type === 'ed25519') return 'Ed25519';
  if (description.type === 'rsa') return `RSA ${description.bits ?? ''}`.trim();
  return 'HMAC';
}

function privateKeyOf(
  secret: SecretValue,
  account: string,
): { readonly object: KeyObject; readonly description: ApiKeyDescription } | undefined {
  const bytes = secret.bytes();
  if (!looksLikePem(bytes)) return undefined;
  const blocks = readPemBlocks(bytes);
  try {
    const [block] = blocks;
    if (block === undefined || blocks.length > 1) {
      throw invalid(
        account,
        blocks.length > 1
          ? 'holds more than one PEM block; store the private key alone'
          : 'starts like a PEM key but is not a readable one (a BEGIN line without its matching END line, or a body that is not base64)',
      );
    }
    const object = parse(block, account);
    const type = object.asymmetricKeyType;
    if (type === 'ed25519') return { object, description: { type: 'ed25519' } };
    if (type === 'rsa') {
      const bits = object.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        throw invalid(account, `is an RSA key of ${bits} bits; Binance takes RSA keys of 2048 or 4096 bits`);
      }
      return { object, description: { type: 'rsa', bits } };
    }
    throw invalid(
      account,
      `is a key of type "${type ?? 'unknown'}"; Binance API keys are Ed25519 (recommended), RSA or HMAC`,
    );
  } finally {
    for (const block of blocks) block.der.fill(0);
  }
}

function parse(block: PemBlock, account: string): KeyObject {
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.headers) {
    throw invalid(
      account,
      'is an encrypted private key; ccxt cannot sign with one. Store it decrypted (`openssl pkey -in key.pem -out plain.pem`): the secret backend is what protects it',
    );
  }
  if (/PUBLIC KEY|CERTIFICATE/.test(block.label)) {
    throw invalid(
      account,
      `is a ${block.label.toLowerCase()}, not a private key; store the private key (the venue keeps the public one)`,
    );
  }
  const type = PRIVATE_LABELS[block.label];
  if (type === undefined) {
    throw invalid(
      account,
      `is a PEM "${block.label}"; cofre signs with PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") keys (convert with \`openssl pkey -in key.pem -out pkcs8.pem\`)`,
    );
  }
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (err) {
    // The cause is OpenSSL's decoder message, which holds no key bytes; it stays in the server log.
    throw invalid(account, `is a PEM "${block.label}" that does not decode as a private key`, err);
  }
}

function invalid(account: string, what: string, cause?: unknown): CofreError {
  return new CofreError(
    'COFRE_CREDENTIALS_INVALID',
    `the API secret of account "${account}" ${what}; nothing was sent`,
    { details: { account }, ...(cause === undefined ? {} : { cause }) },
  );
}
