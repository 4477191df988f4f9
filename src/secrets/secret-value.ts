import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

import { CofreError } from '../errors.js';

const REDACTED = '[REDACTED]';

/**
 * Secret bytes that cannot be printed by accident.
 *
 * SECURITY: `toString`, `toJSON`, `util.inspect` and template literals all render `[REDACTED]`; the bytes are only
 * reachable through {@link SecretValue.bytes} or {@link SecretValue.text}, which name what they do. `zero()`
 * overwrites the buffer so a value dropped after use does not linger in the heap until the next GC. Strings
 * obtained from `text()` cannot be zeroed (JavaScript strings are immutable): call it as late as possible.
 *
 * Not safe to share between owners that may zero it: hand out {@link SecretValue.clone} instead.
 */
export class SecretValue {
  #bytes: Buffer | undefined;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (no copy): the caller must not keep or reuse the buffer. */
  static adopt(bytes: Buffer): SecretValue {
    return new SecretValue(bytes);
  }

  /** Copies `bytes`; the caller keeps its buffer and should zero it. */
  static copyOf(bytes: Uint8Array): SecretValue {
    return new SecretValue(Buffer.from(bytes));
  }

  /** From a UTF-8 string (the string itself cannot be wiped; prefer buffers where the source allows). */
  static fromText(text: string): SecretValue {
    return new SecretValue(Buffer.from(text, 'utf8'));
  }

  /** Length in bytes; safe to log. */
  get length(): number {
    return this.#live().length;
  }

  /** True after {@link SecretValue.zero}. */
  get zeroed(): boolean {
    return this.#bytes === undefined;
  }

  /** The bytes themselves (not a copy). Do not retain, log or mutate them. */
  bytes(): Buffer {
    return this.#live();
  }

  /** The value decoded as UTF-8, for APIs that only take strings (exchange SDKs). */
  text(): string {
    return this.#live().toString('utf8');
  }

  /** An independent copy the receiver owns and may zero. */
  clone(): SecretValue {
    return SecretValue.copyOf(this.#live());
  }

  /** Constant-time comparison of the bytes (lengths are not secret). */
  equals(other: SecretValue): boolean {
    const a = this.#live();
    const b = other.#live();
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Overwrites the bytes with zeros and forgets them; later access throws `COFRE_SECRET_ZEROED`. */
  zero(): void {
    this.#bytes?.fill(0);
    this.#bytes = undefined;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretValue(${REDACTED})`;
  }

  #live(): Buffer {
    if (this.#bytes === undefined) {
      throw new CofreError('COFRE_SECRET_ZEROED', 'secret value used after it was zeroed');
    }
    return this.#bytes;
  }
}
