/**
 * The stand-in's certificate and NODE_EXTRA_CA_CERTS: test processes and the children they spawn trust it through
 * the variable vitest.config.ts sets (and only through it), a user's own extra CA file is kept in a bundle, and
 * processes racing to create the certificate end with one matching pair.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureStandInTls, standInCaFileFor } from './certificate.js';
import { ensureStandInCertificate, type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';

const run = promisify(execFile);
let standIn: KeyVaultStandIn;
let dir: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  dir = mkdtempSync(join(tmpdir(), 'kv-standin-cert-'));
});
afterAll(async () => {
  await standIn.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Status a child Node process gets from the vault with `env`, or the TLS error code it fails with. */
async function childFetch(env: NodeJS.ProcessEnv): Promise<string> {
  const script = `fetch(${JSON.stringify(`${standIn.vaultUrl}/secrets`)}).then((r) => console.log(r.status), (e) => console.log(e.cause?.code ?? e.message))`;
  const { stdout } = await run(process.execPath, ['-e', script], { env });
  return stdout.trim();
}

describe('key-vault stand-in certificate trust', () => {
  it('vitest.config.ts pointed NODE_EXTRA_CA_CERTS at the stand-in certificate before this worker started', async () => {
    const caFile = process.env['NODE_EXTRA_CA_CERTS'] ?? '';
    expect(readFileSync(caFile, 'utf8')).toContain(readFileSync(ensureStandInCertificate(), 'utf8').trim());
    expect(standIn.caFile).toBe(ensureStandInCertificate());
    // The handshake succeeds without any agent option: the 401 is the vault's challenge.
    expect((await fetch(`${standIn.vaultUrl}/secrets`)).status).toBe(401);
  });

  it('a child process spawned with the inherited environment trusts it, and without the variable it does not', async () => {
    expect(await childFetch(process.env)).toBe('401');
    const { NODE_EXTRA_CA_CERTS: _, ...without } = process.env;
    expect(await childFetch(without)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it('keeps a CA file the user already named, in a bundle that also trusts the stand-in', async () => {
    const userCa = join(dir, 'user-ca.pem');
    const other = ensureStandInTls(join(dir, 'other'));
    writeFileSync(userCa, readFileSync(other.certFile));
    const bundle = standInCaFileFor(userCa);
    const text = readFileSync(bundle, 'utf8');
    expect(text).toContain(readFileSync(userCa, 'utf8').trim());
    expect(text).toContain(readFileSync(ensureStandInCertificate(), 'utf8').trim());
    expect(standInCaFileFor(bundle)).toBe(ensureStandInCertificate());
    expect(await childFetch({ ...process.env, NODE_EXTRA_CA_CERTS: bundle })).toBe('401');
    rmSync(bundle); // named by its content, which holds this run's throwaway certificate
  });

  it('processes racing to create the certificate end with one pair whose key matches', async () => {
    const script = join(dir, 'ensure.mts');
    const module = pathToFileURL(fileURLToPath(new URL('certificate.ts', import.meta.url))).href;
    writeFileSync(
      script,
      `const { ensureStandInTls } = await import(${JSON.stringify(module)});\nconsole.log(ensureStandInTls(process.argv[2]).certFile);\n`,
    );
    const target = join(dir, 'race');
    const outputs = await Promise.all(
      [1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', script, target], { env: process.env })),
    );
    expect(new Set(outputs.map((o) => o.stdout.trim())).size).toBe(1);
    const files = ensureStandInTls(target);
    const cert = new X509Certificate(readFileSync(files.certFile));
    const keyPublic = createPublicKey(createPrivateKey(readFileSync(files.keyFile)));
    expect(cert.publicKey.export({ format: 'jwk' })).toEqual(keyPublic.export({ format: 'jwk' }));
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });
});
