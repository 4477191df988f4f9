// Issue 17, "must show": the Python `mcp` client (ClientCredentialsOAuthProvider with streamablehttp_client), given
// only a client id and secret registered at oidc-provider, discovers the authorization server from cofre's 401,
// gets a token for cofre's /mcp and calls tools as the agent its token maps to (mcp_client_credentials.py, run in
// the Python client's venv, .tools/venv-client, made by `scripts/peers/install.sh pyclient`).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { peerOrSkip } from '../peers/peer-or-skip.js';
import { PeerUnavailableError, REPO_ROOT } from '../peers/peers.js';
import { CLIENTS, type RegisteredClient, startOAuthFixture } from './oauth-fixture.js';

const PYTHON = join(REPO_ROOT, '.tools', 'venv-client', 'bin', 'python');
const MCP_CLIENT = fileURLToPath(new URL('mcp_client_credentials.py', import.meta.url));
const AGENTS_CLIENT = fileURLToPath(new URL('openai_agents_client_credentials.py', import.meta.url));

const python = await peerOrSkip('Python mcp client', () => {
  if (!existsSync(PYTHON)) {
    throw new PeerUnavailableError(`${PYTHON} does not exist; run: scripts/peers/install.sh pyclient`);
  }
  return Promise.resolve(PYTHON);
});
const oauth = python === undefined ? undefined : await startOAuthFixture();
afterAll(() => oauth?.close());

interface PythonRun {
  readonly sent: {
    method: string;
    url: string;
    status: number;
    authorized: boolean;
    form?: Record<string, string>;
  }[];
  readonly claims: Record<string, unknown> | null;
  readonly tools: string[];
  readonly answers: { tool: string; isError: boolean; structured: Record<string, unknown> }[];
}

/** Runs a Python client script as `registered` (its secret in the environment, not on the command line). */
function runPython<T>(
  script: string,
  registered: RegisteredClient,
  args: readonly string[] = [],
): Promise<T> {
  return new Promise((done, fail) => {
    execFile(
      PYTHON,
      [script, ...args],
      {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: {
          ...process.env,
          MCP_URL: oauth!.mcpUrl,
          OAUTH_ISSUER: oauth!.op.issuer,
          OAUTH_CLIENT_ID: registered.clientId,
          OAUTH_CLIENT_SECRET: registered.clientSecret,
        },
      },
      (err, stdout, stderr) => {
        if (err !== null) {
          fail(new Error(`${err.message}\n${stderr}`));
          return;
        }
        done(JSON.parse(stdout) as T);
      },
    );
  });
}

describe.skipIf(oauth === undefined)('Python mcp client with client credentials', () => {
  it('discovers the authorization server from the 401, gets a token for /mcp and calls tools as its agent', async () => {
    const { mcpUrl, publicUrl, op } = oauth!;
    const order = {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: '60000',
      amount: '0.001',
      clientOrderId: 'oauth-py-1',
    };
    const calls = [
      ['get_balance', { account: 'paper' }],
      ['place_order', order],
    ];
    const run = await runPython<PythonRun>(MCP_CLIENT, CLIENTS.pyTrader, [JSON.stringify(calls)]);

    expect(run.sent[0]).toMatchObject({ method: 'POST', url: mcpUrl, authorized: false, status: 401 });
    expect(
      run.sent.find((s) => s.url.startsWith(`${publicUrl}/.well-known/oauth-protected-resource`)),
    ).toMatchObject({
      status: 200,
    });
    const tokenRequest = run.sent.find((s) => s.url.startsWith(op.issuer) && s.method === 'POST');
    expect(tokenRequest).toMatchObject({
      status: 200,
      // It asks for every scope the metadata lists (SEP-835); the authorization server grants what the client may have.
      form: {
        grant_type: 'client_credentials',
        resource: mcpUrl,
        scope: 'cofre:read cofre:trade cofre:withdraw cofre:services',
      },
    });
    expect(run.claims).toMatchObject({
      iss: op.issuer,
      aud: mcpUrl,
      client_id: 'py-trader',
      scope: 'cofre:read cofre:trade',
    });

    expect(run.tools).toEqual(expect.arrayContaining(['get_balance', 'place_order']));
    expect(run.answers).toMatchObject([
      { tool: 'get_balance', isError: false, structured: { status: 'executed' } },
      { tool: 'place_order', isError: false, structured: { status: 'executed' } },
    ]);
    expect(
      oauth!.fx.paper.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/order')),
    ).toHaveLength(1);
    const intents = oauth!
      .auditRecords()
      .filter((r) => r['kind'] === 'intent' && r['action'] === 'place_order');
    expect(intents).toMatchObject([{ agent: 'py-trader', decision: 'allow', clientOrderId: 'oauth-py-1' }]);
  });

  it('the OpenAI Agents SDK (Python) MCPServerStreamableHttp with the same provider calls a tool as its agent', async () => {
    const run = await runPython<{ tools: string[]; isError: boolean; structured: Record<string, unknown> }>(
      AGENTS_CLIENT,
      CLIENTS.agentsPy,
    );
    expect(run.tools).toContain('get_balance');
    expect(run.tools).not.toContain('place_order'); // its client may only read
    expect(run).toMatchObject({ isError: false, structured: { status: 'executed' } });
    const reads = oauth!
      .auditRecords()
      .filter((r) => r['agent'] === 'agents-py' && r['action'] === 'get_balance');
    expect(reads.length).toBeGreaterThan(0);
  });
});
