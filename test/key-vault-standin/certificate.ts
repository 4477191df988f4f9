/**
 * The stand-in's TLS certificate: one self-signed certificate for `localhost` and `127.0.0.1`, made once with the
 * `openssl` CLI under `<repo>/.tools/key-vault-standin/`, and the file `NODE_EXTRA_CA_CERTS` names so that test
 * processes (and the `cofre serve` children they spawn) trust it.
 *
 * Why a file made before Node starts: Node reads `NODE_EXTRA_CA_CERTS` once, at process start, so
 * `vitest.config.ts` must point it at an existing file before the worker processes fork.
 *
 * Safe when several processes race (several vitest runs, the lead's CLI): each writes into its own temp directory
 * and renames it into place; a rename onto an existing directory fails and the loser uses the winner's pair, so a
 * certificate never meets another run's key.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `<repo>/.tools/key-vault-standin`: everything the stand-in keeps between runs. */
export const STANDIN_TOOLS_DIR = join(REPO_ROOT, '.tools', 'key-vault-standin');

/** Where the certificate (PEM) and its private key live. */
export interface StandInTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Paths of the pair under `dir`, without creating it. */
export function standInTlsFiles(dir = STANDIN_TOOLS_DIR): StandInTlsFiles {
  return { certFile: join(dir, 'tls', 'cert.pem'), keyFile: join(dir, 'tls', 'key.pem') };
}

/**
 * Creates the certificate and key if missing or expiring within a day, and returns their paths. Idempotent and
 * safe to call concurrently from several processes. `dir` is for tests of exactly that.
 */
export function ensureStandInTls(dir = STANDIN_TOOLS_DIR): StandInTlsFiles {
  const files = standInTlsFiles(dir);
  if (pairIsUsable(files)) return files;
  const tlsDir = join(dir, 'tls');
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `tls.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(temp);
  try {
    runOpenssl(temp);
    if (existsSync(tlsDir)) rmSync(tlsDir, { recursive: true, force: true }); // only reached when expired
    try {
      renameSync(temp, tlsDir);
    } catch {
      // Another process renamed its pair into place first: use that one.
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  if (!pairIsUsable(files)) throw new Error(`key-vault stand-in: no usable certificate in ${tlsDir}`);
  return files;
}

function pairIsUsable(files: StandInTlsFiles): boolean {
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) return false;
  try {
    const cert = new X509Certificate(readFileSync(files.certFile));
    return Date.parse(cert.validTo) > Date.now() + 86_400_000;
  } catch {
    return false;
  }
}

function runOpenssl(dir: string): void {
  const args = [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '3650',
    '-subj',
    '/CN=cofre key-vault stand-in',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ];
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'key-vault stand-in: the `openssl` command was not found; install OpenSSL (Debian: apt-get install -y openssl) ' +
        'so the stand-in can make its TLS certificate',
    );
  }
  if (result.status !== 0) {
    throw new Error(
      `key-vault stand-in: openssl failed to make the TLS certificate: ${result.stderr.trim()}`,
    );
  }
}

/**
 * The file to put in `NODE_EXTRA_CA_CERTS` so a Node process trusts the stand-in and, where the user already
 * named a file there (`existing`), that file's certificates too: then a bundle of both is written (temp file and
 * rename) and its path returned.
 */
export function standInCaFileFor(existing: string | undefined, dir = STANDIN_TOOLS_DIR): string {
  const { certFile } = ensureStandInTls(dir);
  // Already ours (a nested vitest run inherits what the outer one set): keep it rather than bundle it again.
  if (existing === undefined || existing === '' || existing === certFile || existing.startsWith(dir)) {
    return certFile;
  }
  const userPem = existsSync(existing) ? readFileSync(existing, 'utf8') : '';
  const bundle = `${userPem.trimEnd()}\n${readFileSync(certFile, 'utf8')}`;
  const digest = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  const bundleFile = join(dir, `ca-bundle-${digest}.pem`);
  if (!existsSync(bundleFile)) {
    const temp = `${bundleFile}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    writeFileSync(temp, bundle);
    renameSync(temp, bundleFile);
  }
  return bundleFile;
}
