import { auditHmac } from './audit-hmac.js';

/** References whose HMAC is kept at most. */
const MAX_CACHED_REFERENCES = 1024;

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
  /**
   * HMACs of references already computed: the same few references (the accounts' credentials) are recorded on
   * every request, and an HMAC cost more than the rest of the record. References are configuration, not secrets.
   */
  readonly #references = new Map<string, string>();

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
    if (this.#key === undefined) return HMAC_UNAVAILABLE;
    let hmac = this.#references.get(reference);
    if (hmac === undefined) {
      hmac = auditHmac(this.#key, 'reference', reference);
      // Bounded: references come from the configuration, but a cache must never grow without end.
      if (this.#references.size >= MAX_CACHED_REFERENCES) this.#references.clear();
      this.#references.set(reference, hmac);
    }
    return hmac;
  }

  /** The HMAC of value-derived data. */
  value(data: Buffer | string): string {
    return this.#key === undefined ? HMAC_UNAVAILABLE : auditHmac(this.#key, 'value', data);
  }

  /** Overwrites the key; later HMACs are {@link HMAC_UNAVAILABLE}. Idempotent. */
  zero(): void {
    this.#key?.fill(0);
    this.#key = undefined;
    this.#references.clear();
  }
}
