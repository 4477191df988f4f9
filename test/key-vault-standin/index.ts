/**
 * A Key Vault stand-in: a test peer written from Microsoft's published REST API reference (Key Vault secrets data
 * plane, Entra ID token endpoints, the managed-identity endpoints), as the paper exchange was written from
 * Binance's. It shares no code with `src/secrets/azure-key-vault/`, and tests reach it only through the official
 * SDK (`@azure/keyvault-secrets`, `@azure/identity`) — apart from its own fixture tests, which quote the
 * reference's examples.
 *
 * CONTRACT (issue 13): the backend's tests are written against these types.
 *
 * Files, one concept each: `certificate.ts` (TLS pair, NODE_EXTRA_CA_CERTS), `jwt.ts` (JWS by hand),
 * `token-issuer.ts` (signs and verifies tokens), `identities.ts` (who exists, which role),
 * `entra-authority.ts` + `client-assertion.ts` (Entra v2), `managed-identity-endpoints.ts` (IMDS, App Service),
 * `secret-store.ts` + `secret-operations.ts` + `secret-request.ts` + `secret-wire.ts` + `key-vault-errors.ts`
 * (the data plane's state, operations, input checks, JSON shapes, errors), `data-plane.ts` (auth, RBAC, faults,
 * log), `faults.ts`, `server.ts` (listeners), `main.ts` (CLI).
 */
import { ensureStandInTls } from './certificate.js';
import { startStandIn } from './server.js';

/**
 * A fault the stand-in injects into the next matching data-plane requests. Only requests that carry an
 * `Authorization` header match: the SDK's first, unauthenticated challenge request is never the one that fails.
 */
export type StandInFault =
  /** 429 `Throttled` with `Retry-After: <seconds>`. */
  | { readonly kind: 'throttle'; readonly retryAfterSeconds: number }
  /** A 5xx answer with Key Vault's error body. */
  | { readonly kind: 'status'; readonly status: 500 | 502 | 503 | 504 }
  /** Answers normally after this delay. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Destroys the connection without answering. */
  | { readonly kind: 'drop' };

export interface StandInFaultRule {
  readonly fault: StandInFault;
  /** How many matching requests get it; default 1. */
  readonly times?: number;
  /** Only requests with this method and/or whose path starts with this (e.g. `/secrets/binance`). */
  readonly method?: string;
  readonly pathPrefix?: string;
}

/** Key Vault RBAC built-in roles the stand-in enforces on the data plane. */
export type StandInRole = 'secrets-user' | 'secrets-officer' | 'none';

/** One data-plane request as the stand-in saw it (for counting retries and checking auth). */
export interface StandInRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly status: number;
  /** Client id the bearer token was issued to; absent when the request carried no valid token. */
  readonly clientId?: string;
}

/** One request to a token endpoint (IMDS, App Service, Entra), for counting token fetches and refusals. */
export interface StandInTokenRequest {
  readonly endpoint: 'imds' | 'app-service' | 'entra';
  /** The identity asked for (managed identity) or presented (Entra `client_id`); absent when none was named. */
  readonly clientId?: string;
  /** Entra only: the `grant_type` sent. */
  readonly grantType?: string;
  /** Entra only: true when the client authenticated with `client_assertion`, false with `client_secret`. */
  readonly assertion?: boolean;
  readonly status: number;
}

export interface KeyVaultStandIn {
  /** `https://localhost:<port>`: the vault's data plane (the SDK's `vaultUrl`). */
  readonly vaultUrl: string;
  /** `https://localhost:<port>`: the Entra ID authority (`/<tenant>/oauth2/v2.0/token`, OpenID metadata). */
  readonly authorityHost: string;
  readonly tenantId: string;
  /** `http://127.0.0.1:<port>`: set as `AZURE_POD_IDENTITY_AUTHORITY_HOST` to reach its IMDS endpoint. */
  readonly imdsHost: string;
  /** App Service–style managed identity: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
  readonly appService: { readonly endpoint: string; readonly header: string };
  /** Client id of the system-assigned managed identity (role `secrets-officer` unless changed). */
  readonly systemAssignedClientId: string;
  /** The PEM file of the certificate the stand-in serves (the file `NODE_EXTRA_CA_CERTS` names). */
  readonly caFile: string;

  /** A user-assigned managed identity; returns its client id. */
  addUserAssignedIdentity(role?: StandInRole): string;
  /** A service principal with a client secret or a certificate (PEM, with its key); returns its client id. */
  addServicePrincipal(
    credential: { readonly secret: string } | { readonly certificatePem: string },
    role?: StandInRole,
  ): string;
  /** A federated (workload identity) app and a file holding a signed federated token for it. */
  addWorkloadIdentity(role?: StandInRole): Promise<{ readonly clientId: string; readonly tokenFile: string }>;
  /** Sets an identity's role on the vault. */
  grant(clientId: string, role: StandInRole): void;

  /** Faults for the next matching data-plane requests, in order of rules added. */
  injectFault(rule: StandInFaultRule): void;
  clearFaults(): void;
  /** Every data-plane request so far. */
  readonly requests: readonly StandInRequest[];
  /** Every token-endpoint request so far. */
  readonly tokenRequests: readonly StandInTokenRequest[];
  /** Token lifetime in seconds for tokens issued from now on (tests of expiry); negative issues expired tokens. */
  setTokenLifetime(seconds: number): void;
  /**
   * An access token signed by the stand-in, for plain-fetch tests of the vault's token checks (another audience,
   * an expired token). `audience` is the resource, e.g. `https://vault.azure.net`.
   */
  mintAccessToken(options: {
    readonly clientId: string;
    readonly audience: string;
    readonly lifetimeSeconds?: number;
    /** Default: the stand-in's tenant. */
    readonly tenantId?: string;
  }): string;

  stop(): Promise<void>;
}

/**
 * The stand-in's certificate (created on first use under `.tools/key-vault-standin/`), so `vitest.config.ts` can
 * set `NODE_EXTRA_CA_CERTS` before any test process starts. Returns the PEM file's path.
 */
export function ensureStandInCertificate(): string {
  return ensureStandInTls().certFile;
}

/** Fixed ports instead of free ones (the CLI's `--vault-port` etc.), for a stand-in started by hand. */
export interface StandInOptions {
  readonly ports?: { readonly vault?: number; readonly authority?: number; readonly identity?: number };
}

/**
 * Starts a stand-in on free loopback ports (or `options.ports`), with an empty vault, a fresh tenant, and a system-assigned managed
 * identity holding `secrets-officer`. The calling process must trust {@link ensureStandInCertificate} through
 * `NODE_EXTRA_CA_CERTS` (vitest.config.ts sets it for test processes). Independent instances may run side by side.
 */
export async function startKeyVaultStandIn(options: StandInOptions = {}): Promise<KeyVaultStandIn> {
  return startStandIn(options);
}
