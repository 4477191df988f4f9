// Issue 13, as an Azure user runs it: `cofre init`, an `azure-key-vault` backend signed in with the VM's managed
// identity, the exchange keys put into Key Vault with `cofre secret put --backend`, then `cofre serve` as its own
// process places an order on the paper exchange with keys it read from the vault. The vault is the project's Key
// Vault stand-in (test/key-vault-standin, written from Microsoft's REST reference), reached only through the
// official SDK inside cofre; its certificate is trusted through NODE_EXTRA_CA_CERTS, as a private CA would be.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { cli, cliProcess, type RunningCli, startCliProcess, tempDir } from '../cli/cli-harness.js';
import { freePort } from '../cli/serve-test-tools.js';
import { type KeyVaultStandIn, startKeyVaultStandIn } from '../key-vault-standin/index.js';

// Distinctive values, so the canary checks below cannot pass by accident.
const API_KEY = `AzKey${randomBytes(16).toString('hex')}`;
const API_SECRET = `AzSecret${randomBytes(24).toString('hex')}`;

let standIn: KeyVaultStandIn;
let paper: PaperExchange;
let serve: RunningCli | undefined;
let dir: string;
let remove: () => void;
let env: Record<string, string>;

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  standIn = await startKeyVaultStandIn();
  paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: API_SECRET, balances: { USDT: '100000', BTC: '2' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  // What a VM with a managed identity has: the platform's token endpoint. The child processes get nothing else
  // from Azure: no client secret, no token.
  env = {
    AZURE_POD_IDENTITY_AUTHORITY_HOST: standIn.imdsHost,
    NODE_EXTRA_CA_CERTS: standIn.caFile,
  };
  expect((await cli(dir, ['init'])).code).toBe(0);
  const path = join(dir, 'cofre.yaml');
  const config = readFileSync(path, 'utf8')
    .replace('http://127.0.0.1:8788', paper.url)
    .replace('local:exchanges/paper#apiKey', 'azure:exchanges-paper#apiKey')
    .replace('local:exchanges/paper#secret', 'azure:exchanges-paper#secret')
    .replace(
      'backends:\n',
      [
        'backends:',
        '  azure:',
        '    type: azure-key-vault',
        `    vaultUrl: ${standIn.vaultUrl}`,
        '    credential: { type: managed-identity }',
        // The stand-in answers on localhost, not under vault.azure.net, and its authority is not Microsoft's.
        '    verifyChallengeResource: false',
        '    instanceDiscovery: false',
        '',
      ].join('\n'),
    );
  writeFileSync(path, config);
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await paper.stop();
  await standIn.stop();
  remove();
});

describe('an order through `cofre serve` with keys read from Azure Key Vault', () => {
  it('stores the keys in the vault, serves, and places the order with them', async () => {
    const put = await cliProcess(
      dir,
      ['secret', 'put', 'exchanges-paper', '--backend', 'azure', '--field', 'apiKey', '--field', 'secret'],
      `${API_KEY}\n${API_SECRET}\n`,
      env,
    );
    expect(put.code).toBe(0);
    expect(`${put.stdout}${put.stderr}`).not.toContain(API_SECRET);
    const versions = await cliProcess(
      dir,
      ['secret', 'versions', 'exchanges-paper', '--backend', 'azure'],
      '',
      env,
    );
    expect(versions.stdout).toMatch(
      /^VERSION\s+STAGES\s+CREATED\s+UPDATED\n[0-9a-f]{32}\s+current\s+\S+Z\s+\S+Z\n$/,
    );

    const tokenFile = join(dir, 'agent.token');
    expect((await cli(dir, ['agent', 'add', 'bot', '--token-file', tokenFile])).code).toBe(0);
    const token = readFileSync(tokenFile, 'utf8').trim();

    const port = await freePort();
    serve = startCliProcess(dir, ['serve', '--host', '127.0.0.1', '--port', String(port)], env);
    const summary = await serve.waitFor(/agents: \d+ active/);
    expect(summary).toMatch(/backends: .*azure \(azure-key-vault\): reachable, 2\/2 references resolved/);
    const placed = await fetch(`http://127.0.0.1:${port}/v1/actions/place_order`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: '0.001',
        price: '58000',
        clientOrderId: 'azure-e2e-1',
      }),
    });
    const body = (await placed.json()) as { status: string; result?: { order: { status: string } } };
    expect(body).toMatchObject({ status: 'executed', result: { order: { status: 'open' } } });

    // The exchange saw the order signed with the key that only the vault held.
    const orders = paper.orders().filter((o) => o.clientOrderId === 'azure-e2e-1');
    expect(orders.map((o) => o.apiKey)).toEqual([API_KEY]);
    // cofre read it as the VM's system-assigned identity, with a token the vault verified.
    const reads = standIn.requests.filter(
      (r) => r.method === 'GET' && r.url.startsWith('/secrets/exchanges-paper') && r.status === 200,
    );
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((r) => r.clientId))).toEqual(new Set([standIn.systemAssignedClientId]));

    // SECURITY: neither key shows in what the server printed nor in the audit log.
    const printed = await serve.waitFor(/./);
    const audit = readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8');
    for (const text of [printed, audit]) {
      expect(text).not.toContain(API_SECRET);
      expect(text).not.toContain(API_KEY);
    }
  });
});
