import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import type { CofreConfig } from '../../config/config-schema.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import type { OAuthIssuerConfig } from '../../config/identity-config.js';
import { ACTION_CLASSES, type ActionClass } from '../../identity/action-classes.js';
import { bearerToken } from './bearer-token.js';
import type { BearerChallenge } from './http-error.js';

/** cofre as an OAuth protected resource: what the metadata routes and the `WWW-Authenticate` challenges need. */
export interface ProtectedResource {
  /** `server.publicUrl`, no trailing slash: the resource identifier of the API; `<publicUrl>/mcp` is MCP's. */
  readonly publicUrl: string;
  /** `agents.oauth`: the authorization servers, and the scope each class of action needs at each. */
  readonly issuers: readonly Pick<DeepReadonly<OAuthIssuerConfig>, 'issuer' | 'scopes'>[];
}

const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The protected resource a config describes; undefined (no metadata, no `resource_metadata`) without OAuth. */
export function protectedResourceOf(
  config: Pick<CofreConfig, 'server' | 'agents'>,
): ProtectedResource | undefined {
  const publicUrl = config.server.publicUrl;
  if (publicUrl === undefined || config.agents.oauth.length === 0) return undefined;
  return { publicUrl, issuers: config.agents.oauth };
}

/**
 * The metadata URL for a request path (RFC 9728 §3.1: the well-known suffix goes between the host and the
 * resource's path): `/mcp` is its own resource (`<publicUrl>/mcp`), everything else is the API (`<publicUrl>`).
 */
export function resourceMetadataUrl(resource: ProtectedResource, requestPath: string): string {
  const { origin, pathname } = new URL(resource.publicUrl);
  const base = pathname === '/' ? '' : pathname;
  return `${origin}${METADATA_PATH}${base}${isMcpPath(requestPath) ? '/mcp' : ''}`;
}

/**
 * What a refusal of `request` says in its `WWW-Authenticate` header: whether a token came, the metadata URL of the
 * resource asked for, and (for an agent authenticated with an access token) the scope each class needs at its
 * issuer. The operator API takes operator tokens, not OAuth ones: no metadata is named there.
 */
export function bearerChallengeOf(
  request: FastifyRequest,
  resource: ProtectedResource | undefined,
  agent: AuthenticatedAgent | undefined,
): BearerChallenge {
  const tokenPresented = bearerToken(request.headers.authorization) !== undefined;
  if (resource === undefined || request.url.startsWith('/v1/operator/')) return { tokenPresented };
  const credential = agent?.credential;
  const scopes =
    credential?.kind === 'oauth'
      ? resource.issuers.find((i) => i.issuer === credential.issuer)?.scopes
      : undefined;
  return {
    tokenPresented,
    resourceMetadata: resourceMetadataUrl(resource, request.url),
    scopeFor: (actionClass) =>
      scopes !== undefined && isActionClass(actionClass) ? scopes[actionClass] : undefined,
  };
}

function isActionClass(name: string): name is ActionClass {
  return (ACTION_CLASSES as readonly string[]).includes(name);
}

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), as MCP authorization clients discover it from the 401's
 * `resource_metadata`: `GET /.well-known/oauth-protected-resource` for the API, and the path-suffixed form
 * `/.well-known/oauth-protected-resource/mcp` for `/mcp`. Public (it holds no secret); behind the Host guard like
 * every route. When `publicUrl` has a path (`https://host/cofre`), that path is the routes' suffix
 * (`/.well-known/oauth-protected-resource/cofre[/mcp]`), as RFC 9728 §3.1 builds the URL a client asks for.
 */
export function registerProtectedResourceRoutes(app: FastifyInstance, resource: ProtectedResource): void {
  const { pathname } = new URL(resource.publicUrl);
  const base = pathname === '/' ? '' : pathname;
  const scopes = [
    ...new Set(
      resource.issuers.flatMap((i) => [i.scopes.read, i.scopes.trade, i.scopes.withdraw, i.scopes.services]),
    ),
  ];
  const document = (id: string) => ({
    resource: id,
    authorization_servers: resource.issuers.map((i) => i.issuer),
    scopes_supported: scopes,
    // RFC 6750 §2.1 only: a token in a query string or a form body ends up in logs and histories.
    bearer_methods_supported: ['header'],
    resource_name: 'cofre',
  });
  const api = document(resource.publicUrl);
  const mcp = document(`${resource.publicUrl}/mcp`);
  app.get(`${METADATA_PATH}${base}`, () => api);
  app.get(`${METADATA_PATH}${base}/mcp`, () => mcp);
}

function isMcpPath(path: string): boolean {
  return (path.split('?')[0] ?? '') === '/mcp';
}
