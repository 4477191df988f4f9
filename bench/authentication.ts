// Authentication benchmark (issue 17): what each way in costs per request, side by side, in-process, on SQLite
// state: a `cofre agent add` token (one indexed read and a SHA-256), an exchanged session token (same, other table),
// a delegated token two links deep (its own row, its parent session's and the root agent token's), and OAuth JWT
// access tokens (ES256 and RS256 signature checks by jose against a key set already fetched and cached).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';

import { issueAgentToken } from '../src/broker/agent-tokens.js';
import { parseConfig } from '../src/config/load-config.js';
import { createAgentAuthenticator } from '../src/identity/agent-authenticator.js';
import { issueAgentSession } from '../src/identity/agent-sessions.js';
import { createOAuthVerifier } from '../src/identity/oauth-verifier.js';
import { SqliteStateStore } from '../src/state/sqlite/sqlite-state-store.js';
import { measure, report } from './measure.js';

const ITERATIONS = 20_000;
const PUBLIC_URL = 'http://127.0.0.1:8787';

export async function authenticationBench(): Promise<void> {
  const es = await generateKeyPair('ES256');
  const rs = await generateKeyPair('RS256');
  const keys = [
    { ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256', use: 'sig' },
    { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256', use: 'sig' },
  ];
  // The issuer's key set, on loopback: fetched once, then served from jose's cache for every token.
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys })));
  await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
  const issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  const config = parseConfig(
    `
server: { publicUrl: ${PUBLIC_URL} }
policies: { trader: { rules: [ { allow: [list_accounts] } ] } }
agents:
  oauth:
    - issuer: ${issuer}
      jwks: ${issuer}/jwks
      rules: [ { agent: claude, policy: trader } ]
`,
  );
  const state = new SqliteStateStore(':memory:');
  const authenticator = createAgentAuthenticator(state, {
    oauth: createOAuthVerifier(config.agents.oauth, PUBLIC_URL),
  });
  const now = new Date();
  const later = new Date(now.getTime() + 3_600_000);
  const agent = await issueAgentToken(state, { id: 'bot', policy: 'trader', ttlMs: 3_600_000, now });
  const exchanged = await issueAgentSession(state, {
    agentId: 'k8s-bot',
    policy: 'trader',
    kind: 'exchange',
    now,
    expiresAt: later,
  });
  const child = await issueAgentSession(state, {
    agentId: 'bot/scout',
    policy: 'trader',
    kind: 'delegation',
    onBehalfOf: ['bot'],
    ancestors: [{ kind: 'agent', tokenId: agent.agent.tokenId }],
    grants: [{ actions: ['list_accounts'] }],
    now,
    expiresAt: later,
  });
  const grandchild = await issueAgentSession(state, {
    agentId: 'bot/scout/probe',
    policy: 'trader',
    kind: 'delegation',
    onBehalfOf: ['bot/scout', 'bot'],
    ancestors: [
      { kind: 'session', tokenId: child.session.tokenId },
      { kind: 'agent', tokenId: agent.agent.tokenId },
    ],
    grants: [{ tokenId: child.session.tokenId, actions: ['list_accounts'] }, { actions: ['list_accounts'] }],
    now,
    expiresAt: later,
  });
  const jwt = (key: Parameters<SignJWT['sign']>[0], alg: string, kid: string): Promise<string> =>
    new SignJWT({ scope: 'cofre:read' })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(`${PUBLIC_URL}/mcp`)
      .setSubject('claude-desktop')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
  const esToken = await jwt(es.privateKey, 'ES256', 'es');
  const rsToken = await jwt(rs.privateKey, 'RS256', 'rs');
  try {
    const cases: [string, string][] = [
      ['agent token (cofre agent add)', agent.token],
      ['exchanged session token', exchanged.token],
      ['delegated token, 2 links deep', grandchild.token],
      ['OAuth JWT, ES256', esToken],
      ['OAuth JWT, RS256 (2048)', rsToken],
    ];
    const samples = [];
    for (const [label, token] of cases) {
      samples.push(await measure(label, ITERATIONS, () => authenticator.authenticate(token, new Date())));
    }
    report('Authentication per request (in-process, SQLite state, key set cached)', samples);
  } finally {
    state.close();
    await new Promise((done) => jwks.close(done));
  }
}
