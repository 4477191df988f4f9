// A service principal whose secret or certificate is in a file, signing in at the stand-in's Entra authority
// (`authorityHost`, instance discovery off) and reading through the official SecretClient; and the environment
// credential of DefaultAzureCredential, which is the one place cofre lets AZURE_CLIENT_SECRET be used.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { makeCanary } from '../../../test/invariants/canary.js';
import { type KeyVaultStandIn, startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { isCofreError } from '../../errors.js';
import { mapAzureCredentialError } from './map-azure-credential-error.js';
import { isolateAzureIdentity } from './testdata/identity-environment.js';
import {
  entraSignInsOf,
  readWith,
  recordingCredential,
  rejection,
  secretClient,
  standInConfig,
  vaultRequestsOf,
} from './testdata/stand-in-client.js';

let standIn: KeyVaultStandIn;
let dir: string;
let tools: string;

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** A self-signed certificate and its key, as `openssl req` makes them. */
function certificatePair(name: string): { cert: string; key: string } {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' }); // prettier-ignore
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

const requestsOf = (clientId: string) => vaultRequestsOf(standIn, clientId);
const signInsOf = (clientId: string) => entraSignInsOf(standIn, clientId);
const context = { backend: 'azure', credential: 'service-principal', reference: 'azure:okx-api' } as const;

/** Every text an error exposes: message, stack, cause chain and enumerable fields. */
function everything(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as (Error & { cause?: unknown }) | undefined; e !== undefined; e = e.cause as typeof e) {
    parts.push(e.message, e.stack ?? '', JSON.stringify(e));
  }
  return parts.join('\n');
}

let pair: { cert: string; key: string };
let otherPair: { cert: string; key: string };
let writerSecret: string;
let writerId: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  dir = mkdtempSync(join(tmpdir(), 'cofre-azure-sp-'));
  tools = mkdtempSync(join(dir, 'tools-'));
  pair = certificatePair('cofre-sp'); // before PATH is emptied
  otherPair = certificatePair('someone-else');
  writerSecret = makeCanary().value;
  writerId = standIn.addServicePrincipal({ secret: writerSecret }, 'secrets-officer');
  const config = standInConfig(standIn, {
    type: 'service-principal',
    tenantId: standIn.tenantId,
    clientId: writerId,
    clientSecretFile: file('writer-secret', `${writerSecret}\n`),
  });
  const writer = secretClient(standIn, await recordingCredential(config), config);
  await writer.setSecret('okx-api', 'value-for-service-principal');
});
afterAll(async () => {
  await standIn.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  isolateAzureIdentity(tools);
});
afterEach(() => vi.unstubAllEnvs());

describe('service principal with clientSecretFile', () => {
  const sp = (clientId: string, secretFile: string) => ({
    type: 'service-principal',
    tenantId: standIn.tenantId,
    clientId,
    clientSecretFile: secretFile,
  });

  it('signs in with the secret from the file', async () => {
    const secret = makeCanary().value;
    const clientId = standIn.addServicePrincipal({ secret }, 'secrets-user');
    expect(await readWith(standIn, sp(clientId, file('sp-secret', `${secret}\r\n`)), 'okx-api')).toBe(
      'value-for-service-principal',
    );
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(signInsOf(clientId)).toEqual(['200 secret']);
  });

  it('refuses a wrong secret as COFRE_BACKEND_DENIED naming backend and kind, never the secret nor Entra’s text', async () => {
    const clientId = standIn.addServicePrincipal({ secret: makeCanary().value }, 'secrets-user');
    const wrong = makeCanary();
    const sdk = await rejection(readWith(standIn, sp(clientId, file('sp-wrong', wrong.value)), 'okx-api'));
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.retryable).toBe(false);
    expect(err?.message).toMatch(
      /^backend "azure" \(service-principal credential\) reading azure:okx-api: Entra ID refused the sign-in \(.*invalid_client\); check tenantId and clientId/,
    );
    const text = everything(err);
    for (const leak of [...wrong.encodings, 'AADSTS', 'Trace ID']) expect(text).not.toContain(leak);
    expect(requestsOf(clientId)).toEqual([]);
    expect(signInsOf(clientId)).toEqual(['401 secret']); // once: a refused sign-in is not retried
  });

  it('never uses AZURE_CLIENT_SECRET from the environment', async () => {
    const secret = makeCanary().value;
    const clientId = standIn.addServicePrincipal({ secret }, 'secrets-user');
    // The right secret in the environment and a wrong one in the file: refused, so the environment was not used.
    vi.stubEnv('AZURE_TENANT_ID', standIn.tenantId);
    vi.stubEnv('AZURE_CLIENT_ID', clientId);
    vi.stubEnv('AZURE_CLIENT_SECRET', secret);
    const refused = await rejection(
      readWith(standIn, sp(clientId, file('sp-env-wrong', 'not-the-secret')), 'okx-api'),
    );
    expect(isCofreError(mapAzureCredentialError(refused, context), 'COFRE_BACKEND_DENIED')).toBe(true);
    // A wrong secret in the environment and the right one in the file: signs in with the file's.
    vi.stubEnv('AZURE_CLIENT_SECRET', 'wrong-secret-from-the-environment');
    expect(await readWith(standIn, sp(clientId, file('sp-env-right', secret)), 'okx-api')).toBe(
      'value-for-service-principal',
    );
  });

  it('does not sign in to the tenant a challenge names when it is not the configured one', async () => {
    // The app is registered in the stand-in's tenant and its secret is right; the config pins another tenant, so
    // the vault's challenge (naming the stand-in's) is refused by the SDK before the secret is sent anywhere.
    const secret = makeCanary();
    const clientId = standIn.addServicePrincipal({ secret: secret.value }, 'secrets-user');
    const credential = {
      ...sp(clientId, file('sp-tenant', secret.value)),
      tenantId: '0badc0de-0000-4000-8000-00000000beef',
    };
    const sdk = await rejection(readWith(standIn, credential, 'okx-api'));
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(signInsOf(clientId)).toEqual([]);
    for (const encoding of secret.encodings) expect(everything(err)).not.toContain(encoding);
  });

  it('reaches the vault and is refused there, once, when the principal has no role', async () => {
    const secret = makeCanary().value;
    const clientId = standIn.addServicePrincipal({ secret }, 'none');
    const sdk = await rejection(readWith(standIn, sp(clientId, file('sp-none', secret)), 'okx-api'));
    expect(sdk.statusCode).toBe(403);
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 403']);
  });
});

describe('service principal with certificateFile', () => {
  const sp = (clientId: string, certificateFile: string) => ({
    type: 'service-principal',
    tenantId: standIn.tenantId,
    clientId,
    certificateFile,
  });

  it('signs in with an assertion signed by the key in the file', async () => {
    const clientId = standIn.addServicePrincipal({ certificatePem: pair.cert }, 'secrets-user');
    const path = file('sp-cert.pem', pair.cert + pair.key);
    expect(await readWith(standIn, sp(clientId, path), 'okx-api')).toBe('value-for-service-principal');
    expect(requestsOf(clientId).map((r) => r.status)).toEqual([200]);
    expect(signInsOf(clientId)).toEqual(['200 assertion']);
  });

  it('is refused when the app has another certificate registered', async () => {
    const clientId = standIn.addServicePrincipal({ certificatePem: otherPair.cert }, 'secrets-user');
    const sdk = await rejection(
      readWith(standIn, sp(clientId, file('sp-cert-other.pem', pair.cert + pair.key)), 'okx-api'),
    );
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(everything(err)).not.toContain('PRIVATE KEY');
    expect(requestsOf(clientId)).toEqual([]);
    expect(signInsOf(clientId)).toEqual(['401 assertion']);
  });
});

describe('DefaultAzureCredential with the environment credential', () => {
  it('signs in with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, and cofre warns about the secret', async () => {
    const secret = makeCanary();
    const clientId = standIn.addServicePrincipal({ secret: secret.value }, 'secrets-user');
    vi.stubEnv('AZURE_TENANT_ID', standIn.tenantId);
    vi.stubEnv('AZURE_CLIENT_ID', clientId);
    vi.stubEnv('AZURE_CLIENT_SECRET', secret.value);
    const lines: string[] = [];
    const config = standInConfig(standIn, { type: 'default' });
    const credential = await recordingCredential(config, {
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    expect((await secretClient(standIn, credential, config).getSecret('okx-api')).value).toBe(
      'value-for-service-principal',
    );
    expect(requestsOf(clientId).map((r) => r.status)).toEqual([200]);
    expect(signInsOf(clientId)).toEqual(['200 secret']);
    expect(lines).toEqual([expect.stringMatching(/^warn backend "azure": AZURE_CLIENT_SECRET is set/)]);
    for (const encoding of secret.encodings) expect(lines.join('\n')).not.toContain(encoding);
  });
});
