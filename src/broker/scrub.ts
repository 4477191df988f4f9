import { RESPONSE_RULES, SecretMatcher } from '../secrets/secret-matcher.js';
import type { SecretValue } from '../secrets/secret-value.js';

const REDACTED = '[REDACTED]';

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
  const matcher = SecretMatcher.of(secrets, RESPONSE_RULES);
  try {
    return matcher.redact(text, REDACTED);
  } finally {
    matcher.dispose();
  }
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
  const matcher = SecretMatcher.of(secrets, RESPONSE_RULES);
  try {
    return scrubWith(value, matcher) as T;
  } finally {
    matcher.dispose();
  }
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
