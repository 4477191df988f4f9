// SECURITY canary for the embedded wallet key through the real audited reads (a real embedded store, the resolver,
// the JSONL audit log): each signature is one `secret-access` record (purpose wallet-key, the reference HMAC'd) and
// the key appears nowhere in the log in any encoding; with an audit log that cannot be written, nothing is signed.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { secp256k1 } from '@noble/curves/secp256k1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { encodingsOf, leaks } from '../../../test/invariants/canary.js';
import { AuditHasher } from '../../audit/audit-hasher.js';
import { JsonlAuditLog } from '../../audit/audit-log.js';
import { AuditedSecrets } from '../../broker/audited-secrets.js';
import { isCofreError } from '../../errors.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import { SecretResolver } from '../../secrets/secret-resolver.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { EmbeddedSigner } from './embedded-signer.js';

let dir: string;
let backend: EmbeddedBackend;
let keyHex: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-wallet-audit-'));
  backend = await EmbeddedBackend.create(join(dir, 'store.cofre'), {
    kind: 'key-file',
    path: join(dir, 'store.key'),
  });
  keyHex = Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex');
  await backend.write('wallets/dev', SecretValue.fromText(keyHex));
});
afterEach(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

function signerWith(auditPath: string): { signer: EmbeddedSigner; audit: JsonlAuditLog } {
  const audit = new JsonlAuditLog(auditPath);
  // No cache: every signature reads the backend, as a key that is not kept in memory must.
  const resolver = new SecretResolver({
    backends: [backend],
    cache: { local: { ttlMs: 0, staleIfErrorMs: 0 } },
  });
  const secrets = new AuditedSecrets({ resolver, audit, hasher: new AuditHasher(randomBytes(32)) });
  return { signer: new EmbeddedSigner('local:wallets/dev', secrets), audit };
}

describe('the embedded wallet key and the audit log', () => {
  it('records each read as a wallet-key secret access and never writes the key', async () => {
    const path = join(dir, 'audit.jsonl');
    const { signer, audit } = signerWith(path);
    await signer.address();
    for (let i = 0; i < 3; i++) await signer.signDigest(randomBytes(32));
    await audit.close();
    const log = await readFile(path, 'utf8');
    const records = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const reads = records.filter((r) => r['kind'] === 'secret-access');
    expect(reads.map((r) => r['purpose'])).toEqual(['wallet-key', 'wallet-key', 'wallet-key', 'wallet-key']);
    expect(log).not.toContain('wallets/dev');
    expect(leaks(log, encodingsOf(keyHex))).toEqual([]);
    expect(leaks(log, encodingsOf(`0x${keyHex}`))).toEqual([]);
  });

  it('signs nothing when the read cannot be recorded', async () => {
    const broken = join(dir, 'broken-audit');
    await mkdir(broken);
    const { signer, audit } = signerWith(broken);
    const error = await signer.signDigest(randomBytes(32)).catch((err: unknown) => err);
    expect(
      isCofreError(error, 'COFRE_AUDIT_UNAVAILABLE') || isCofreError(error, 'COFRE_SIGNER_UNAVAILABLE'),
    ).toBe(true);
    await audit.close();
  });
});
