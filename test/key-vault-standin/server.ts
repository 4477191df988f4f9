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
import type { KeyVaultStandIn, StandInOptions, StandInRequest, StandInTokenRequest } from './index.js';
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

async function listen(server: Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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

/** Everything one running stand-in holds. */
interface StandInState {
  readonly vaultUrl: string;
  readonly authorityHost: string;
  readonly imdsHost: string;
  readonly tenantId: string;
  readonly caFile: string;
  readonly issuer: TokenIssuer;
  readonly identities: IdentityRegistry;
  readonly faults: FaultQueue;
  readonly store: SecretStore;
  readonly requests: StandInRequest[];
  readonly tokenRequests: StandInTokenRequest[];
  readonly appServiceHeader: string;
  /** Where workload-identity token files go; removed on stop. */
  readonly tokenDir: string;
}

function authorityHandler(state: StandInState): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', state.authorityHost);
    const isToken = url.pathname.endsWith('/oauth2/v2.0/token');
    const note = isToken ? noteTokenRequest(state.tokenRequests, 'entra', res) : {};
    if (!(await handleAuthority(state, req, res, url, note))) sendJson(res, 404, { error: 'not_found' });
  };
}

function identityHandler(state: StandInState): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', state.imdsHost);
    // msal-node's URL builder appends a slash to the endpoint path before the query.
    const path = url.pathname.replace(/\/$/, '');
    if (path === IMDS_TOKEN_PATH) {
      handleImds(state, req, res, url, noteTokenRequest(state.tokenRequests, 'imds', res));
    } else if (path === APP_SERVICE_TOKEN_PATH) {
      handleAppService(state, req, res, url, noteTokenRequest(state.tokenRequests, 'app-service', res));
    } else sendJson(res, 404, { error: 'not_found' });
  };
}

/** Starts the three listeners; see the file comment. */
export async function startStandIn(options: StandInOptions): Promise<KeyVaultStandIn> {
  const tls = ensureStandInTls();
  const tlsOptions = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  const servers = [createHttpsServer(tlsOptions), createHttpsServer(tlsOptions), createHttpServer()] as const;
  const [vaultPort, authorityPort, identityPort] = [
    await listen(servers[0], '127.0.0.1', options.ports?.vault),
    await listen(servers[1], '127.0.0.1', options.ports?.authority),
    await listen(servers[2], '127.0.0.1', options.ports?.identity),
  ];
  const authorityHost = `https://localhost:${authorityPort}`;
  const tenantId = randomUUID();
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const state: StandInState = {
    vaultUrl: `https://localhost:${vaultPort}`,
    authorityHost,
    imdsHost: `http://127.0.0.1:${identityPort}`,
    tenantId,
    caFile: tls.certFile,
    issuer: new TokenIssuer(
      `${authorityHost}/${tenantId}/v2.0`,
      tenantId,
      `${authorityHost}/federation`,
      nowSeconds,
    ),
    identities: new IdentityRegistry(),
    faults: new FaultQueue(),
    store: new SecretStore(nowSeconds),
    requests: [],
    tokenRequests: [],
    appServiceHeader: randomBytes(16).toString('hex'),
    tokenDir: await mkdtemp(join(tmpdir(), 'kv-standin-')),
  };
  servers[0].on(
    'request',
    guarded((req, res) => handleDataPlane(state, req, res)),
  );
  servers[1].on('request', guarded(authorityHandler(state)));
  servers[2].on('request', guarded(identityHandler(state)));
  return standInHandle(state, async () => {
    await Promise.all(servers.map(close));
    await rm(state.tokenDir, { recursive: true, force: true });
  });
}

/** The test-facing interface over a running stand-in's state. */
function standInHandle(state: StandInState, stop: () => Promise<void>): KeyVaultStandIn {
  const { identities, issuer, faults } = state;
  return {
    vaultUrl: state.vaultUrl,
    authorityHost: state.authorityHost,
    tenantId: state.tenantId,
    imdsHost: state.imdsHost,
    appService: { endpoint: `${state.imdsHost}${APP_SERVICE_TOKEN_PATH}`, header: state.appServiceHeader },
    systemAssignedClientId: identities.systemAssigned.clientId,
    caFile: state.caFile,
    addUserAssignedIdentity: (role = 'secrets-officer') => identities.addUserAssigned(role).clientId,
    addServicePrincipal: (credential, role = 'secrets-officer') =>
      identities.addServicePrincipal(credential, role).clientId,
    addWorkloadIdentity: async (role = 'secrets-officer') => {
      const identity = identities.addWorkload(role);
      const tokenFile = join(state.tokenDir, `${identity.clientId}.jwt`);
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
    requests: state.requests,
    tokenRequests: state.tokenRequests,
    setTokenLifetime: (seconds) => {
      issuer.lifetimeSeconds = seconds;
    },
    mintAccessToken: (options) => issuer.mint(options).accessToken,
    stop,
  };
}
