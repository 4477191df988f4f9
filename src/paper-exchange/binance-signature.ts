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
 *
 * Asymmetric keys ("SIGNED Endpoint Examples for POST /api/v3/order", RSA Keys; Ed25519 Keys in the current
 * revision; "API Key Types", faqs/api_key_types.md): the same `totalParams` is signed with the private key whose
 * public key was registered for the API key — RSASSA-PKCS1-v1_5 with SHA-256 for RSA, Ed25519 (pure, no prehash) —
 * and the signature is sent as base64, URL-encoded "since the signature may contain `/` and `=`". Unlike HMAC's hex,
 * these signatures are case sensitive.
 */
import { constants, createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

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

/**
 * True when `sent` (as it stood in the request: URL-encoded base64) is `publicKey`'s Ed25519 or RSA (PKCS#1 v1.5,
 * SHA-256) signature of `totalParams`. A signature that is not base64 once decoded is false, not an exception:
 * Binance answers any bad signature with -1022.
 *
 * `+` is decoded as a space (the form encoding of the body and of ccxt's query strings), so a base64 `+` sent without
 * URL-encoding fails, as the docs warn.
 */
export function verifyAsymmetricSignature(publicKey: KeyObject, totalParams: string, sent: string): boolean {
  let text: string;
  try {
    text = decodeURIComponent(sent.replace(/\+/g, ' '));
  } catch {
    return false;
  }
  if (!BASE64.test(text)) return false;
  const signature = Buffer.from(text, 'base64');
  const data = Buffer.from(totalParams, 'utf8');
  try {
    if (publicKey.asymmetricKeyType === 'ed25519') return verify(null, data, publicKey, signature);
    return verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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
