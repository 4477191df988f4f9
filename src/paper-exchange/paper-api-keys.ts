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

/** One API key of a paper account. */
export interface PaperApiKey {
  /** Sent by clients in `X-MBX-APIKEY`; 1–128 ASCII letters and digits. */
  readonly apiKey: string;
  /** HMAC key; a string is used as its UTF-8 bytes. */
  readonly secret: Buffer | string;
  readonly restrictions?: PaperKeyRestrictions;
}

interface KeyEntry {
  readonly secret: Buffer;
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
 * SECURITY: secrets live only here, copied so the caller may zero its buffer, and are used only as HMAC keys.
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
    const secret = Buffer.from(key.secret);
    if (secret.length === 0) throw invalid(`${where}: secret is empty`);
    this.#accounts.add(owner);
    this.#keys.set(key.apiKey, {
      secret,
      owner,
      createTime: this.#now(),
      restrictions: { ...DEFAULT_RESTRICTIONS, ...key.restrictions },
    });
  }

  /** Deletes a key: requests signed with it are refused from now on (-2015). */
  revoke(apiKey: string): void {
    const entry = this.#entry(apiKey);
    entry.secret.fill(0);
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

  secretOf(apiKey: string): Buffer | undefined {
    return this.#keys.get(apiKey)?.secret;
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

function invalid(message: string): PaperConfigError {
  return new PaperConfigError(message);
}
