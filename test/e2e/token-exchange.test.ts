// Issue 17, workload identity exchange through a served cofre (`POST /v1/token`, RFC 8693): a Kubernetes projected
// service-account token and a GitHub Actions OIDC token, each from a stand-in issuer (test/workload-issuers/), are
// exchanged for short-lived cofre tokens that place orders on the paper exchange; every way a subject token can be
// wrong is refused with a clear error and nothing issued; no token reaches a log line or the audit log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { cli } from '../cli/cli-harness.js';
import { RESTING_BUY } from '../resting-buy.js';
import {
  type GitHubActionsIssuer,
  startGitHubActionsIssuer,
} from '../workload-issuers/github-actions-issuer.js';
import {
  type KubernetesApiServer,
  type ServiceAccountToken,
  startKubernetesApiServer,
} from '../workload-issuers/kubernetes-api-server.js';
import { type ServedFixture, startServedBroker } from './served-broker.js';

const PUBLIC_URL = 'http://127.0.0.1:8787';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const UNREACHABLE_ISSUER = 'http://127.0.0.1:9';
const BOT: ServiceAccountToken = { namespace: 'trading', serviceAccount: 'bot' };

let fx: ServedFixture;
let k8s: KubernetesApiServer;
let otherCluster: KubernetesApiServer;
let github: GitHubActionsIssuer;
/** Every subject token and issued token of the file: none may appear in a log line or audit record. */
const secrets: string[] = [];

beforeAll(async () => {
  k8s = await startKubernetesApiServer();
  otherCluster = await startKubernetesApiServer();
  github = await startGitHubActionsIssuer();
  fx = await startServedBroker((url, credentials) => [
    `server: { publicUrl: "${PUBLIC_URL}" }`,
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [get_balance]',
    '        accounts: [paper]',
    '      - allow: [place_order]',
    '        accounts: [paper]',
    '        maxNotional: 500',
    'agents:',
    '  exchange:',
    `    - issuer: "${k8s.issuer}"`,
    '      audience: cofre',
    '      tokenTtl: 10m',
    '      rules:',
    '        - claims: { kubernetes.io.namespace: trading, kubernetes.io.serviceaccount.name: bot }',
    '          agent: k8s-bot',
    '          policy: trader',
    `    - issuer: "${github.issuer}"`,
    '      audience: cofre',
    '      rules:',
    '        - claims: { repository_owner: acme, ref: refs/heads/main, sub: "repo:acme/*" }',
    '          agent: "gh-{repository_owner}"',
    '          policy: trader',
    // An issuer that is down: nothing listens on the discard port.
    `    - issuer: "${UNREACHABLE_ISSUER}"`,
    '      audience: cofre',
    '      rules: [{ agent: unreachable, policy: trader }]',
  ]);
});

afterAll(async () => {
  await fx.close();
  await k8s.close();
  await otherCluster.close();
  await github.close();
});

interface TokenAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function exchange(subjectToken: string, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  secrets.push(subjectToken);
  const response = await fetch(`${fx.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: GRANT,
      subject_token: subjectToken,
      subject_token_type: JWT_TYPE,
      ...extra,
    }).toString(),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (typeof body['access_token'] === 'string') secrets.push(body['access_token']);
  return { status: response.status, headers: response.headers, body };
}

async function issuedToken(subjectToken: string): Promise<string> {
  const answer = await exchange(subjectToken);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body['access_token'] as string;
}

async function liveSessions(): Promise<number> {
  return (await fx.server.runtime.state.listAgentSessions({ now: new Date() })).length;
}

function auditRecords(): Record<string, unknown>[] {
  return readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('exchange', () => {
  it('a Kubernetes service-account token becomes a short-lived token that places an order', async () => {
    const answer = await exchange(await k8s.issueToken(BOT), { resource: PUBLIC_URL });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({
      access_token: expect.stringMatching(/^cofre_st_/) as unknown,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: expect.any(Number) as unknown,
    });
    expect(answer.body['expires_in']).toBeLessThanOrEqual(600);

    const before = fx.paper.orders().length;
    const placed = await fx.call('POST', '/v1/actions/place_order', answer.body['access_token'] as string, {
      ...RESTING_BUY,
      clientOrderId: 'k8s-bot-1',
    });
    expect(placed.body['status']).toBe('executed');
    expect(fx.paper.orders().length).toBe(before + 1);

    const records = auditRecords();
    expect(records.find((r) => r['kind'] === 'intent' && r['action'] === 'place_order')?.['agent']).toBe(
      'k8s-bot',
    );
    expect(records.find((r) => r['kind'] === 'identity' && r['status'] === 'issued')).toMatchObject({
      agent: 'k8s-bot',
      action: 'token-exchange',
      rule: 'agents.exchange[0].rules[0]',
      detail: { issuer: k8s.issuer, subject: 'system:serviceaccount:trading:bot' },
    });
  });

  it('a GitHub Actions token, fetched as a runner does, becomes agent gh-<owner> by the template', async () => {
    const env = github.requestEnvironment({ repository: 'acme/strategies', branch: 'main' });
    const fetched = await fetch(`${env.url}&audience=cofre`, {
      headers: { authorization: `bearer ${env.token}` },
    });
    const { value } = (await fetched.json()) as { value: string };
    const token = await issuedToken(value);
    const balance = await fx.call('POST', '/v1/actions/get_balance', token, { account: 'paper' });
    expect(balance.body['status']).toBe('executed');
    const sessions = await fx.server.runtime.state.listAgentSessions({ agentId: 'gh-acme', now: new Date() });
    expect(sessions.map((s) => [s.kind, s.subject])).toEqual([
      ['exchange', `${github.issuer} repo:acme/strategies:ref:refs/heads/main`],
    ]);
  });

  it('accepts a JSON body too', async () => {
    const subject = await k8s.issueToken(BOT);
    secrets.push(subject);
    const response = await fetch(`${fx.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: GRANT, subject_token: subject, subject_token_type: JWT_TYPE }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    secrets.push(String(body['access_token']));
    expect(response.status).toBe(200);
  });

  it('never issues a token that outlives its subject token', async () => {
    const subject = await k8s.issueToken({ ...BOT, expirationSeconds: 90 });
    const subjectExp = (
      JSON.parse(Buffer.from(subject.split('.')[1]!, 'base64url').toString()) as { exp: number }
    ).exp;
    const answer = await exchange(subject);
    expect(answer.body['expires_in']).toBeLessThanOrEqual(90);
    const [session] = await fx.server.runtime.state.listAgentSessions({
      agentId: 'k8s-bot',
      now: new Date(),
    });
    expect(session!.expiresAt.getTime()).toBeLessThanOrEqual(subjectExp * 1000);
  });
});

describe('refused, with a clear error, and nothing issued', () => {
  const cases: [string, () => Promise<[string, Record<string, string>?]>, string, string, RegExp][] = [
    [
      'wrong audience',
      async () => [await k8s.issueToken({ ...BOT, audience: 'vault' })],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /another audience/,
    ],
    [
      'unknown issuer',
      async () => [await otherCluster.issueToken(BOT)],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /does not exchange/,
    ],
    [
      'expired',
      async () => [
        await k8s.issueToken({ ...BOT, issuedAt: new Date(Date.now() - 7_200_000), expirationSeconds: 600 }),
      ],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /expired/,
    ],
    [
      'bad signature',
      async () => {
        const [head, payload, signature] = (await k8s.issueToken(BOT)).split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
        const forged = Buffer.from(
          JSON.stringify({ ...claims, sub: 'system:serviceaccount:trading:admin' }),
        ).toString('base64url');
        return [`${head}.${forged}.${signature}`];
      },
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /signature does not verify/,
    ],
    [
      'alg: none',
      async () => {
        const payload = (await k8s.issueToken(BOT)).split('.')[1]!;
        const head = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        return [`${head}.${payload}.`];
      },
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /algorithm|not a well-formed/,
    ],
    [
      'key not in the key set',
      async () => [await k8s.issueWithUnpublishedKey(BOT)],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /not in .* key set/,
    ],
    [
      'no rule matches',
      async () => [await k8s.issueToken({ namespace: 'staging', serviceAccount: 'bot' })],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /no rule/,
    ],
    [
      'a GitHub token from another branch',
      async () => [
        await github.issueToken({ repository: 'acme/strategies', branch: 'dev', audience: 'cofre' }),
      ],
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /no rule/,
    ],
    [
      'wrong grant_type',
      async () => [await k8s.issueToken(BOT), { grant_type: 'client_credentials' }],
      'unsupported_grant_type',
      'COFRE_INPUT_INVALID',
      /only does token exchange/,
    ],
    [
      'wrong subject token type',
      async () => [
        await k8s.issueToken(BOT),
        { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      ],
      'invalid_request',
      'COFRE_INPUT_INVALID',
      /subject_token_type/,
    ],
    [
      'wrong requested token type',
      async () => [
        await k8s.issueToken(BOT),
        { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      ],
      'invalid_request',
      'COFRE_INPUT_INVALID',
      /requested_token_type/,
    ],
    [
      'resource of another service',
      async () => [await k8s.issueToken(BOT), { resource: 'https://api.other.example' }],
      'invalid_target',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /another resource/,
    ],
    [
      'audience of another service',
      async () => [await k8s.issueToken(BOT), { audience: 'https://api.other.example' }],
      'invalid_target',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /another resource/,
    ],
    [
      'not a JWT',
      () => Promise.resolve(['cofre_not-a-jwt']),
      'invalid_grant',
      'COFRE_TOKEN_EXCHANGE_REFUSED',
      /not a signed JWT/,
    ],
  ];
  it.each(cases)('%s', async (_name, make, error, code, description) => {
    const [subject, extra] = await make();
    const sessions = await liveSessions();
    const answer = await exchange(subject, extra);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error,
      error_description: expect.stringMatching(description) as unknown,
      code,
    });
    expect(await liveSessions()).toBe(sessions);
    const refusal = auditRecords().findLast((r) => r['kind'] === 'identity');
    expect(refusal).toMatchObject({ status: 'refused', detail: { code } });
  });

  it('a body that is neither a form nor JSON, or too large', async () => {
    const text = await fetch(`${fx.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'grant_type=x',
    });
    expect(text.status).toBe(400);
    expect(((await text.json()) as { error: string }).error).toBe('invalid_request');
    const large = await fetch(`${fx.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=${GRANT}&subject_token=${'a'.repeat(20_000)}`,
    });
    expect(large.status).toBe(400);
    expect(await large.json()).toMatchObject({ error: 'invalid_request', code: 'COFRE_BODY_TOO_LARGE' });
  });

  it('a parameter given twice, and a target that is cofre’s MCP endpoint is accepted', async () => {
    const subject = await k8s.issueToken(BOT);
    secrets.push(subject);
    const twice = await fetch(`${fx.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=${encodeURIComponent(GRANT)}&grant_type=${encodeURIComponent(GRANT)}&subject_token=${subject}&subject_token_type=${encodeURIComponent(JWT_TYPE)}`,
    });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({
      error: 'invalid_request',
      error_description: '`grant_type` may be given only once',
    });
    const mcp = await exchange(subject, { resource: `${PUBLIC_URL}/mcp` });
    expect(mcp.status).toBe(200);
  });

  it('a token of an issuer that cannot be reached: 503, retryable, nothing issued', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const subject = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(UNREACHABLE_ISSUER)
      .setSubject('someone')
      .setAudience('cofre')
      .setExpirationTime('5m')
      .sign(privateKey);
    const sessions = await liveSessions();
    const answer = await exchange(subject);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.stringMatching(/could not be fetched/) as unknown,
      code: 'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
    });
    expect(await liveSessions()).toBe(sessions);
  });

  it('a replayed exchange of a subject token once it has expired', async () => {
    const subject = await k8s.issueToken({ ...BOT, expirationSeconds: 60 });
    await issuedToken(subject);
    // Past its exp and the 30 s clock skew the issuer is allowed.
    fx.advance(120_000);
    try {
      const sessions = await liveSessions();
      const replay = await exchange(subject);
      expect(replay.status).toBe(400);
      expect(replay.body).toMatchObject({
        error: 'invalid_grant',
        error_description: 'the token has expired',
      });
      expect(await liveSessions()).toBe(sessions);
    } finally {
      fx.advance(-120_000);
    }
  });
});

describe('revocation', () => {
  it('cofre agent revoke stops the agent’s exchanged tokens, and cofre agent tokens lists them', async () => {
    const token = await issuedToken(await k8s.issueToken({ namespace: 'trading', serviceAccount: 'bot' }));
    const listed = await cli(fx.dir, ['agent', 'tokens', '--agent', 'k8s-bot']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('k8s-bot');
    expect(listed.stdout).toContain('system:serviceaccount:trading:bot');
    expect(listed.stdout).not.toContain(token);

    const revoked = await cli(fx.dir, ['agent', 'revoke', 'k8s-bot']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).toMatch(/revoked \d+ session token/);
    const refused = await fx.call('POST', '/v1/actions/get_balance', token, { account: 'paper' });
    expect(refused.status).toBe(401);
  });
});

describe('key rotation', () => {
  it('a token signed with the cluster’s new key is accepted once the key set is refetched', async () => {
    await k8s.rotateKey();
    const fetches = k8s.jwksFetches();
    // jose refetches a key set for an unknown key id at most every 30 s (jwt-issuer.ts): move this process's clock
    // past that, as a rotation a while after the last fetch would find it.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    try {
      await issuedToken(await k8s.issueToken(BOT));
    } finally {
      vi.useRealTimers();
    }
    expect(k8s.jwksFetches()).toBe(fetches + 1);
    k8s.retireOldKeys();
  });
});

describe('the audit log', () => {
  it('verifies with the identity records in it', async () => {
    const verified = await cli(fx.dir, ['audit', 'verify']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(auditRecords().filter((r) => r['kind'] === 'identity').length).toBeGreaterThan(10);
  });
});

describe('no token leaks', () => {
  it('no subject token nor issued token is in a log line or the audit log', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    const logs = fx.logLines.join('\n');
    for (const secret of secrets) {
      // The signature part alone is enough to use a JWT nowhere, but a whole token is what must never be written.
      const tail = secret.slice(-40);
      expect(audit).not.toContain(tail);
      expect(logs).not.toContain(tail);
    }
  });
});
