/**
 * Value-based redaction of cofre's own log lines: every secret value the process has loaded is scrubbed from every
 * serialised line, in every encoding the {@link SecretMatcher} knows (raw, JSON-escaped, base64 and base64url at
 * every alignment, hex in either case, URL-encoded), wherever it stands in the line: a message, an error's
 * message, its `cause` chain and stack (pino's `err` serializer writes them all into the line), a field.
 * Buffers are a special case: pino writes one as `{"type":"Buffer","data":[104,105]}`, a form no encoding covers,
 * so each such array is decoded and replaced by `"[REDACTED]"` when it holds a secret.
 *
 * The list follows the secret resolver ({@link LogRedactor.follow}): a value is added when it is resolved, and when
 * the resolver reports that a reference changed (rotation, a new lease, an invalidation) the values it had are kept
 * for `retainMs` more, so late log lines about the old value (a venue's error arriving after the rotation) are
 * still scrubbed, then zeroed and dropped. A value resolved again is kept again.
 *
 * Fast path: with no value loaded, a line is returned as it is, without being looked at. Otherwise the cost is one
 * scan of the line's bytes (see `bench/log-redaction.ts`). The matcher is rebuilt only when the list changes.
 *
 * Rules: the response scrubber's ({@link RESPONSE_RULES}: runs of 8 characters, 16 hex digits), not the stricter
 * venue-text rule: every line holds a 13-digit timestamp, and 8-digit hex runs of a key would, rarely, match inside
 * it. A hit inside a JSON number (a short secret such as a 6-digit `uid` standing as a number) is written as the
 * string `"[REDACTED]"`, so the line stays JSON for a log shipper.
 *
 * SECURITY: the redactor holds copies of secret values (zeroed when dropped or on {@link LogRedactor.dispose}) and
 * builds no JavaScript string of one. It can only scrub values this process resolved through the resolver it
 * follows (or that were {@link LogRedactor.add}ed): a backend's own login (Vault token, AWS keys) never passes
 * through the resolver and is not on the list.
 *
 * Safe to call from any synchronous code; not safe to use after `dispose()`.
 */
import { RESPONSE_RULES, SecretMatcher } from './secret-matcher.js';
import type { SecretChangeListener } from './secret-resolver.js';
import type { SecretValue } from './secret-value.js';

/** What a log line says in place of a secret. */
export const LOG_REDACTED = '[REDACTED]';

/** How long a replaced value is still scrubbed by default: a day of late log lines. */
export const DEFAULT_RETIRED_RETENTION_MS = 24 * 60 * 60_000;

/** The part of the secret resolver a {@link LogRedactor} follows. */
export interface ResolvedValueSource {
  onValue(listener: (reference: string, value: SecretValue) => void): () => void;
  onChange(listener: SecretChangeListener): () => void;
}

/** Options for {@link LogRedactor}. */
export interface LogRedactorOptions {
  /** How long a value is still scrubbed after its reference changed (ms); default one day. */
  readonly retainMs?: number;
  /** Injected clock (ms since epoch) for tests. */
  readonly now?: () => number;
}

interface Entry {
  readonly reference: string;
  readonly value: SecretValue;
  /** When the value is dropped; undefined while it is the reference's current value. */
  retireAt: number | undefined;
}

const BUFFER_JSON = /\{"type":"Buffer","data":\[([0-9,]*)\]\}/g;
/** Outside JSON strings: a run of number characters and redaction markers. */
const BARE_RUN = /(?:[-+.0-9eE]|\[REDACTED\])+/y;

/** See the module comment. */
export class LogRedactor {
  readonly #entries: Entry[] = [];
  readonly #retainMs: number;
  readonly #now: () => number;
  #matcher: SecretMatcher | undefined;
  #dirty = false;
  #nextExpiry = Infinity;
  #disposed = false;

  constructor(options: LogRedactorOptions = {}) {
    this.#retainMs = options.retainMs ?? DEFAULT_RETIRED_RETENTION_MS;
    this.#now = options.now ?? Date.now;
  }

  /** How many values are being scrubbed (current and retired). */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Scrubs `value` (resolved from `reference`) from every later line; keeps a copy, so the caller may zero its own.
   * Adding a value already on the list makes it current again. A zeroed value is ignored (nothing left to copy).
   */
  add(reference: string, value: SecretValue): void {
    if (this.#disposed || value.zeroed || value.length === 0) return;
    const known = this.#entries.find((e) => e.reference === reference && e.value.equals(value));
    if (known !== undefined) {
      known.retireAt = undefined;
      return;
    }
    this.#entries.push({ reference, value: value.clone(), retireAt: undefined });
    this.#dirty = true;
  }

  /** Starts the retention clock of every current value of `reference` (its value changed or was invalidated). */
  retire(reference: string): void {
    const at = this.#now() + this.#retainMs;
    for (const entry of this.#entries) {
      if (entry.reference !== reference || entry.retireAt !== undefined) continue;
      entry.retireAt = at;
      this.#nextExpiry = Math.min(this.#nextExpiry, at);
    }
  }

  /**
   * Adds every value `source` resolves from now on and retires values on its change events. Returns `unfollow`,
   * which also retires every value the source fed (the resolver is closing: its values leave the list after the
   * retention, like replaced ones).
   */
  follow(source: ResolvedValueSource): () => void {
    const seen = new Set<string>();
    const offValue = source.onValue((reference, value) => {
      seen.add(reference);
      this.add(reference, value);
    });
    const offChange = source.onChange((change) => {
      this.retire(change.reference);
    });
    return () => {
      offValue();
      offChange();
      for (const reference of seen) this.retire(reference);
    };
  }

  /** `line` with every loaded secret replaced by {@link LOG_REDACTED}; the same string when there is none. */
  redact(line: string): string {
    if (this.#entries.length === 0) return line;
    const matcher = this.#current();
    if (matcher === undefined) return line;
    let out = matcher.redact(line, LOG_REDACTED);
    // Only a line that was JSON is mended (pino writes nothing else; a test or a raw write may).
    if (out !== line && !isJson(out) && isJson(line)) out = quoteBareMarkers(out);
    if (out.includes('"type":"Buffer"')) {
      out = out.replace(BUFFER_JSON, (whole, data: string) =>
        bufferHolds(matcher, data) ? `"${LOG_REDACTED}"` : whole,
      );
    }
    return out;
  }

  /** Zeroes every copy and the matcher; later lines pass through unscrubbed. Idempotent. */
  dispose(): void {
    this.#disposed = true;
    for (const entry of this.#entries.splice(0)) entry.value.zero();
    this.#matcher?.dispose();
    this.#matcher = undefined;
  }

  /** The matcher over the live list: drops expired values first, rebuilds when the list changed. */
  #current(): SecretMatcher | undefined {
    const now = this.#now();
    if (now >= this.#nextExpiry) {
      this.#nextExpiry = Infinity;
      for (let i = this.#entries.length - 1; i >= 0; i--) {
        const entry = this.#entries[i];
        if (entry?.retireAt === undefined) continue;
        if (entry.retireAt <= now) {
          entry.value.zero();
          this.#entries.splice(i, 1);
          this.#dirty = true;
        } else {
          this.#nextExpiry = Math.min(this.#nextExpiry, entry.retireAt);
        }
      }
    }
    if (this.#dirty || this.#matcher === undefined) {
      this.#matcher?.dispose();
      this.#matcher =
        this.#entries.length === 0
          ? undefined
          : SecretMatcher.of(
              this.#entries.map((e) => e.value),
              RESPONSE_RULES,
            );
      this.#dirty = false;
    }
    return this.#matcher;
  }
}

/** True when `line` (one JSON line, its newline included) parses. */
function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/**
 * `line` with each marker that stands outside a JSON string (with the digits of the number it replaced part of)
 * turned into the string `"[REDACTED]"`.
 */
function quoteBareMarkers(line: string): string {
  let out = '';
  let inString = false;
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (inString) {
      const step = c === '\\' ? 2 : 1;
      out += line.slice(i, i + step);
      if (c === '"') inString = false;
      i += step;
      continue;
    }
    if (c === '"') inString = true;
    BARE_RUN.lastIndex = i;
    const run = BARE_RUN.exec(line)?.[0];
    if (run === undefined) {
      out += c;
      i++;
      continue;
    }
    out += run.includes(LOG_REDACTED) ? `"${LOG_REDACTED}"` : run;
    i += run.length;
  }
  return out;
}

/** True when the bytes of a serialised Buffer (`104,105`) hold a secret. The decoded copy is zeroed. */
function bufferHolds(matcher: SecretMatcher, data: string): boolean {
  const numbers = data.length === 0 ? [] : data.split(',');
  const bytes = Buffer.alloc(numbers.length);
  for (let i = 0; i < numbers.length; i++) bytes[i] = Number(numbers[i]) & 0xff;
  try {
    return matcher.matches(bytes);
  } finally {
    bytes.fill(0);
  }
}
