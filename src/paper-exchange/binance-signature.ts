/**
 * Binance's HMAC-SHA256 request signature, as specified in "SIGNED (TRADE and USER_DATA) Endpoint security" of the
 * Spot REST API docs (rest-api.md, binance/binance-spot-api-docs):
 *
 * - the key is the account's `secretKey`; the message is `totalParams`;
 * - `totalParams` is the query string concatenated with the request body, with no separator between them (the
 *   docs' Example 3 points out there is no `&` between "GTC" and "quantity=1");
 * - the signature is hex and "not case sensitive";
 * - the `signature` parameter itself is sent in the query string or the body, so it is not part of what is signed.
 *
 * The bytes are taken exactly as received (still percent-encoded): Binance signs the wire text, not decoded values.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `totalParams` under `secret`, as a client computes it. */
export function binanceSignature(secret: Buffer | string, totalParams: string): string {
  return createHmac('sha256', secret).update(totalParams, 'utf8').digest('hex');
}

/** `totalParams` and the sent signature, split out of a raw query string and a raw body. */
export interface SignedPayload {
  /** Query string (without `?`) then body, each with its `signature=…` parameter removed. */
  readonly totalParams: string;
  /** The `signature` value as sent (percent-decoding is not needed for hex), or `undefined` when absent. */
  readonly signature: string | undefined;
  /** True when `signature` appeared more than once. */
  readonly duplicated: boolean;
}

/** Splits the signature out of a request; `rawQuery` has no leading `?`. */
export function signedPayload(rawQuery: string, rawBody: string): SignedPayload {
  const query = withoutSignature(rawQuery);
  const body = withoutSignature(rawBody);
  const signatures = [...query.signatures, ...body.signatures];
  return {
    totalParams: query.rest + body.rest,
    signature: signatures[0],
    duplicated: signatures.length > 1,
  };
}

/**
 * True when `sent` is the signature of `totalParams` under `secret`.
 *
 * SECURITY: compared in constant time over the lower-cased hex (the docs make the signature case-insensitive), so
 * the time taken does not tell a caller how many leading characters were right.
 */
export function verifyBinanceSignature(secret: Buffer | string, totalParams: string, sent: string): boolean {
  const expected = Buffer.from(binanceSignature(secret, totalParams), 'ascii');
  const given = Buffer.from(sent.toLowerCase(), 'ascii');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function withoutSignature(raw: string): { rest: string; signatures: string[] } {
  if (raw === '') return { rest: '', signatures: [] };
  const kept: string[] = [];
  const signatures: string[] = [];
  for (const part of raw.split('&')) {
    if (part.startsWith('signature=')) signatures.push(part.slice('signature='.length));
    else kept.push(part);
  }
  return { rest: kept.join('&'), signatures };
}
