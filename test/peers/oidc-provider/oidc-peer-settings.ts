/**
 * One client registered at the provider from the start: a confidential client with the client-credentials grant.
 * (Interactive clients register themselves: dynamic registration is open.)
 */
export interface OidcPeerClient {
  readonly clientId: string;
  /** For `client_secret_basic` / `client_secret_post`. */
  readonly clientSecret?: string;
  /** How it authenticates at the token endpoint; default `client_secret_basic`. */
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** For `private_key_jwt` (RFC 7523): the public keys its client assertions are signed with (JWKs). */
  readonly publicKeys?: readonly Record<string, unknown>[];
  /** The cofre scopes its access tokens may carry (`cofre:read`, `cofre:trade`, ...), whatever it asks for. */
  readonly scopes: readonly string[];
}

/** What the provider process is told at start (JSON in `COFRE_OIDC_PEER`). */
export interface OidcPeerSettings {
  readonly port: number;
  readonly clients: readonly OidcPeerClient[];
  /** The resource indicators (RFC 8707) it issues access tokens for; any other is `invalid_target`. */
  readonly resources: readonly string[];
  /** The cofre scopes a dynamically registered client may get; default none. */
  readonly registrationScopes?: readonly string[];
  /** Lifetime of access tokens; default 300. */
  readonly accessTokenTtlSeconds?: number;
}
