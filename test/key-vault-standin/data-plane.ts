/**
 * The vault's HTTPS data plane: for each request, in order —
 * 1. log it (`requests`, for tests that count retries);
 * 2. an injected fault, if one matches (requests with an `Authorization` header only);
 * 3. authentication: no bearer token → 401 with the `WWW-Authenticate` challenge
 *    (https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses); a token that fails
 *    signature, issuer, tenant, audience or time checks → 401 with the challenge again;
 * 4. the route, then RBAC (the caller's role must allow the operation's data action → else 403 ForbiddenByRbac);
 * 5. `api-version` and the secret name;
 * 6. the operation.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { applyFault, type FaultQueue } from './faults.js';
import { BodyTooLargeError, readBody, sendJson } from './http-io.js';
import type { Identity, IdentityRegistry, Role } from './identities.js';
import type { StandInRequest } from './index.js';
import { type KeyVaultErrorAnswer, kvErrors } from './key-vault-errors.js';
import { type Answer, type DataAction, operationNameProblem, routeOperation } from './secret-operations.js';
import type { SecretStore } from './secret-store.js';
import { KEY_VAULT_RESOURCE, type TokenIssuer } from './token-issuer.js';

/** API versions the pinned SDK may send (`SecretClientOptions.serviceVersion`; 4.11 defaults to 2025-07-01). */
export const SUPPORTED_API_VERSIONS = [
  '7.0',
  '7.1',
  '7.2',
  '7.3',
  '7.4',
  '7.5',
  '7.6',
  '2025-07-01',
] as const;

export interface DataPlaneContext {
  readonly vaultUrl: string;
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly store: SecretStore;
  readonly issuer: TokenIssuer;
  readonly identities: IdentityRegistry;
  readonly faults: FaultQueue;
  readonly requests: StandInRequest[];
}

const ROLE_ACTIONS: Record<Role, readonly DataAction[]> = {
  'secrets-user': ['secrets/getSecret/action', 'secrets/readMetadata/action'],
  'secrets-officer': [
    'secrets/setSecret/action',
    'secrets/getSecret/action',
    'secrets/readMetadata/action',
    'secrets/update/action',
    'secrets/delete',
    'deletedSecrets/read',
    'secrets/purge/action',
    'secrets/recover/action',
  ],
  none: [],
};

/** The challenge the SDK's `keyVaultAuthenticationPolicy` parses (it reads `authorization` and `resource`). */
export function challengeHeader(ctx: DataPlaneContext): string {
  return `Bearer authorization="${ctx.authorityHost}/${ctx.tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
}

export async function handleDataPlane(
  ctx: DataPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', ctx.vaultUrl);
  const caller: { clientId?: string } = {};
  res.on('close', () => {
    ctx.requests.push({
      method,
      url: req.url ?? '/',
      status: res.headersSent ? res.statusCode : 0,
      ...(caller.clientId !== undefined ? { clientId: caller.clientId } : {}),
    });
  });
  if (req.headers.authorization !== undefined) {
    const fault = ctx.faults.take(method, url.pathname);
    if (fault !== undefined && (await applyFault(fault, req, res)) === 'answered') return;
  }
  const identity = authenticate(ctx, req);
  if ('status' in identity) {
    send(res, identity, { 'www-authenticate': challengeHeader(ctx) });
    return;
  }
  caller.clientId = identity.clientId;
  send(res, await serve(ctx, req, url, identity));
}

function send(res: ServerResponse, answer: Answer, extra: Record<string, string> = {}): void {
  const headers = {
    'x-ms-request-id': randomUUID(),
    ...('headers' in answer ? answer.headers : {}),
    ...extra,
  };
  sendJson(res, answer.status, answer.body, headers);
}

/**
 * The identity behind the bearer token, or the 401 to answer.
 * SECURITY: every request is verified; nothing is cached per connection.
 */
function authenticate(ctx: DataPlaneContext, req: IncomingMessage): Identity | KeyVaultErrorAnswer {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
  if (match?.[1] === undefined)
    return kvErrors.unauthorized('AKV10000: Request is missing a Bearer or PoP token.');
  const check = ctx.issuer.verify(match[1], KEY_VAULT_RESOURCE);
  if (!check.ok) return kvErrors.unauthorized(`AKV10032: Error validating token: ${check.reason}.`);
  // A valid token for an identity the tenant does not know (deleted since) has no role: 403 below.
  return (
    ctx.identities.get(check.clientId) ?? {
      clientId: check.clientId,
      kind: 'service-principal',
      role: 'none',
    }
  );
}

async function serve(
  ctx: DataPlaneContext,
  req: IncomingMessage,
  url: URL,
  identity: Identity,
): Promise<Answer> {
  const op = routeOperation(req.method ?? 'GET', url.pathname);
  if (op === undefined) return kvErrors.notFoundRoute();
  if (!ROLE_ACTIONS[identity.role].includes(op.action)) {
    return kvErrors.forbiddenByRbac(identity.clientId, `Microsoft.KeyVault/vaults/${op.action}`);
  }
  const apiVersion = url.searchParams.get('api-version');
  if (apiVersion === null)
    return kvErrors.badParameter("The request URI is missing the required 'api-version' parameter.");
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    return kvErrors.badParameter(`The specified version (${apiVersion}) is not recognized.`);
  }
  const nameProblem = operationNameProblem(op);
  if (nameProblem !== undefined) return kvErrors.badParameter(nameProblem);
  try {
    return await op.run({ vaultUrl: ctx.vaultUrl, store: ctx.store, url, body: () => readBody(req) });
  } catch (error) {
    if (error instanceof BodyTooLargeError) return kvErrors.badParameter('The request body is too large.');
    throw error;
  }
}
