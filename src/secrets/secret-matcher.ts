/**
 * Finds credentials in text, in every encoding of `secret-encodings.ts`, comparing bytes: the one mechanism behind
 * the broker's response scrubbing (`broker/scrub.ts`) and the cleaning of venue error text (`venues/venue-error.ts`).
 *
 * Two rules, by the secret's length:
 * - **Run rule** (secrets of {@link SHORT_SECRET_BYTES} bytes or more): any run of at least `minRun` characters of
 *   any encoded form is a hit, wherever it stands, so a venue that echoes a key in 20-character chunks, or a
 *   base64 blob with the key at an odd offset inside, is caught. Hex runs have their own minimum (`minHexRun`): 8
 *   hex digits carry only 4 bytes of the secret, and for a key of letters and digits about a third of its 8-digit
 *   hex windows are all decimal digits, so in structured responses (order ids, timestamps, amounts with 8
 *   decimals) they would hit about once in ten thousand responses and corrupt a number. See
 *   {@link RESPONSE_RULES} and {@link VENUE_TEXT_RULES}.
 * - **Token rule** (shorter secrets: a 6-digit `uid`, a 7-character passphrase): no credential that short can be
 *   told from ordinary text by a substring search (`123456` is inside a price), and a run rule would shred every
 *   response. A short secret is a hit only as a whole token: an encoded form not preceded or followed by a letter
 *   or digit, nor by one of `.-_` that joins it to a further letter or digit (`0.123456` and `123456-7` are one
 *   token; `123456.` at the end of a sentence, `uid=123456&` and `/123456/` are not), e.g. a whole JSON string
 *   value, a query parameter or a word of a message.
 *   Short values are weak credentials anyway; an account that needs a long one should be given a long one.
 *
 * How: each form's 4-byte windows at a stride of `minRun - 3` go into a hash table in a typed array; the text is
 * scanned once against the exact forms and once, through a case-folding byte map, against hex and URL forms; each
 * candidate window is extended both ways to the longest common run with its form, and runs of `minRun` or more
 * are hits. The stride guarantees that every run of `minRun` bytes contains an indexed window. Cost: linear in the
 * text, plus building the table (linear in the secrets' encoded size); see `bench/scrub.ts` and its README.
 *
 * SECURITY: the matcher makes no JavaScript string out of a secret. Encoded forms live in Buffers and the table in
 * typed arrays, all zeroed by {@link SecretMatcher.dispose}. Strings that remain, and why none can be avoided
 * here: the text being searched (it exists before the matcher sees it, and if it holds a secret the leak is
 * upstream), the redacted result (which holds none), and the plain numbers that pass through registers while
 * comparing. Secret bytes that cannot be decoded as UTF-8 by whoever echoes them are not found in their decoded
 * form (the echo would carry U+FFFD instead).
 *
 * Not safe to use after `dispose()`; safe to share between synchronous callers (it holds no scanning state).
 */
import { CofreError } from '../errors.js';
import { looksLikePem, pemBodyRegion, readPemBlocks } from './pem-block.js';
import {
  type EncodedForm,
  encodedForms,
  FOLD,
  foldAscii,
  IDENTITY,
  wholeValueForms,
} from './secret-encodings.js';
import type { SecretValue } from './secret-value.js';

/** Secrets shorter than this many bytes are matched by the token rule only (see the module comment). */
export const SHORT_SECRET_BYTES = 8;

/** The shortest runs that count as a hit. */
export interface MatchRules {
  /** Shortest run, in characters, of a raw, JSON, base64 or URL form; at least 4. */
  readonly minRun: number;
  /** Shortest run of a hex form; at least 4. */
  readonly minHexRun: number;
}

/**
 * For whole responses and anything cofre stores (state DB, audit): runs of 8 characters, hex runs of 16 (8 bytes
 * of the secret, as much as 8 raw characters give away), because responses are full of decimal digits.
 */
export const RESPONSE_RULES: MatchRules = Object.freeze({ minRun: 8, minHexRun: 16 });

/**
 * For a venue's free text (error messages): runs of 8 characters in every encoding, hex included. A false hit
 * costs nothing but the venue's wording, so the stricter rule applies.
 */
export const VENUE_TEXT_RULES: MatchRules = Object.freeze({ minRun: 8, minHexRun: 8 });

/** A hit: byte offsets `[start, end)` into the UTF-8 encoding of the text. */
export interface SecretSpan {
  readonly start: number;
  readonly end: number;
}

const KEY_BYTES = 4;
const HASH_MULTIPLIER = 0x9e3779b1;

/** See the module comment. Build with {@link SecretMatcher.of}; call {@link SecretMatcher.dispose} when done. */
export class SecretMatcher {
  /** Forms under the run rule; index `i` of the tables points into this list. */
  readonly #forms: EncodedForm[];
  readonly #minRuns: Uint32Array;
  readonly #exact: WindowTable;
  readonly #folded: WindowTable;
  /** Forms under the token rule. */
  readonly #whole: EncodedForm[];
  #disposed = false;

  private constructor(runForms: EncodedForm[], minRuns: Uint32Array, whole: EncodedForm[]) {
    this.#forms = runForms;
    this.#minRuns = minRuns;
    this.#exact = WindowTable.build(runForms, minRuns, (f) => f.kind === 'exact');
    this.#folded = WindowTable.build(runForms, minRuns, (f) => f.kind !== 'exact');
    this.#whole = whole;
  }

  /**
   * A matcher for `secrets` under `rules`. Reads the secrets' bytes now and keeps only its own encoded copies, so
   * the caller may zero the values right after. Throws `COFRE_SECRET_ZEROED` for a value already zeroed: a scrub
   * that cannot see a credential must fail, not pass text through.
   */
  static of(secrets: readonly SecretValue[], rules: MatchRules): SecretMatcher {
    if (!(rules.minRun >= KEY_BYTES && rules.minHexRun >= KEY_BYTES)) {
      throw new CofreError('COFRE_INTERNAL', `secret matcher: minimum runs must be at least ${KEY_BYTES}`);
    }
    const runForms: EncodedForm[] = [];
    const whole: EncodedForm[] = [];
    for (const secret of secrets) {
      const bytes = secret.bytes();
      if (bytes.length === 0) continue;
      if (bytes.length < SHORT_SECRET_BYTES) whole.push(...wholeValueForms(bytes));
      else runForms.push(...encodedForms(pemBodyRegion(bytes) ?? bytes), ...pemKeyForms(bytes));
    }
    const minRuns = Uint32Array.from(runForms, (f) =>
      Math.min(f.bytes.length, f.kind === 'hex' ? rules.minHexRun : rules.minRun),
    );
    return new SecretMatcher(runForms, minRuns, whole);
  }

  /** The hit spans in `text`, sorted and merged, widened to whole UTF-8 characters and backslash escapes. */
  find(text: string | Buffer): SecretSpan[] {
    this.#live();
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const spans: SecretSpan[] = [];
    this.#scan(bytes, IDENTITY, this.#exact, spans);
    this.#scan(bytes, FOLD, this.#folded, spans);
    let lower: Buffer | undefined;
    for (const form of this.#whole) {
      if (form.kind === 'exact') findTokens(bytes, form.bytes, spans);
      else findTokens((lower ??= foldAscii(Buffer.from(bytes))), form.bytes, spans);
    }
    return merge(spans, bytes);
  }

  /** True when `text` holds a credential under the matcher's rules. */
  matches(text: string | Buffer): boolean {
    return this.find(text).length > 0;
  }

  /**
   * `text` with every hit replaced by `replacement`; the same string when there is none. An unescaped `"` inside a
   * hit is kept (with the marker on each side): in JSON text it is a string delimiter, never a secret's own quote
   * (that one is escaped), and replacing it would break the structure. JSON text still cannot be promised to stay
   * valid for every secret (one containing `":"` could match across two strings); structured data is better
   * scrubbed value by value (`scrubValue` in `broker/scrub.ts`).
   */
  redact(text: string, replacement = '[REDACTED]'): string {
    const bytes = Buffer.from(text, 'utf8');
    const spans = this.find(bytes);
    if (spans.length === 0) return text;
    const marker = Buffer.from(replacement, 'utf8');
    const parts: Buffer[] = [];
    let at = 0;
    for (const span of spans) {
      parts.push(bytes.subarray(at, span.start));
      let from = span.start;
      for (let i = span.start; i < span.end; i++) {
        if (bytes[i] !== QUOTE || isEscaped(bytes, i)) continue;
        if (i > from) parts.push(marker);
        parts.push(bytes.subarray(i, i + 1));
        from = i + 1;
      }
      if (span.end > from) parts.push(marker);
      at = span.end;
    }
    parts.push(bytes.subarray(at));
    return Buffer.concat(parts).toString('utf8');
  }

  /** Zeroes every encoded form and table; later calls throw. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const form of [...this.#forms, ...this.#whole]) form.bytes.fill(0);
    this.#exact.zero();
    this.#folded.zero();
    this.#minRuns.fill(0);
  }

  #live(): void {
    if (this.#disposed) throw new CofreError('COFRE_INTERNAL', 'secret matcher used after dispose()');
  }

  /** Adds the runs of the table's forms found in `haystack`, its bytes mapped through `map` (exact or folded). */
  #scan(haystack: Buffer, map: Uint8Array, table: WindowTable, spans: SecretSpan[]): void {
    const length = haystack.length;
    if (table.size === 0 || length < KEY_BYTES) return;
    // Locals, not property reads, in the loop that runs once per byte of every response.
    const { data, headsAt, shift } = table;
    let key = 0;
    for (let i = 0; i < length; i++) {
      // Little-endian window ending at i: the same value `WindowTable` computed for the forms.
      key = (key >>> 8) | ((map[haystack[i] ?? 0] ?? 0) << 24) | 0;
      if (i < KEY_BYTES - 1) continue;
      let e = data[headsAt + (Math.imul(key, HASH_MULTIPLIER) >>> shift)] ?? -1;
      while (e !== -1) {
        if (data[4 * e] === key) {
          this.#extend(haystack, map, i - (KEY_BYTES - 1), data[4 * e + 1] ?? 0, data[4 * e + 2] ?? 0, spans);
        }
        e = data[4 * e + 3] ?? -1;
      }
    }
  }

  /** Grows a window match at `start` (form `f`, offset `at`) both ways; keeps it if it is a long enough run. */
  #extend(
    haystack: Buffer,
    map: Uint8Array,
    start: number,
    f: number,
    at: number,
    spans: SecretSpan[],
  ): void {
    const form = this.#forms[f]?.bytes;
    if (form === undefined) return;
    const byte = (i: number): number | undefined => map[haystack[i] ?? 0];
    let left = 0;
    while (start - left > 0 && at - left > 0 && byte(start - left - 1) === form[at - left - 1]) left++;
    let right = 0;
    const end = start + KEY_BYTES;
    while (
      end + right < haystack.length &&
      at + KEY_BYTES + right < form.length &&
      byte(end + right) === form[at + KEY_BYTES + right]
    ) {
      right++;
    }
    if (KEY_BYTES + left + right >= (this.#minRuns[f] ?? KEY_BYTES)) {
      spans.push({ start: start - left, end: end + right });
    }
  }
}

/**
 * A chained hash table from 4-byte windows (as little-endian 32-bit values) to (form, offset), in one typed array so
 * that it can be zeroed (a `Map` keyed by window values would leave most of a secret's bytes in the heap) and costs
 * one allocation per response.
 */
class WindowTable {
  /** Entry `e` at `4e`: key (as int32), form index, offset in the form, next entry or -1; then the bucket heads. */
  readonly data: Int32Array;
  readonly size: number;
  /** Index in `data` of bucket 0's head; bucket of a key: `Math.imul(key, HASH_MULTIPLIER) >>> shift`. */
  readonly headsAt: number;
  readonly shift: number;

  private constructor(size: number) {
    let bits = 4;
    while (1 << bits < size * 2) bits++;
    this.size = size;
    this.headsAt = 4 * size;
    this.shift = 32 - bits;
    this.data = new Int32Array(this.headsAt + (1 << bits));
    this.data.fill(-1, this.headsAt);
  }

  /** Indexes, for each form `include` accepts, the windows at offsets 0, s, 2s… with s = its minimum run − 3. */
  static build(
    forms: readonly EncodedForm[],
    minRuns: Uint32Array,
    include: (form: EncodedForm) => boolean,
  ): WindowTable {
    const strides = forms.map((_, i) => Math.max(1, (minRuns[i] ?? KEY_BYTES) - (KEY_BYTES - 1)));
    let count = 0;
    forms.forEach((f, i) => {
      if (include(f) && f.bytes.length >= KEY_BYTES) {
        count += Math.floor((f.bytes.length - KEY_BYTES) / (strides[i] ?? 1)) + 1;
      }
    });
    const table = new WindowTable(count);
    const { data, headsAt, shift } = table;
    let e = 0;
    forms.forEach((f, i) => {
      if (!include(f) || f.bytes.length < KEY_BYTES) return;
      const stride = strides[i] ?? 1;
      for (let at = 0; at + KEY_BYTES <= f.bytes.length; at += stride) {
        const key = f.bytes.readUInt32LE(at);
        const head = headsAt + (Math.imul(key, HASH_MULTIPLIER) >>> shift);
        data[4 * e] = key | 0;
        data[4 * e + 1] = i;
        data[4 * e + 2] = at;
        data[4 * e + 3] = data[head] ?? -1;
        data[head] = e;
        e++;
      }
    });
    return table;
  }

  zero(): void {
    this.data.fill(0);
  }
}

function isAlphanumeric(b: number | undefined): boolean {
  return (
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a))
  );
}

/**
 * `.`, `-`, `_`: between letters or digits they join one token (`0.123456`, `order-123456`, `id_123456`); at its
 * end they are punctuation (`hunter2.`). Other characters separate tokens: `=` and `&` (query strings), `/`
 * (paths), `+` and `%` (URL-encoded spaces and delimiters), quotes, spaces.
 */
function isJoiner(b: number | undefined): boolean {
  return b === 0x2e || b === 0x2d || b === 0x5f;
}

/** True when the token goes on from `haystack[at]` in direction `step` (-1 or +1). */
function tokenGoesOn(haystack: Buffer, at: number, step: -1 | 1): boolean {
  const b = haystack[at];
  if (isAlphanumeric(b)) return true;
  return isJoiner(b) && isAlphanumeric(haystack[at + step]);
}

/** Adds every occurrence of `form` in `haystack` that is a whole token (see the module comment). */
function findTokens(haystack: Buffer, form: Buffer, spans: SecretSpan[]): void {
  const edgeIsTokenish = (b: number | undefined): boolean => isAlphanumeric(b) || isJoiner(b);
  const checkBefore = edgeIsTokenish(form[0]);
  const checkAfter = edgeIsTokenish(form[form.length - 1]);
  let at = haystack.indexOf(form);
  while (at !== -1) {
    const end = at + form.length;
    const standsAlone =
      (!checkBefore || !tokenGoesOn(haystack, at - 1, -1)) && (!checkAfter || !tokenGoesOn(haystack, end, 1));
    if (standsAlone) spans.push({ start: at, end });
    at = haystack.indexOf(form, at + 1);
  }
}

/**
 * Sorts and merges overlapping or touching spans, widened so that none starts or ends inside a UTF-8 character or a
 * backslash escape (`\"`, `\\`, `\u00e9`): redacting half an escape in JSON text would leave a stray backslash
 * that escapes the closing quote or the marker, and the text would no longer parse.
 */
function merge(spans: SecretSpan[], bytes: Buffer): SecretSpan[] {
  if (spans.length === 0) return spans;
  const widened = spans.map((span) => widen(span, bytes));
  widened.sort((a, b) => a.start - b.start || a.end - b.end);
  const [first, ...rest] = widened;
  if (first === undefined) return [];
  const merged: SecretSpan[] = [];
  let current = first;
  for (const span of rest) {
    if (span.start <= current.end) {
      current = { start: current.start, end: Math.max(current.end, span.end) };
    } else {
      merged.push(current);
      current = span;
    }
  }
  merged.push(current);
  return merged;
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const U = 0x75;

/** True when the byte at `at` is escaped: an odd number of backslashes precede it. */
function isEscaped(bytes: Buffer, at: number): boolean {
  let run = 0;
  while (at - run - 1 >= 0 && bytes[at - run - 1] === BACKSLASH) run++;
  return run % 2 === 1;
}

function widen({ start, end }: SecretSpan, bytes: Buffer): SecretSpan {
  let s = escapeCovering(bytes, start);
  // Walk the span escape by escape, so that its end lands on an escape boundary.
  let i = s;
  while (i < end) i += bytes[i] === BACKSLASH ? (bytes[i + 1] === U ? 6 : 2) : 1;
  let e = Math.min(Math.max(end, i), bytes.length);
  const isContinuation = (at: number): boolean => ((bytes[at] ?? 0) & 0xc0) === 0x80;
  while (s > 0 && isContinuation(s)) s--;
  while (e < bytes.length && isContinuation(e)) e++;
  return { start: s, end: e };
}

/** The start of the backslash escape that `at` lies inside, or `at` itself. */
function escapeCovering(bytes: Buffer, at: number): number {
  for (let p = at - 1; p >= Math.max(0, at - 5); p--) {
    // A backslash starts an escape unless it is itself escaped.
    if (bytes[p] !== BACKSLASH || isEscaped(bytes, p)) continue;
    const length = bytes[p + 1] === U ? 6 : 2;
    return p + length > at ? p : at;
  }
  return at;
}

/**
 * The encoded forms of the key inside a PEM secret (an exchange's Ed25519 or RSA private key): the DER bytes of each
 * block, so the key is found also where its PEM text is not — hex of the DER, the DER's base64 at another alignment
 * (a PKCS#1 key re-wrapped as PKCS#8, as cofre hands it to ccxt), an Ed25519 seed on its own (a substring of the
 * DER), a JWK's base64url fields (each a run of the DER's). The PEM text itself, and any line of it, is covered by
 * the forms of its body (`pemBodyRegion`: the armor lines are the same in every key and left out, so that words such
 * as "private key" in a message are not redacted).
 *
 * SECURITY: the DER is read from the secret's bytes without a string and zeroed once encoded.
 */
function pemKeyForms(bytes: Buffer): EncodedForm[] {
  if (!looksLikePem(bytes)) return [];
  return readPemBlocks(bytes).flatMap((block) => {
    try {
      return block.der.length < SHORT_SECRET_BYTES ? [] : encodedForms(block.der);
    } finally {
      block.der.fill(0);
    }
  });
}
