/**
 * A served cofre that takes access tokens from an authorization server no one here wrote: the oidc-provider peer
 * (../peers/oidc-provider), configured as `agents.oauth` with cofre's loopback URL as `server.publicUrl`, so the
 * resource the clients discover and ask a token for is `<url>/mcp`. Clients are registered at the provider with
 * their secrets; none of them is ever given a token.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { exportJWK, generateKeyPair, type JWK } from 'jose';

import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import {
  type OidcPeerClient,
  type OidcProviderPeer,
  startOidcProvider,
} from '../peers/oidc-provider/oidc-provider-peer.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { freePort } from '../peers/peers.js';

/** A client registered at the provider, and the agent cofre maps its tokens to (by `client_id`). */
export interface RegisteredClient extends OidcPeerClient {
  readonly clientSecret: string;
  readonly agent: string;
}

/** A client that holds no shared secret: it signs its token requests with its own key (`private_key_jwt`). */
export interface KeyClient {
  readonly clientId: string;
  readonly agent: string;
  /** Its private key, as a JWK (ES256). */
  readonly privateKey: JWK;
}

function client(clientId: string, scopes: readonly string[]): RegisteredClient {
  return { clientId, clientSecret: randomBytes(24).toString('base64url'), scopes, agent: clientId };
}

/** The clients of the tests: two traders (one per client library), and three that may only read. */
export const CLIENTS = {
  tsTrader: client('ts-trader', ['cofre:read', 'cofre:trade']),
  // client_secret_basic: the Python client's client_secret_post (mcp 1.30.0) sends no client_id, which RFC 6749
  // §2.3.1 requires and oidc-provider enforces ("no client authentication mechanism provided");
  // modelcontextprotocol/python-sdk#2128.
  pyTrader: client('py-trader', ['cofre:read', 'cofre:trade']),
  reader: client('reader', ['cofre:read']),
  agentsJs: client('agents-js', ['cofre:read']),
  agentsPy: client('agents-py', ['cofre:read']),
} as const;

/** Another MCP server the provider also issues tokens for: its tokens must not open cofre. */
export const OTHER_RESOURCE = 'https://other-mcp.example.com/mcp';

/** The person who signs in at the provider's login page in the authorization-code test. */
export const PERSON = { login: 'alice', agent: 'claude-alice' } as const;

export interface OAuthFixture {
  readonly op: OidcProviderPeer;
  readonly fx: ServedFixture;
  /** cofre's public URL (its loopback URL, no trailing slash). */
  readonly publicUrl: string;
  /** `<publicUrl>/mcp`: the MCP endpoint, and the resource its tokens must be issued for. */
  readonly mcpUrl: string;
  /** Registered with its public key only (`private_key_jwt`), allowed `cofre:read`. */
  readonly keyClient: KeyClient;
  /** The audit log's records so far. */
  auditRecords(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts the provider and cofre; undefined (tests skipped, loudly) when the provider is not installed outside CI.
 * A policy `trader` allows balances and orders up to 5,000 USDT on the paper account; scopes narrow it per token.
 */
export async function startOAuthFixture(): Promise<OAuthFixture | undefined> {
  // cofre's port is chosen first: its URL is its resource identifier, which the provider must know.
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const mcpUrl = `${publicUrl}/mcp`;
  const keys = await generateKeyPair('ES256', { extractable: true });
  const keyClient: KeyClient = {
    clientId: 'keyed',
    agent: 'keyed',
    privateKey: { ...(await exportJWK(keys.privateKey)), alg: 'ES256' },
  };
  const publicKey = { ...(await exportJWK(keys.publicKey)), alg: 'ES256', use: 'sig' };
  const op = await peerOrSkip('oidc-provider', () =>
    startOidcProvider({
      resources: [mcpUrl, OTHER_RESOURCE],
      clients: [
        ...Object.values(CLIENTS),
        {
          clientId: keyClient.clientId,
          authMethod: 'private_key_jwt',
          publicKeys: [publicKey],
          scopes: ['cofre:read'],
        },
      ],
      // An interactive client registers itself (as Claude does); its user's consent gives it these at most.
      registrationScopes: ['cofre:read', 'cofre:trade'],
    }),
  );
  if (op === undefined) return undefined;
  let fx: ServedFixture;
  try {
    fx = await startServedBroker(
      (url, credentials) => [
        `server: { publicUrl: "${publicUrl}" }`,
        'accounts:',
        `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
        'agents:',
        '  oauth:',
        `    - issuer: "${op.issuer}"`,
        '      rules:',
        ...[...Object.values(CLIENTS), keyClient].map(
          (c) => `        - { claims: { client_id: ${c.clientId} }, agent: ${c.agent}, policy: trader }`,
        ),
        // A person signing in at the provider through an interactive client: their account, whatever the client.
        `        - { claims: { sub: ${PERSON.login} }, agent: ${PERSON.agent}, policy: trader }`,
        'policies:',
        '  trader:',
        '    rules:',
        '      - allow: [get_balance, get_ticker, get_open_orders, get_order, cancel_order]',
        '        accounts: [paper]',
        '      - allow: [place_order]',
        '        accounts: [paper]',
        '        maxNotional: 5000',
      ],
      {},
      { port },
    );
  } catch (err) {
    await op.stop();
    throw err;
  }
  return {
    op,
    fx,
    publicUrl,
    mcpUrl,
    keyClient,
    auditRecords: () =>
      readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      await fx.close();
      await op.stop();
    },
  };
}
