import {
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';

import { isLoopbackUrl } from '../config/services-config.js';
import { CofreError, type ErrorCode } from '../errors.js';

/** One trusted issuer of JWTs, as `agents.oauth[]` and `agents.exchange[]` configure it. */
export interface JwtIssuerConfig {
  readonly issuer: string;
  readonly jwks?: string | undefined;
  readonly algorithms: readonly string[];
  readonly clockSkew: number;
}

/** Verifies JWTs of one issuer: signature by its key set (fetched, cached, refetched on an unknown key id), claims. */
export interface JwtIssuer {
  readonly issuer: string;
  /**
   * The verified claims of `token`, or a CofreError with `refusal` as its code naming exactly what was wrong
   * (expired, audience, signature, unknown key...), or `COFRE_IDENTITY_ISSUER_UNAVAILABLE` when the issuer's
   * discovery document or key set could not be fetched.
   */
  verify(
    token: string,
    options: {
      readonly audience: string | readonly string[];
      readonly refusal: ErrorCode;
      readonly now: Date;
    },
  ): Promise<JWTPayload>;
}

/**
 * For `cofre doctor`: finds the issuer's key set (discovery unless configured) and fetches it once, answering where
 * it is and how many keys it holds; throws `COFRE_IDENTITY_ISSUER_UNAVAILABLE` saying what failed.
 */
export async function probeJwtIssuer(config: JwtIssuerConfig): Promise<{ jwks: string; keys: number }> {
  const jwks = await jwksUrlOf(config);
  let keys: unknown;
  try {
    const response = await fetch(jwks, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    keys = ((await response.json()) as { keys?: unknown }).keys;
  } catch (err) {
    throw new CofreError('COFRE_IDENTITY_ISSUER_UNAVAILABLE', `the key set at ${jwks} could not be fetched`, {
      cause: err,
    });
  }
  if (!Array.isArray(keys)) {
    throw new CofreError(
      'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
      `${jwks} is not a JSON Web Key Set (no "keys" array)`,
    );
  }
  return { jwks, keys: keys.length };
}

const FETCH_TIMEOUT_MS = 5_000;

/**
 * jose does the cryptography and the claim checks (we write none): `jwtVerify` refuses `alg: none`, any algorithm
 * not listed, a bad signature, and checks `iss`, `aud`, `exp`, `nbf` with the tolerance. `createRemoteJWKSet` caches
 * the key set and refetches it (at most every 30 s) when a token names a key id it does not hold: the issuer's key
 * rotation needs no restart of cofre.
 */
export function createJwtIssuer(config: JwtIssuerConfig): JwtIssuer {
  let keySet: JWTVerifyGetKey | undefined;
  let discovering: Promise<JWTVerifyGetKey> | undefined;
  const keys = async (): Promise<JWTVerifyGetKey> => {
    if (keySet !== undefined) return keySet;
    // A failed discovery is forgotten, so the next token tries again instead of failing until a restart.
    discovering ??= jwksUrlOf(config).then(
      (url) =>
        (keySet = createRemoteJWKSet(new URL(url), {
          timeoutDuration: FETCH_TIMEOUT_MS,
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
        })),
      (err: unknown) => {
        discovering = undefined;
        throw err;
      },
    );
    return discovering;
  };
  return {
    issuer: config.issuer,
    async verify(token, options) {
      const getKey = await keys();
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer: config.issuer,
          audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
          algorithms: [...config.algorithms],
          clockTolerance: Math.round(config.clockSkew / 1000),
          currentDate: options.now,
          requiredClaims: ['exp'],
        });
        return payload;
      } catch (err) {
        throw refusalOf(err, config.issuer, options.refusal);
      }
    },
  };
}

/** The `iss` of a token, read without verifying anything: only to choose which issuer verifies it. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** A compact JWS: three base64url parts, the first a JSON header (`eyJ` is `{"` encoded). */
export function looksLikeJwt(token: string | undefined): boolean {
  return token !== undefined && /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}

function refusalOf(err: unknown, issuer: string, code: ErrorCode): CofreError {
  const refuse = (message: string): CofreError => new CofreError(code, message, { cause: err });
  if (err instanceof joseErrors.JWTExpired) return refuse('the token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return refuse('the token was issued for another audience (its `aud` is not one this cofre accepts)');
      case 'iss':
        return refuse(`the token's issuer is not ${issuer}`);
      case 'nbf':
        return refuse('the token is not valid yet (`nbf`)');
      case 'iat':
        return refuse('the token was issued in the future (`iat`)');
      case 'exp':
        return refuse('the token has no expiry (`exp`); only expiring tokens are accepted');
      default:
        return refuse(`the token's \`${err.claim}\` claim is not valid`);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return refuse('the token is signed with an algorithm this issuer is not trusted for');
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return refuse(`the token is signed with a key that is not in ${issuer}'s key set`);
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys)
    return refuse(`the token names no key id and ${issuer}'s key set has several candidate keys`);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return refuse('the token signature does not verify');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new CofreError(
      'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
      `the key set of ${issuer} could not be fetched`,
      { cause: err },
    );
  }
  if (err instanceof joseErrors.JOSEError) return refuse('the token is not a well-formed signed JWT');
  // A fetch failure of the key set (connection refused, TLS) comes through as a plain error.
  return new CofreError(
    'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
    `the key set of ${issuer} could not be fetched`,
    {
      cause: err,
    },
  );
}

/**
 * The issuer's `jwks_uri`: configured, or from its discovery document (OpenID Connect Discovery, then RFC 8414),
 * whose `issuer` must be the configured one exactly (OIDC Discovery §4.3: a document for another issuer is refused).
 */
async function jwksUrlOf(config: JwtIssuerConfig): Promise<string> {
  if (config.jwks !== undefined) return config.jwks;
  const base = config.issuer.replace(/\/+$/, '');
  const { origin, pathname } = new URL(base);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${origin}/.well-known/oauth-authorization-server${pathname === '/' ? '' : pathname}`,
  ];
  for (const url of candidates) {
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
    } catch (err) {
      throw new CofreError(
        'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
        `the discovery document of ${config.issuer} could not be fetched (${url})`,
        { cause: err },
      );
    }
    if (response.status === 404) continue;
    const document: unknown = response.ok ? await response.json().catch(() => undefined) : undefined;
    const fields =
      typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
    if (fields['issuer'] !== config.issuer || typeof fields['jwks_uri'] !== 'string') {
      throw new CofreError(
        'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
        `the discovery document at ${url} is not a valid one for issuer ${config.issuer} (HTTP ${response.status}; its issuer must equal the configured one and it must name a jwks_uri)`,
      );
    }
    const jwks = fields['jwks_uri'];
    // SECURITY: a key set fetched in the clear could be swapped for the attacker's; the config rule, applied here too.
    if (!jwks.startsWith('https://') && !isLoopbackUrl(jwks)) {
      throw new CofreError(
        'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
        `the discovery document of ${config.issuer} names a key set over plain http (${jwks}); only https is accepted`,
      );
    }
    return jwks;
  }
  throw new CofreError(
    'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
    `${config.issuer} publishes no discovery document; set \`jwks\` to its key set URL`,
  );
}
