/**
 * Request parameters as Binance reads them ("General Information on Endpoints", rest-api.md):
 *
 * - `GET` parameters come from the query string only;
 * - `POST`, `PUT` and `DELETE` parameters may come from the query string, from an
 *   `application/x-www-form-urlencoded` body, or from both;
 * - a parameter sent in both the query string and the body takes the query string's value;
 * - a parameter sent twice in the same place is an error (-1101, "Duplicate values for a parameter detected.").
 *
 * Typed getters raise Binance's own errors for missing (-1102) or malformed (-1100) values.
 */
import { binanceErrors, DECIMAL_RANGE, LONG_RANGE } from './binance-error.js';
import { ExactDecimal } from './exact-decimal.js';

/** The parameters of one request, read-only. */
export class BinanceParams {
  readonly #values: ReadonlyMap<string, string>;

  private constructor(values: ReadonlyMap<string, string>) {
    this.#values = values;
  }

  /**
   * Parses a raw query string (no leading `?`) and, for methods that take one, a raw form body. Throws
   * {@link BinanceApiError} -1101 on a parameter repeated within one of them.
   */
  static parse(rawQuery: string, rawBody: string, method: string): BinanceParams {
    const values = new Map(decodeOnce(rawQuery));
    if (method !== 'GET' && method !== 'HEAD') {
      for (const [name, value] of decodeOnce(rawBody)) {
        if (!values.has(name)) values.set(name, value);
      }
    }
    values.delete('signature');
    return new BinanceParams(values);
  }

  /** Every parameter as decoded (query over body), without `signature`. */
  entries(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }

  /** The value, or `undefined` when absent or empty (Binance treats empty as not sent). */
  optional(name: string): string | undefined {
    const value = this.#values.get(name);
    return value === undefined || value === '' ? undefined : value;
  }

  /** The value; -1102 when absent or empty. */
  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw binanceErrors.mandatory(name);
    return value;
  }

  has(name: string): boolean {
    return this.optional(name) !== undefined;
  }

  /** A DECIMAL parameter; -1100 when it is not a plain non-negative decimal. */
  optionalDecimal(name: string): ExactDecimal | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    const value = ExactDecimal.parse(text);
    if (value === undefined) throw binanceErrors.illegalChars(name, DECIMAL_RANGE);
    return value;
  }

  requiredDecimal(name: string): ExactDecimal {
    const value = this.optionalDecimal(name);
    if (value === undefined) throw binanceErrors.mandatory(name);
    return value;
  }

  /** A LONG parameter; -1100 when it is not a non-negative integer that fits in a JS number exactly. */
  optionalLong(name: string): number | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    if (!/^[0-9]{1,20}$/.test(text)) throw binanceErrors.illegalChars(name, LONG_RANGE);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw binanceErrors.illegalChars(name, LONG_RANGE);
    return value;
  }

  requiredLong(name: string): number {
    const value = this.optionalLong(name);
    if (value === undefined) throw binanceErrors.mandatory(name);
    return value;
  }
}

function decodeOnce(raw: string): Map<string, string> {
  const values = new Map<string, string>();
  if (raw === '') return values;
  for (const [name, value] of new URLSearchParams(raw)) {
    if (values.has(name)) throw binanceErrors.duplicateParameter();
    values.set(name, value);
  }
  return values;
}
