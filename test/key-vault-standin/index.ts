/**
 * A Key Vault stand-in: a test peer written from Microsoft's published REST API reference (Key Vault secrets data
 * plane, Entra ID token endpoints, the managed-identity endpoints), as the paper exchange was written from
 * Binance's. It shares no code with `src/secrets/azure-key-vault/`, and tests reach it only through the official
 * SDK (`@azure/keyvault-secrets`, `@azure/identity`) — apart from its own fixture tests, which quote the
 * reference's examples.
 *
 * CONTRACT (issue 13): the backend's tests are written against these types. PLACEHOLDER until built.
 */

/** A fault the stand-in injects into the next matching data-plane requests. */
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
  /** Token lifetime in seconds for tokens issued from now on (tests of expiry). */
  setTokenLifetime(seconds: number): void;

  stop(): Promise<void>;
}

/**
 * The stand-in's certificate (created on first use under `.tools/key-vault-standin/`), so `vitest.config.ts` can
 * set `NODE_EXTRA_CA_CERTS` before any test process starts. Returns the PEM file's path.
 */
export function ensureStandInCertificate(): string {
  throw new Error('key-vault stand-in not built yet');
}

/** Starts a stand-in on free loopback ports. */
// eslint-disable-next-line @typescript-eslint/require-await
export async function startKeyVaultStandIn(): Promise<KeyVaultStandIn> {
  throw new Error('key-vault stand-in not built yet');
}
