// `credential: {type: default}` where DefaultAzureCredential finds nothing to use: its developer-tool links (Azure
// CLI, Developer CLI, PowerShell) are not installed here and fail at once, a hung one is cut off by
// `requestTimeout`, and what is left is a cofre error naming the backend — never the tools' or Entra's text. The
// chain reaching a managed identity or the environment is proven against the stand-in
// (azure-credential-imds.integration.test.ts, azure-credential-service-principal.integration.test.ts).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { azureKeyVaultBackendSchema } from '../../config/backend-config.js';
import { isCofreError } from '../../errors.js';
import { azureCredential } from './azure-credential.js';
import { mapAzureCredentialError } from './map-azure-credential-error.js';
import { isolateAzureIdentity } from './testdata/identity-environment.js';

const SCOPE = 'https://vault.azure.net/.default';
let root: string;
let tools: string;
let closedPort: number;

const config = azureKeyVaultBackendSchema.parse({
  type: 'azure-key-vault',
  vaultUrl: 'https://example.vault.azure.net',
  credential: { type: 'default' },
  maxRetries: 0,
  requestTimeout: '1s',
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function signInError(): Promise<unknown> {
  const credential = await azureCredential('azure', config);
  return credential.getToken(SCOPE).then(
    () => {
      throw new Error('expected no credential to sign in');
    },
    (err: unknown) => err,
  );
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cofre-azure-default-'));
  // A loopback port nothing listens on: the managed-identity link gets "connection refused" at once, and no test
  // ever asks a real instance metadata service (CI runners on Azure VMs have one).
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  tools = mkdtempSync(join(root, 'tools-'));
  isolateAzureIdentity(tools);
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', `http://127.0.0.1:${closedPort}`);
});
afterEach(() => {
  vi.unstubAllEnvs();
  const pidFile = join(tools, 'az-pid');
  if (existsSync(pidFile)) killQuietly(Number(readFileSync(pidFile, 'utf8')));
});

describe('DefaultAzureCredential with nothing to use', () => {
  it('fails without hanging when no developer tool is installed, as COFRE_BACKEND_UNAVAILABLE naming the backend', async () => {
    const sdk = await signInError();
    expect((sdk as Error).name).toBe('AggregateAuthenticationError');
    const err = mapAzureCredentialError(sdk, { backend: 'azure', credential: 'default' });
    // The managed-identity endpoint refused the connection: that may pass (a VM's IMDS restarting), so retryable.
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect(err?.message).toBe(
      'backend "azure" (default credential): the token endpoint could not be reached; cofre retries later',
    );
  });

  it('cuts off a developer tool that hangs, after requestTimeout', async () => {
    // An `az` that does not answer for longer than this test may take, as a CLI waiting on a login prompt would.
    // It writes its pid: the SDK kills the shell it started, not the shell's child, so the test ends it itself.
    const marker = join(tools, 'az-pid');
    const az = join(tools, 'az');
    writeFileSync(az, `#!/bin/sh\necho $$ > '${marker}'\nexec /bin/sleep 40\n`);
    chmodSync(az, 0o700);
    const sdk = await signInError();
    expect(existsSync(marker)).toBe(true); // the chain did reach the tool
    expect((sdk as Error).name).toBe('AggregateAuthenticationError');
    expect(isCofreError(mapAzureCredentialError(sdk, { backend: 'azure', credential: 'default' }))).toBe(
      true,
    );
  }, 20_000);

  it('says the chain found no credential when every link is merely unavailable', async () => {
    // AZURE_TOKEN_CREDENTIALS narrows the chain to its developer tools, none of which is installed.
    vi.stubEnv('AZURE_TOKEN_CREDENTIALS', 'dev');
    const sdk = await signInError();
    const err = mapAzureCredentialError(sdk, {
      backend: 'azure',
      credential: 'default',
      reference: 'azure:x',
    });
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toMatch(
      /^backend "azure" \(default credential\) reading azure:x: no token could be obtained \(AggregateAuthenticationError\); DefaultAzureCredential tried/,
    );
    expect(err?.message).not.toMatch(/az login|not installed|PowerShell is not/);
  });
});
