import { createHmac, randomBytes } from 'node:crypto';

import { RESPONSE_RULES, SecretMatcher } from '../secrets/secret-matcher.js';
import type { SecretValue } from '../secrets/secret-value.js';

const REDACTED = '[REDACTED]';

/** Matchers kept at most, and for how long one unused is kept. */
const CACHED_MATCHERS = 32;
const MATCHER_IDLE_MS = 10 * 60_000;

/**
 * Response matchers by the set of secrets they find (issue 11). Every request of an account is scrubbed of the same
 * credentials, and building a matcher (every encoding of every key, and their window tables) cost more than the
 * scrub itself: a matcher is built once per set of values and reused.
 *
 * SECURITY: keyed by an HMAC of the values under a key that lives only in this process and is never written
 * anywhere — no JavaScript string of a secret, and no hash anyone outside could test a guess against. A matcher
 * holds encoded copies of its secrets (as the log redactor does for every loaded secret): it is disposed (zeroed)
 * when evicted — the least recently used past {@link CACHED_MATCHERS}, or one unused for {@link MATCHER_IDLE_MS}.
 */
export class MatcherCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, { readonly matcher: SecretMatcher; used: number }>();

  /** A matcher for `secrets` (the caller must not dispose it). Throws as `SecretMatcher.of` for a zeroed value. */
  get(secrets: readonly SecretValue[], now = Date.now()): SecretMatcher {
    const hmac = createHmac('sha256', this.#key);
    for (const secret of secrets) {
      const bytes = secret.bytes();
      hmac.update(lengthPrefix(bytes.length)).update(bytes);
    }
    const id = hmac.digest('base64');
    const hit = this.#entries.get(id);
    if (hit !== undefined) {
      // Re-inserted last: the map's order is the order of use.
      this.#entries.delete(id);
      hit.used = now;
      this.#entries.set(id, hit);
      return hit.matcher;
    }
    const matcher = SecretMatcher.of(secrets, RESPONSE_RULES);
    this.#entries.set(id, { matcher, used: now });
    this.#evict(now);
    return matcher;
  }

  #evict(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= CACHED_MATCHERS && now - entry.used < MATCHER_IDLE_MS) break;
      this.#entries.delete(id);
      entry.matcher.dispose();
    }
  }
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

const matchers = new MatcherCache();

/**
 * `text` with every trace of `secrets` replaced by `[REDACTED]`: the last line of defence behind venues that never
 * copy credentials into results in the first place. Used on every response and on what is stored of it.
 *
 * What counts as a trace ({@link SecretMatcher}, under {@link RESPONSE_RULES}): for a secret of 8 bytes or more,
 * any run of 8 or more characters of it raw, JSON-escaped, base64 / base64url at any of the three byte alignments
 * (padded or not), or URL-encoded (`%xx` in either case, `+` for space), and any run of 16 or more hex digits (either
 * case); for a shorter secret, the whole value in any of those encodings standing as a token of its own (see the
 * matcher's module comment for why short values get the token rule).
 *
 * SECURITY: compares bytes; builds no string of a secret. Throws `COFRE_SECRET_ZEROED` when a value was zeroed before
 * the scrub (the caller must fail closed, never send the text unscrubbed). Redacting inside JSON text keeps it
 * valid JSON in practice but cannot promise it for every secret; prefer {@link scrubValue} for structured data.
 */
export function scrubSecrets(text: string, secrets: readonly SecretValue[]): string {
  if (secrets.length === 0) return text;
  return matchers.get(secrets).redact(text, REDACTED);
}

/**
 * A deep copy of a JSON-like value (what `JSON.parse` returns, or a response before `JSON.stringify`) with every
 * string, object key and number that holds a trace of `secrets` redacted as by {@link scrubSecrets}. Each string is
 * scrubbed on its own, so the structure always survives; a number that matches becomes the string `[REDACTED]`.
 * Values that are not JSON (functions, symbols, class instances other than arrays and plain objects) are copied
 * as they are.
 *
 * SECURITY: as {@link scrubSecrets}; one matcher serves the whole value.
 */
export function scrubValue<T>(value: T, secrets: readonly SecretValue[]): T {
  if (secrets.length === 0) return value;
  return scrubWith(value, matchers.get(secrets)) as T;
}

function scrubWith(value: unknown, matcher: SecretMatcher): unknown {
  if (typeof value === 'string') return matcher.redact(value, REDACTED);
  if (typeof value === 'number' || typeof value === 'bigint') {
    return matcher.matches(String(value)) ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => scrubWith(item, matcher));
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, not assignment: a key named `__proto__` (JSON.parse makes one) must stay a plain key.
      Object.defineProperty(out, matcher.redact(key, REDACTED), {
        value: scrubWith(item, matcher),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
