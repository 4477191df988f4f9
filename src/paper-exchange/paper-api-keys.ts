import { createPublicKey, type KeyObject } from 'node:crypto';

import { verifyAsymmetricSignature, verifyBinanceSignature } from './binance-signature.js';
import { PaperConfigError } from './paper-config-error.js';

/**
 * What one API key may do, as Binance reports it at `GET /sapi/v1/account/apiRestrictions` ("Get API Key
 * Permission (USER_DATA)"). The paper exchange enforces the two it serves endpoints for: trading and withdrawals.
 */
export interface PaperKeyRestrictions {
  /** Default true. */
  readonly enableReading?: boolean;
  /** Default true: the key may place and cancel spot orders. */
  readonly enableSpotAndMarginTrading?: boolean;
  /** Default true: the key may withdraw (Binance needs an IP restriction for that; the paper exchange does not). */
  readonly enableWithdrawals?: boolean;
  /** Default false: the key works from any IP address. */
  readonly ipRestrict?: boolean;
}

/**
 * One API key of a paper account: an HMAC key (`secret`) or the public key of an Ed25519 or RSA key pair
 * (`publicKey`), as Binance registers them ("API Key Types"): exactly one of the two.
 */
export interface PaperApiKey {
  /** Sent by clients in `X-MBX-APIKEY`; 1–128 ASCII letters and digits. */
  readonly apiKey: string;
  /** HMAC key; a string is used as its UTF-8 bytes. */
  readonly secret?: Buffer | string;
  /**
   * SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of an Ed25519 key or an RSA key of 2048 or 4096 bits (the sizes Binance
   * takes). The private key never reaches the paper exchange; a private key given here is refused.
   */
  readonly publicKey?: string;
  readonly restrictions?: PaperKeyRestrictions;
}

/** The kind of a paper key, as Binance's API management page shows it. */
export type PaperKeyType = 'hmac' | 'ed25519' | 'rsa';

interface KeyEntry {
  /** The HMAC key, or undefined for an asymmetric key. */
  readonly secret: Buffer | undefined;
  readonly publicKey: KeyObject | undefined;
  /** The account the key belongs to, named by the API key it was created with. */
  readonly owner: string;
  readonly createTime: number;
  restrictions: Required<PaperKeyRestrictions>;
}

const API_KEY = /^[A-Za-z0-9]{1,128}$/;

const DEFAULT_RESTRICTIONS: Required<PaperKeyRestrictions> = {
  enableReading: true,
  enableSpotAndMarginTrading: true,
  enableWithdrawals: true,
  ipRestrict: false,
};

/**
 * The API keys of every paper account. An account has one key or more (a key rotation on Binance's site adds the
 * new key before the old one is deleted, so both work for a while); each key has its own secret and restrictions.
 *
 * SECURITY: HMAC secrets live only here, copied so the caller may zero its buffer, and are used only as HMAC keys;
 * asymmetric keys are held as public keys only.
 */
export class PaperApiKeys {
  readonly #keys = new Map<string, KeyEntry>();
  /** Accounts by their first API key; an account outlives the revocation of that key. */
  readonly #accounts = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Adds a key to the account named by `owner` (the account's first API key); `owner` = the key for a new one. */
  add(owner: string, key: PaperApiKey, where: string): void {
    if (!API_KEY.test(key.apiKey)) throw invalid(`${where}: apiKey must be 1-128 ASCII letters and digits`);
    if (this.#keys.has(key.apiKey)) throw invalid(`${where}: apiKey is listed twice`);
    if (owner !== key.apiKey && !this.#accounts.has(owner)) {
      throw invalid(`${where}: the paper exchange has no account with that API key`);
    }
    const verifier = verifierOf(key, where);
    this.#accounts.add(owner);
    this.#keys.set(key.apiKey, {
      ...verifier,
      owner,
      createTime: this.#now(),
      restrictions: { ...DEFAULT_RESTRICTIONS, ...key.restrictions },
    });
  }

  /** Deletes a key: requests signed with it are refused from now on (-2015). */
  revoke(apiKey: string): void {
    const entry = this.#entry(apiKey);
    entry.secret?.fill(0);
    this.#keys.delete(apiKey);
  }

  /** Changes what a key may do, for the requests that follow. */
  restrict(apiKey: string, restrictions: PaperKeyRestrictions): void {
    const entry = this.#entry(apiKey);
    entry.restrictions = { ...entry.restrictions, ...restrictions };
  }

  has(apiKey: string): boolean {
    return this.#keys.has(apiKey);
  }

  /**
   * True when `signature` (as sent) is the key's signature of `totalParams`: hex HMAC-SHA256 under its secret, or
   * URL-encoded base64 Ed25519 / RSA under its public key (`binance-signature.ts`). False for an unknown key.
   */
  verify(apiKey: string, totalParams: string, signature: string): boolean {
    const entry = this.#keys.get(apiKey);
    if (entry === undefined) return false;
    if (entry.publicKey !== undefined)
      return verifyAsymmetricSignature(entry.publicKey, totalParams, signature);
    return entry.secret !== undefined && verifyBinanceSignature(entry.secret, totalParams, signature);
  }

  /** Whether a key is HMAC, Ed25519 or RSA. */
  typeOf(apiKey: string): PaperKeyType {
    const type = this.#entry(apiKey).publicKey?.asymmetricKeyType;
    return type === 'ed25519' || type === 'rsa' ? type : 'hmac';
  }

  /** The account a key belongs to (its first API key), for balances and orders. */
  ownerOf(apiKey: string): string {
    return this.#entry(apiKey).owner;
  }

  /** The accounts, each named by its first API key, in the order they were added. */
  accounts(): string[] {
    return [...this.#accounts];
  }

  /** The key's restrictions and creation time, as `GET /sapi/v1/account/apiRestrictions` answers. */
  describe(apiKey: string): Required<PaperKeyRestrictions> & { readonly createTime: number } {
    const entry = this.#entry(apiKey);
    return { ...entry.restrictions, createTime: entry.createTime };
  }

  #entry(apiKey: string): KeyEntry {
    const entry = this.#keys.get(apiKey);
    if (entry === undefined) throw invalid('the paper exchange has no such API key');
    return entry;
  }
}

const RSA_BITS = [2048, 4096];

/** The HMAC secret or the public key a key's signatures are checked with, validated. */
function verifierOf(
  key: PaperApiKey,
  where: string,
): { secret: Buffer | undefined; publicKey: KeyObject | undefined } {
  if ((key.secret === undefined) === (key.publicKey === undefined)) {
    throw invalid(`${where}: give either secret (HMAC) or publicKey (Ed25519 or RSA)`);
  }
  if (key.secret !== undefined) {
    const secret = Buffer.from(key.secret);
    if (secret.length === 0) throw invalid(`${where}: secret is empty`);
    return { secret, publicKey: undefined };
  }
  const pem = key.publicKey ?? '';
  // SECURITY: createPublicKey would derive a public key from a private one; the paper exchange must never hold one.
  if (pem.includes('PRIVATE KEY')) {
    throw invalid(`${where}: publicKey holds a private key; register the public key only`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw invalid(`${where}: publicKey is not a PEM public key`, err);
  }
  const type = publicKey.asymmetricKeyType;
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (type === 'ed25519' || (type === 'rsa' && bits !== undefined && RSA_BITS.includes(bits))) {
    return { secret: undefined, publicKey };
  }
  throw invalid(
    `${where}: publicKey is ${type === 'rsa' ? `RSA of ${bits} bits` : (type ?? 'of an unknown type')}; Binance registers Ed25519 keys and RSA keys of 2048 or 4096 bits`,
  );
}

function invalid(message: string, cause?: unknown): PaperConfigError {
  return new PaperConfigError(message, cause === undefined ? undefined : { cause });
}
