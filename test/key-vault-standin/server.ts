/**
 * Starts the stand-in's three listeners on free loopback ports:
 * - the vault (HTTPS, `https://localhost:<port>`): the secrets data plane;
 * - the Entra authority (HTTPS, `https://localhost:<port>`): OpenID metadata, JWKS and the v2 token endpoint;
 * - the managed-identity host (plain HTTP on 127.0.0.1, as IMDS and App Service's local endpoint are): IMDS at
 *   `/metadata/identity/oauth2/token` and App Service at `/msi/token`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ensureStandInTls } from './certificate.js';
import { handleDataPlane } from './data-plane.js';
import { handleAuthority } from './entra-authority.js';
import { FaultQueue } from './faults.js';
import { sendJson } from './http-io.js';
import { IdentityRegistry } from './identities.js';
import type { KeyVaultStandIn, StandInRequest, StandInTokenRequest } from './index.js';
import {
  APP_SERVICE_TOKEN_PATH,
  handleAppService,
  handleImds,
  IMDS_TOKEN_PATH,
  type TokenRequestNote,
} from './managed-identity-endpoints.js';
import { SecretStore } from './secret-store.js';
import { TokenIssuer } from './token-issuer.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Wraps a handler so a bug in the stand-in is a 500 with a message, never an unhandled rejection. */
function guarded(handler: Handler): (req: IncomingMessage, res: ServerResponse) => void {
  const run = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await handler(req, res);
    } catch (error) {
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: { code: 'InternalError', message: `key-vault stand-in: ${String(error)}` },
        });
      } else res.destroy();
    }
  };
  return (req, res) => {
    void run(req, res);
  };
}

/** A note that lands in `log` when the answer is sent (or the connection closes). */
function noteTokenRequest(
  log: StandInTokenRequest[],
  endpoint: StandInTokenRequest['endpoint'],
  res: ServerResponse,
): TokenRequestNote {
  const note: TokenRequestNote = {};
  res.on('close', () => log.push({ endpoint, ...note, status: res.headersSent ? res.statusCode : 0 }));
  return note;
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

export async function startStandIn(): Promise<KeyVaultStandIn> {
  const tls = ensureStandInTls();
  const tlsOptions = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  const vaultServer = createHttpsServer(tlsOptions);
  const authorityServer = createHttpsServer(tlsOptions);
  const identityServer = createHttpServer();
  const vaultUrl = `https://localhost:${await listen(vaultServer, '127.0.0.1')}`;
  const authorityHost = `https://localhost:${await listen(authorityServer, '127.0.0.1')}`;
  const imdsHost = `http://127.0.0.1:${await listen(identityServer, '127.0.0.1')}`;
  const tenantId = randomUUID();
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const issuer = new TokenIssuer(
    `${authorityHost}/${tenantId}/v2.0`,
    tenantId,
    `${authorityHost}/federation`,
    nowSeconds,
  );
  const identities = new IdentityRegistry();
  const faults = new FaultQueue();
  const requests: StandInRequest[] = [];
  const tokenRequests: StandInTokenRequest[] = [];
  const appServiceHeader = randomBytes(16).toString('hex');
  const store = new SecretStore(nowSeconds);
  const tokenDir = await mkdtemp(join(tmpdir(), 'kv-standin-'));

  const dataPlane = { vaultUrl, authorityHost, tenantId, store, issuer, identities, faults, requests };
  vaultServer.on(
    'request',
    guarded((req, res) => handleDataPlane(dataPlane, req, res)),
  );
  const authority = { authorityHost, tenantId, identities, issuer };
  authorityServer.on(
    'request',
    guarded(async (req, res) => {
      const url = new URL(req.url ?? '/', authorityHost);
      const note = url.pathname.endsWith('/oauth2/v2.0/token')
        ? noteTokenRequest(tokenRequests, 'entra', res)
        : {};
      if (!(await handleAuthority(authority, req, res, url, note)))
        sendJson(res, 404, { error: 'not_found' });
    }),
  );
  const mi = { identities, issuer, appServiceHeader };
  identityServer.on(
    'request',
    guarded((req, res) => {
      const url = new URL(req.url ?? '/', imdsHost);
      // msal-node's URL builder appends a slash to the endpoint path before the query.
      const path = url.pathname.replace(/\/$/, '');
      if (path === IMDS_TOKEN_PATH)
        handleImds(mi, req, res, url, noteTokenRequest(tokenRequests, 'imds', res));
      else if (path === APP_SERVICE_TOKEN_PATH) {
        handleAppService(mi, req, res, url, noteTokenRequest(tokenRequests, 'app-service', res));
      } else sendJson(res, 404, { error: 'not_found' });
    }),
  );

  return {
    vaultUrl,
    authorityHost,
    tenantId,
    imdsHost,
    appService: { endpoint: `${imdsHost}${APP_SERVICE_TOKEN_PATH}`, header: appServiceHeader },
    systemAssignedClientId: identities.systemAssigned.clientId,
    caFile: tls.certFile,
    addUserAssignedIdentity: (role = 'secrets-officer') => identities.addUserAssigned(role).clientId,
    addServicePrincipal: (credential, role = 'secrets-officer') =>
      identities.addServicePrincipal(credential, role).clientId,
    addWorkloadIdentity: async (role = 'secrets-officer') => {
      const identity = identities.addWorkload(role);
      const tokenFile = join(tokenDir, `${identity.clientId}.jwt`);
      await writeFile(tokenFile, issuer.mintFederated(identity.federatedSubject ?? ''), { mode: 0o600 });
      return { clientId: identity.clientId, tokenFile };
    },
    grant: (clientId, role) => {
      identities.grant(clientId, role);
    },
    injectFault: (rule) => {
      faults.add(rule);
    },
    clearFaults: () => {
      faults.clear();
    },
    requests,
    tokenRequests,
    setTokenLifetime: (seconds) => {
      issuer.lifetimeSeconds = seconds;
    },
    mintAccessToken: (options) => issuer.mint(options).accessToken,
    stop: async () => {
      await Promise.all([close(vaultServer), close(authorityServer), close(identityServer)]);
      await rm(tokenDir, { recursive: true, force: true });
    },
  };
}
