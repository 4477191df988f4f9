/**
 * The OpenID Provider process the OAuth tests get their tokens from: `oidc-provider` (panva; OpenID Certified),
 * configured here and nowhere else, run as a process of its own (`node --import tsx main.ts`, see
 * oidc-provider-peer.ts). Configuration only — clients, features, keys; no code of cofre.
 *
 * Reads its settings as JSON from `COFRE_OIDC_PEER` ({@link OidcPeerSettings}) and serves
 * `http://127.0.0.1:<port>`. Access tokens are JWTs (RFC 9068) issued only for a resource indicator (RFC 8707)
 * in `resources`, with `aud` = that resource, signed ES256 with a key made at start (published at `jwks_uri`).
 *
 * Docs: https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md (features.clientCredentials,
 * features.resourceIndicators, features.registration).
 */
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

import type { OidcPeerSettings } from './oidc-peer-settings.js';

/** Every scope a cofre resource knows; each client gets the ones it is allowed. */
const COFRE_SCOPES = ['cofre:read', 'cofre:trade', 'cofre:withdraw', 'cofre:services'];

const settings = JSON.parse(process.env['COFRE_OIDC_PEER'] ?? '') as OidcPeerSettings;
const issuer = `http://127.0.0.1:${settings.port}`;

// Fresh keys per run: RS256 signs ID tokens (the default algorithm), ES256 the access tokens.
async function signingKey(alg: 'RS256' | 'ES256'): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `${alg.toLowerCase()}-${Date.now()}` };
}

const allowedScopes = new Map(settings.clients.map((c) => [c.clientId, c.scopes]));

const provider = new Provider(issuer, {
  jwks: { keys: [await signingKey('RS256'), await signingKey('ES256')] },
  // Known here so that dynamic registration accepts a client asking for them (MCP clients register with the scopes
  // of the protected resource metadata); what a token gets is decided per client below.
  scopes: ['openid', 'offline_access', ...COFRE_SCOPES],
  clients: settings.clients.map((c) => ({
    client_id: c.clientId,
    ...(c.clientSecret === undefined ? {} : { client_secret: c.clientSecret }),
    ...(c.publicKeys === undefined ? {} : { jwks: { keys: c.publicKeys } }),
    token_endpoint_auth_method: c.authMethod ?? 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  })),
  features: {
    clientCredentials: { enabled: true },
    // Open dynamic client registration (RFC 7591), as interactive MCP clients expect to find it.
    registration: { enabled: true },
    // Login and consent pages the authorization-code test fills in.
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource asked for: no access token for any resource (cofre only takes tokens bound to it).
      defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resource: string, client: { clientId: string }) => {
        if (!settings.resources.includes(resource)) {
          throw new errors.InvalidTarget(`no resource server ${resource} here`);
        }
        // A client gets only the scopes it is allowed, whatever it asks for (RFC 6749 §3.3: the server may
        // issue fewer); a dynamically registered client gets `registrationScopes`.
        const scopes = allowedScopes.get(client.clientId) ?? settings.registrationScopes ?? [];
        return {
          scope: COFRE_SCOPES.filter((s) => scopes.includes(s)).join(' '),
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: settings.accessTokenTtlSeconds ?? 300,
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  ttl: { ClientCredentials: settings.accessTokenTtlSeconds ?? 300 },
  // A PKCE-less public client is refused; so is "plain".
  pkce: { required: () => true },
});

provider.on('server_error', (_ctx, err) => {
  process.stderr.write(`server_error: ${String(err)}\n`);
});

const server = provider.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening at ${issuer}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
