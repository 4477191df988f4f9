/**
 * Hand-written compact JWS (RFC 7515) signing and verification with node:crypto — a test peer does not pull in a
 * JWT library. Signs RS256; verifies RS256 and PS256 (msal-node signs certificate assertions with PS256 when it
 * uses the SHA-256 thumbprint, `x5t#S256`).
 */
import { constants as cryptoConstants, createSign, createVerify, type KeyObject } from 'node:crypto';

export type JwtClaims = Readonly<Record<string, unknown>>;
export type JwtHeader = Readonly<Record<string, unknown>>;

export interface DecodedJwt {
  readonly header: JwtHeader;
  readonly claims: JwtClaims;
  readonly signingInput: string;
  readonly signature: Buffer;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Signs `claims` with RS256; `header` adds fields such as `kid`. */
export function signJwt(claims: JwtClaims, key: KeyObject, header: JwtHeader = {}): string {
  const signingInput = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', ...header }))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('sha256').update(signingInput).sign(key);
  return `${signingInput}.${b64url(signature)}`;
}

/** Splits and parses a compact JWS without checking anything; `undefined` when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, c, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(claims)) return undefined;
    return { header, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether the JWS signature verifies under `publicKey` with the algorithm its header names (RS256 or PS256 only).
 * SECURITY: `alg: none` and HMAC algorithms are refused, so a token cannot pick a weaker check than the key's.
 */
export function signatureVerifies(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const alg = jwt.header['alg'];
  const verifier = createVerify('sha256').update(jwt.signingInput);
  if (alg === 'RS256') return verifier.verify(publicKey, jwt.signature);
  if (alg === 'PS256') {
    return verifier.verify(
      {
        key: publicKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
      },
      jwt.signature,
    );
  }
  return false;
}

/**
 * Why a token's time claims refuse it now, or `undefined` when they accept it. `exp` is strict (Entra allows some
 * skew; stand-in and clients share one clock, and tests of expiry should not have to wait it out); `nbf` gets a
 * minute, since clients round the current second (msal-node's `nowSeconds` uses `Math.round`).
 */
export function timeClaimsProblem(claims: JwtClaims, nowSeconds: number): string | undefined {
  const exp = claims['exp'];
  const nbf = claims['nbf'];
  if (typeof exp !== 'number') return 'no exp claim';
  if (exp <= nowSeconds) return 'expired';
  if (typeof nbf === 'number' && nbf - 60 > nowSeconds) return 'not yet valid';
  return undefined;
}
