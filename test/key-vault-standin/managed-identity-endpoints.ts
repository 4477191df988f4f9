/**
 * Managed-identity token endpoints on plain HTTP, as a VM or App Service host offers them:
 * - IMDS: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…[&client_id=…]` with header
 *   `Metadata: true` (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).
 *   msal-node reaches it at `${AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`.
 * - App Service: `GET ${IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…[&client_id=…]` with header
 *   `X-IDENTITY-HEADER: ${IDENTITY_HEADER}` (https://learn.microsoft.com/azure/app-service/overview-managed-identity).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { sendJson } from './http-io.js';
import type { Identity, IdentityRegistry } from './identities.js';
import type { TokenIssuer } from './token-issuer.js';

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
export const APP_SERVICE_TOKEN_PATH = '/MSI/token';
const APP_SERVICE_API_VERSION = '2019-08-01';

interface ManagedIdentityContext {
  readonly identities: IdentityRegistry;
  readonly issuer: TokenIssuer;
  /** The secret App Service puts in `IDENTITY_HEADER`. */
  readonly appServiceHeader: string;
}

type Lookup = { identity: Identity } | { error: string };

/** What the server records about a token request (`tokenRequests`); handlers fill it in. */
export interface TokenRequestNote {
  clientId?: string;
  grantType?: string;
  assertion?: boolean;
}

/** Which managed identity a request asks for: the system-assigned one, or a user-assigned one by `client_id`. */
function managedIdentityFor(
  ctx: ManagedIdentityContext,
  query: URLSearchParams,
  note: TokenRequestNote,
): Lookup {
  note.clientId = query.get('client_id') ?? ctx.identities.systemAssigned.clientId;
  if (
    query.has('object_id') ||
    query.has('msi_res_id') ||
    query.has('mi_res_id') ||
    query.has('principal_id')
  ) {
    return { error: 'Identity not found (the stand-in knows managed identities by client_id only)' };
  }
  const clientId = query.get('client_id');
  if (clientId === null) return { identity: ctx.identities.systemAssigned };
  const identity = ctx.identities.get(clientId);
  if (identity === undefined || (identity.kind !== 'user-assigned' && identity.kind !== 'system-assigned')) {
    return { error: 'Identity not found' };
  }
  return { identity };
}

/** Answers the IMDS token endpoint. */
export function handleImds(
  ctx: ManagedIdentityContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  note: TokenRequestNote,
): void {
  const query = url.searchParams;
  // IMDS refuses requests without the header (SSRF protection); @azure/identity's probe relies on this answer.
  if (req.headers['metadata'] !== 'true') {
    sendJson(res, 400, {
      error: 'bad_request_102',
      error_description: 'Required metadata header not specified',
    });
    return;
  }
  if (req.method !== 'GET' || query.get('api-version') === null) {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: 'Required api-version parameter not specified',
    });
    return;
  }
  const resource = query.get('resource');
  if (resource === null || resource === '') {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: 'Required audience parameter not specified',
    });
    return;
  }
  const lookup = managedIdentityFor(ctx, query, note);
  if ('error' in lookup) {
    sendJson(res, 400, { error: 'invalid_request', error_description: lookup.error });
    return;
  }
  const token = ctx.issuer.mint({ clientId: lookup.identity.clientId, audience: resource });
  sendJson(res, 200, {
    access_token: token.accessToken,
    refresh_token: '',
    client_id: lookup.identity.clientId,
    expires_in: String(token.lifetimeSeconds),
    expires_on: String(token.expiresOn),
    ext_expires_in: String(token.lifetimeSeconds),
    not_before: String(token.notBefore),
    resource,
    token_type: 'Bearer',
  });
}

/** Answers the App Service token endpoint. */
export function handleAppService(
  ctx: ManagedIdentityContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  note: TokenRequestNote,
): void {
  const query = url.searchParams;
  // SECURITY: the header is the endpoint's only proof that the caller runs inside the app.
  if (req.headers['x-identity-header'] !== ctx.appServiceHeader) {
    sendJson(res, 401, { statusCode: 401, message: 'Unauthorized: X-IDENTITY-HEADER missing or wrong' });
    return;
  }
  if (query.get('api-version') !== APP_SERVICE_API_VERSION) {
    sendJson(res, 400, { statusCode: 400, message: `api-version must be ${APP_SERVICE_API_VERSION}` });
    return;
  }
  const resource = query.get('resource');
  const lookup = managedIdentityFor(ctx, query, note);
  if (resource === null || resource === '' || 'error' in lookup) {
    const message = resource ? (lookup as { error: string }).error : 'resource is required';
    sendJson(res, 400, { statusCode: 400, message });
    return;
  }
  const token = ctx.issuer.mint({ clientId: lookup.identity.clientId, audience: resource });
  sendJson(res, 200, {
    access_token: token.accessToken,
    expires_on: String(token.expiresOn),
    resource,
    token_type: 'Bearer',
    client_id: lookup.identity.clientId,
  });
}
