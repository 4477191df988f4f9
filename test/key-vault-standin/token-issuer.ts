/**
 * The stand-in's token service: it signs access tokens (RS256, its own RSA key, `kid` published in the JWKS) for
 * every token endpoint — Entra v2, IMDS, App Service — and verifies them on every data-plane request. It also signs
 * the federated tokens a workload identity presents (as AKS's OIDC issuer would), with a different issuer and
 * audience, so one can never pass for the other.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';

import { decodeJwt, type JwtClaims, signatureVerifies, signJwt, timeClaimsProblem } from './jwt.js';

/** The Key Vault resource (token audience; scope `https://vault.azure.net/.default`). */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** Audience of federated (workload identity) tokens, as AKS and Entra use it. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresOn: number;
  readonly notBefore: number;
  readonly lifetimeSeconds: number;
}

export interface MintOptions {
  readonly clientId: string;
  readonly audience: string;
  /** Seconds from now; negative for an already expired token. Default: the issuer's current lifetime. */
  readonly lifetimeSeconds?: number;
  readonly tenantId?: string;
}

export type TokenCheck =
  { readonly ok: true; readonly clientId: string } | { readonly ok: false; readonly reason: string };

export class TokenIssuer {
  readonly keyId = randomBytes(8).toString('hex');
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Lifetime of tokens issued from now on (`setTokenLifetime`). */
  lifetimeSeconds = 3600;

  constructor(
    /** `<authorityHost>/<tenant>/v2.0`: the `iss` of access tokens. */
    readonly issuer: string,
    readonly tenantId: string,
    /** `iss` of federated tokens (the "Kubernetes OIDC issuer"). */
    readonly federationIssuer: string,
    private readonly nowSeconds: () => number,
    /** The signing key; injected by unit tests that forge tokens with it. */
    privateKey: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  ) {
    this.privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
  }

  /** An access token for `clientId` and `audience` (the resource, without `/.default`). */
  mint(options: MintOptions): IssuedToken {
    const now = this.nowSeconds();
    const lifetime = options.lifetimeSeconds ?? this.lifetimeSeconds;
    const claims: JwtClaims = {
      aud: options.audience,
      iss: this.issuer,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      tid: options.tenantId ?? this.tenantId,
      appid: options.clientId,
      azp: options.clientId,
      oid: options.clientId,
      sub: options.clientId,
      ver: '2.0',
      uti: randomUUID(),
    };
    const accessToken = signJwt(claims, this.privateKey, { kid: this.keyId });
    return { accessToken, expiresOn: now + lifetime, notBefore: now, lifetimeSeconds: lifetime };
  }

  /**
   * Checks a bearer token for the vault. SECURITY: signature (this issuer's key only), issuer, tenant, audience
   * and time are all checked; the first failure is the reason.
   */
  verify(token: string, audience: string): TokenCheck {
    const jwt = decodeJwt(token);
    if (jwt === undefined) return { ok: false, reason: 'malformed token' };
    if (jwt.header['kid'] !== this.keyId || !signatureVerifies(jwt, this.publicKey)) {
      return { ok: false, reason: 'invalid signature' };
    }
    const { claims } = jwt;
    if (claims['iss'] !== this.issuer) return { ok: false, reason: 'invalid issuer' };
    if (claims['tid'] !== this.tenantId) return { ok: false, reason: 'invalid tenant' };
    if (claims['aud'] !== audience) return { ok: false, reason: 'invalid audience' };
    const timeProblem = timeClaimsProblem(claims, this.nowSeconds());
    if (timeProblem !== undefined) return { ok: false, reason: timeProblem };
    const clientId = claims['appid'];
    if (typeof clientId !== 'string') return { ok: false, reason: 'no appid claim' };
    return { ok: true, clientId };
  }

  /** A federated token for `subject` (e.g. `system:serviceaccount:cofre:cofre`). */
  mintFederated(subject: string, lifetimeSeconds = 3600): string {
    const now = this.nowSeconds();
    const claims: JwtClaims = {
      aud: [TOKEN_EXCHANGE_AUDIENCE],
      iss: this.federationIssuer,
      sub: subject,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
    };
    return signJwt(claims, this.privateKey, { kid: this.keyId });
  }

  /** Checks a federated token; returns its subject. */
  verifyFederated(token: string): { ok: true; subject: string } | { ok: false; reason: string } {
    const jwt = decodeJwt(token);
    if (jwt === undefined || jwt.header['kid'] !== this.keyId || !signatureVerifies(jwt, this.publicKey)) {
      return { ok: false, reason: 'signature' };
    }
    const { claims } = jwt;
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (claims['iss'] !== this.federationIssuer || !audiences.includes(TOKEN_EXCHANGE_AUDIENCE)) {
      return { ok: false, reason: 'issuer or audience' };
    }
    const timeProblem = timeClaimsProblem(claims, this.nowSeconds());
    if (timeProblem !== undefined) return { ok: false, reason: timeProblem };
    const subject = claims['sub'];
    return typeof subject === 'string' ? { ok: true, subject } : { ok: false, reason: 'no subject' };
  }

  /** The JWKS (`jwks_uri` of the OpenID metadata). */
  jwks(): { keys: Record<string, unknown>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: jwk.kty, use: 'sig', kid: this.keyId, n: jwk.n, e: jwk.e }] };
  }
}

/** The resource a scope names: `https://vault.azure.net/.default` → `https://vault.azure.net`. */
export function resourceOfScope(scope: string): string {
  return scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : scope;
}
