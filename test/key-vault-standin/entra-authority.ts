/**
 * The Entra ID (v2) authority for one tenant, as much of it as a confidential client uses:
 * - `GET /<tenant>/v2.0/.well-known/openid-configuration` (msal-node fetches it when instance discovery is off;
 *   it checks that `issuer` is on the authority's own host) and the JWKS it names;
 * - `POST /<tenant>/oauth2/v2.0/token`, grant `client_credentials`, client authenticated by `client_secret` or by
 *   `client_assertion` (a certificate-signed JWT, or a workload identity's federated token)
 *   (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow);
 * - `GET /common/discovery/instance` for completeness (msal-node only asks when instance discovery is on).
 * Errors use Entra's body (`error`, `error_description` starting with the AADSTS code, `error_codes`, …).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { verifyClientAssertion } from './client-assertion.js';
import { readBody, sendJson } from './http-io.js';
import type { Identity, IdentityRegistry } from './identities.js';
import type { TokenRequestNote } from './managed-identity-endpoints.js';
import { resourceOfScope, type TokenIssuer } from './token-issuer.js';

interface AuthorityContext {
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly identities: IdentityRegistry;
  readonly issuer: TokenIssuer;
}

export interface EntraError {
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly description: string;
}

function sendEntraError(res: ServerResponse, e: EntraError): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  // Entra's timestamp form: "2016-01-09 02:02:12Z".
  const timestamp = `${new Date().toISOString().slice(0, 19).replace('T', ' ')}Z`;
  sendJson(res, e.status, {
    error: e.error,
    error_description:
      `AADSTS${e.code}: ${e.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}` +
      `\r\nTimestamp: ${timestamp}`,
    error_codes: [e.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
  });
}

export function openIdConfiguration(ctx: AuthorityContext): Record<string, unknown> {
  const base = `${ctx.authorityHost}/${ctx.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${ctx.authorityHost}/${ctx.tenantId}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: null,
    cloud_instance_name: 'microsoftonline.com',
  };
}

/** Routes an authority request; false when the path is not the authority's. */
export async function handleAuthority(
  ctx: AuthorityContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  note: TokenRequestNote,
): Promise<boolean> {
  const [tenant, ...rest] = url.pathname.split('/').filter((s) => s !== '');
  const path = rest.join('/');
  if (tenant === 'common' && path === 'discovery/instance') {
    sendJson(res, 200, instanceDiscovery(ctx));
    return true;
  }
  const known = ['v2.0/.well-known/openid-configuration', 'discovery/v2.0/keys', 'oauth2/v2.0/token'];
  if (tenant === undefined || !known.includes(path)) return false;
  if (tenant.toLowerCase() !== ctx.tenantId) {
    sendEntraError(res, {
      status: 400,
      error: 'invalid_tenant',
      code: 90002,
      description: `Tenant '${tenant}' not found.`,
    });
    return true;
  }
  if (path === 'v2.0/.well-known/openid-configuration') sendJson(res, 200, openIdConfiguration(ctx));
  else if (path === 'discovery/v2.0/keys') sendJson(res, 200, ctx.issuer.jwks());
  else if (req.method !== 'POST') sendJson(res, 405, { error: 'invalid_request' });
  else await handleTokenRequest(ctx, req, res, note);
  return true;
}

function instanceDiscovery(ctx: AuthorityContext): Record<string, unknown> {
  const host = new URL(ctx.authorityHost).host;
  return {
    tenant_discovery_endpoint: `${ctx.authorityHost}/${ctx.tenantId}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

async function handleTokenRequest(
  ctx: AuthorityContext,
  req: IncomingMessage,
  res: ServerResponse,
  note: TokenRequestNote,
): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  const clientId = form.get('client_id');
  const grantType = form.get('grant_type');
  if (clientId !== null) note.clientId = clientId;
  if (grantType !== null) note.grantType = grantType;
  if (form.has('client_assertion') || form.has('client_secret'))
    note.assertion = form.has('client_assertion');
  const outcome = authenticateClient(ctx, form);
  if ('error' in outcome) {
    sendEntraError(res, outcome);
    return;
  }
  const scope = form.get('scope') ?? '';
  const scopes = scope
    .split(' ')
    .filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
  if (scopes.length !== 1 || !scopes[0]?.endsWith('/.default')) {
    sendEntraError(res, {
      status: 400,
      error: 'invalid_scope',
      code: 1002012,
      description: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    });
    return;
  }
  const token = ctx.issuer.mint({
    clientId: outcome.identity.clientId,
    audience: resourceOfScope(scopes[0]),
  });
  sendJson(res, 200, {
    token_type: 'Bearer',
    expires_in: token.lifetimeSeconds,
    ext_expires_in: token.lifetimeSeconds,
    access_token: token.accessToken,
  });
}

/** Who the client is, by `client_secret` or `client_assertion`; an Entra error when it cannot be trusted. */
function authenticateClient(
  ctx: AuthorityContext,
  form: URLSearchParams,
): { identity: Identity } | EntraError {
  if (form.get('grant_type') !== 'client_credentials') {
    return {
      status: 400,
      error: 'unsupported_grant_type',
      code: 70003,
      description: 'The app requested an unsupported grant type.',
    };
  }
  const clientId = form.get('client_id') ?? '';
  const identity = ctx.identities.get(clientId);
  if (identity === undefined || (identity.kind !== 'service-principal' && identity.kind !== 'workload')) {
    return {
      status: 400,
      error: 'unauthorized_client',
      code: 700016,
      description: `Application with identifier '${clientId}' was not found in the directory '${ctx.tenantId}'.`,
    };
  }
  const secret = form.get('client_secret');
  if (secret !== null) {
    // SECURITY: only an identity registered with a secret accepts one, and only that exact secret.
    if (identity.secret === undefined || identity.secret !== secret) {
      return {
        status: 401,
        error: 'invalid_client',
        code: 7000215,
        description: 'Invalid client secret provided.',
      };
    }
    return { identity };
  }
  const assertion = form.get('client_assertion');
  if (
    assertion === null ||
    form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
  ) {
    return {
      status: 401,
      error: 'invalid_client',
      code: 7000218,
      description:
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    };
  }
  const tokenEndpoint = `${ctx.authorityHost}/${ctx.tenantId}/oauth2/v2.0/token`;
  const problem = verifyClientAssertion(identity, assertion, { tokenEndpoint, issuer: ctx.issuer });
  return problem === undefined ? { identity } : problem;
}
