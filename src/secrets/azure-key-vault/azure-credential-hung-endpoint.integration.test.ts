// A managed-identity token endpoint that takes the connection and never answers (a wedged metadata proxy, a
// firewall that swallows packets). msal-node ignores the SDK's timeout there, so without cofre's own bound every
// read — and every order waiting for its keys — would hang for good. A file of its own: msal-node keeps the
// managed-identity endpoint of a process's first sign-in.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { AzureKeyVaultBackend } from './azure-key-vault-backend.js';
import { isolateAzureIdentity } from './testdata/identity-environment.js';
import { peerConfig } from './testdata/key-vault-peers.js';

let standIn: KeyVaultStandIn;
let silent: Server;
const held: Socket[] = [];
let tools: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
  tools = mkdtempSync(join(tmpdir(), 'cofre-azure-hung-'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  for (const socket of held) socket.destroy();
  await new Promise((done) => silent.close(done));
  await standIn.stop();
  rmSync(tools, { recursive: true, force: true });
});

it('gives up on a token endpoint that never answers: unavailable, and the vault is never asked', async () => {
  isolateAzureIdentity(tools);
  const { port } = silent.address() as { port: number };
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', `http://127.0.0.1:${port}`);
  const backend = await AzureKeyVaultBackend.open(
    'azure',
    peerConfig(
      { label: 'stand-in', vaultUrl: standIn.vaultUrl, imdsHost: '' },
      { requestTimeout: '200ms', maxRetries: 1 },
    ),
  );
  const failure = await backend.read('binance-api', { kind: 'latest' }).then(
    () => undefined,
    (err: unknown) => err as Error & { code?: string },
  );
  expect(failure?.code).toBe('COFRE_BACKEND_UNAVAILABLE');
  expect(failure?.message).toMatch(
    /backend "azure" \(managed-identity credential\) reading azure:binance-api: the token endpoint did not answer in time/,
  );
  expect(held.length).toBeGreaterThan(0);
  // Only the first, token-less challenge request reached the vault: no secret was read without a token.
  expect(standIn.requests.every((r) => r.clientId === undefined && r.status === 401)).toBe(true);
  await backend.close();
}, 30_000);
