import { auditHmac } from './audit-hmac.js';

/** What an audit record holds in place of an identifier when cofre has no HMAC key (`audit.hmacKey` unset). */
export const HMAC_UNAVAILABLE = '[unavailable]';

/**
 * Holds the audit HMAC key (`audit.hmacKey`, read once at start) and HMACs secret identifiers for audit records.
 * Without a key every identifier is recorded as {@link HMAC_UNAVAILABLE}: never in the clear.
 *
 * SECURITY: the hasher keeps its own copy of the key and {@link AuditHasher.zero} overwrites it; after that it
 * answers {@link HMAC_UNAVAILABLE}. Safe to call concurrently.
 */
export class AuditHasher {
  #key: Buffer | undefined;

  /** Copies `key`; the caller may zero its own. */
  constructor(key: Buffer | undefined) {
    this.#key = key === undefined ? undefined : Buffer.from(key);
  }

  /** True when identifiers are HMAC'd (a key is held). */
  get available(): boolean {
    return this.#key !== undefined;
  }

  /** The HMAC of a secret reference, as written in `secret-access` records. */
  reference(reference: string): string {
    return this.#key === undefined ? HMAC_UNAVAILABLE : auditHmac(this.#key, 'reference', reference);
  }

  /** The HMAC of value-derived data. */
  value(data: Buffer | string): string {
    return this.#key === undefined ? HMAC_UNAVAILABLE : auditHmac(this.#key, 'value', data);
  }

  /** Overwrites the key; later HMACs are {@link HMAC_UNAVAILABLE}. Idempotent. */
  zero(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }
}
