// Issue 17: the TypeScript client without any cofre token in its configuration. It exchanges the workload's own
// identity token (a Kubernetes projected service-account token from the stand-in API server, read from a file the
// "kubelet" rewrites; a GitHub Actions token fetched as a runner does) at the served cofre's POST /v1/token, renews
// the short-lived cofre token by itself across its expiry, retries once after a 401 with a fresh exchange, and never
// shows either token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CofreClientError, createCofreClient } from '../../src/client/index.js';
import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import {
  type GitHubActionsIssuer,
  startGitHubActionsIssuer,
} from '../workload-issuers/github-actions-issuer.js';
import {
  type KubernetesApiServer,
  type ServiceAccountToken,
  startKubernetesApiServer,
} from '../workload-issuers/kubernetes-api-server.js';

const BOT: ServiceAccountToken = { namespace: 'trading', serviceAccount: 'bot' };

let fx: ServedFixture;
let k8s: KubernetesApiServer;
let github: GitHubActionsIssuer;
let tokenFile: string;

beforeAll(async () => {
  k8s = await startKubernetesApiServer();
  github = await startGitHubActionsIssuer();
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    '  reader:',
    '    accounts: [paper]',
    '    actions: [get_balance, get_ticker]',
    'agents:',
    '  exchange:',
    `    - issuer: "${k8s.issuer}"`,
    '      audience: cofre',
    '      clockSkew: 0s',
    '      rules: [{ claims: { kubernetes.io.namespace: trading }, agent: "k8s-{kubernetes.io.serviceaccount.name}", policy: reader }]',
    `    - issuer: "${github.issuer}"`,
    '      audience: cofre',
    '      rules: [{ claims: { repository_owner: acme }, agent: "gh-{repository_owner}", policy: reader }]',
  ]);
  tokenFile = join(fx.dir, 'cofre-token');
});

afterAll(async () => {
  await fx.close();
  await k8s.close();
  await github.close();
});

/** What the kubelet does: (re)writes the projected token, mode 644 as a projected volume has by default. */
async function kubeletWrites(token: ServiceAccountToken): Promise<string> {
  const jwt = await k8s.issueToken(token);
  writeFileSync(tokenFile, `${jwt}\n`, { mode: 0o644 });
  return jwt;
}

async function sessionsOf(agentId: string): Promise<readonly { tokenId: string; expiresAt: Date }[]> {
  return fx.server.runtime.state.listAgentSessions({ agentId, now: new Date() });
}

describe('a client with a subject token file', () => {
  it('exchanges on the first call and keeps the cofre token while it is fresh', async () => {
    const subject = await kubeletWrites(BOT);
    const client = await createCofreClient({ baseUrl: fx.url, subjectTokenFile: tokenFile });
    expect(await sessionsOf('k8s-bot')).toHaveLength(0);
    await client.getBalance({ account: 'paper' });
    await client.getTicker({ account: 'paper', symbol: 'BTC/USDT' });
    expect(await sessionsOf('k8s-bot')).toHaveLength(1);

    const shown = [inspect(client, { showHidden: true, depth: 10 }), JSON.stringify(client)].join('\n');
    expect(shown).not.toContain(subject.slice(-30));
    expect(shown).not.toContain('cofre_st_');
  });

  it('keeps working across the expiry of a short-lived subject token, re-reading the rotated file', async () => {
    // A subject token that lives 3 s: the cofre token issued for it cannot live longer.
    const short = await kubeletWrites({ ...BOT, serviceAccount: 'short', expirationSeconds: 3 });
    const exp = (JSON.parse(Buffer.from(short.split('.')[1]!, 'base64url').toString()) as { exp: number })
      .exp;
    const client = await createCofreClient({ baseUrl: fx.url, subjectTokenFile: tokenFile });
    await client.getBalance({ account: 'paper' });
    const [first] = await sessionsOf('k8s-short');
    expect(first!.expiresAt.getTime()).toBeLessThanOrEqual(exp * 1000);

    // The kubelet rotates the file; the first cofre token (and the first subject token) then expire.
    await kubeletWrites({ ...BOT, serviceAccount: 'short' });
    while (Date.now() <= first!.expiresAt.getTime() + 50) await new Promise((r) => setTimeout(r, 100));
    expect(await sessionsOf('k8s-short')).toHaveLength(0);

    await client.getBalance({ account: 'paper' });
    const [second] = await sessionsOf('k8s-short');
    expect(second!.tokenId).not.toBe(first!.tokenId);
    expect(second!.expiresAt.getTime()).toBeGreaterThan(first!.expiresAt.getTime());
  });

  it('retries once after a 401 with a fresh exchange (its cofre token was revoked)', async () => {
    await kubeletWrites({ ...BOT, serviceAccount: 'revoked' });
    const client = await createCofreClient({ baseUrl: fx.url, subjectTokenFile: tokenFile });
    await client.getBalance({ account: 'paper' });
    const [first] = await sessionsOf('k8s-revoked');
    await fx.server.runtime.state.revokeAgentSession(first!.tokenId, new Date());
    await client.getBalance({ account: 'paper' });
    const [second] = await sessionsOf('k8s-revoked');
    expect(second!.tokenId).not.toBe(first!.tokenId);
  });

  it('throws cofre’s refusal, naming what was wrong and never the token', async () => {
    const subject = await kubeletWrites({ ...BOT, audience: 'vault' });
    const client = await createCofreClient({ baseUrl: fx.url, subjectTokenFile: tokenFile });
    const err = await client.getBalance({ account: 'paper' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofreClientError);
    expect(err).toMatchObject({ code: 'COFRE_TOKEN_EXCHANGE_REFUSED', httpStatus: 400, retryable: false });
    expect((err as Error).message).toMatch(/invalid_grant.*another audience/);
    const text = [
      inspect(err, { showHidden: true, depth: 10 }),
      JSON.stringify(err),
      (err as Error).stack,
    ].join('\n');
    expect(text).not.toContain(subject.slice(-30));
  });

  it('says so when the file does not hold a JWT, without quoting it', async () => {
    writeFileSync(tokenFile, 'not-a-jwt-but-something-private\n', { mode: 0o644 });
    const client = await createCofreClient({ baseUrl: fx.url, subjectTokenFile: tokenFile });
    const err = (await client.getBalance({ account: 'paper' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/not a JWT/);
    expect(err.message).not.toContain('something-private');
  });
});

describe('a client with a subject token function', () => {
  it('gets a GitHub Actions token as a runner does, for every exchange', async () => {
    const env = github.requestEnvironment({ repository: 'acme/strategies' });
    let requested = 0;
    const client = await createCofreClient({
      baseUrl: fx.url,
      subjectToken: async () => {
        requested++;
        const answer = await fetch(`${env.url}&audience=cofre`, {
          headers: { authorization: `bearer ${env.token}` },
        });
        return ((await answer.json()) as { value: string }).value;
      },
    });
    await client.getBalance({ account: 'paper' });
    await client.getBalance({ account: 'paper' });
    expect(requested).toBe(1);
    expect((await sessionsOf('gh-acme')).length).toBe(1);
  });
});
