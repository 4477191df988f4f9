// Issue 19, `cofre doctor`'s encryption check against real key services: each kind of key found fit (a derived
// Transit key, a symmetric KMS key, a 32-byte embedded key) or failed with a reason an operator can act on.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateKeyCommand, type KeySpec, type KeyUsageType, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { openResolver } from '../../src/secrets/open-backend.js';
import type { SecretResolver } from '../../src/secrets/secret-resolver.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import type { DoctorFinding } from '../../src/surfaces/cli/doctor-checks.js';
import { encryptionDoctorCheck } from '../../src/surfaces/cli/doctor-encryption.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startMoto, startOpenBao } from '../peers/peers.js';
import { baoApi } from '../vault/vault-fixture.js';

const bao = await peerOrSkip('OpenBao', () => startOpenBao());
const moto = await peerOrSkip('moto', () => startMoto());

describe.skipIf(bao === undefined || moto === undefined)('cofre doctor: encryption keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-crypt-doctor-'));
  let resolver: SecretResolver;
  let findings: Map<string, DoctorFinding>;
  const env = { ...process.env };

  beforeAll(async () => {
    process.env['AWS_ACCESS_KEY_ID'] = 'testing';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
    await baoApi(bao!, 'POST', 'sys/mounts/transit', { type: 'transit' });
    await baoApi(bao!, 'POST', 'transit/keys/derived', { derived: true });
    await baoApi(bao!, 'POST', 'transit/keys/plain', {});
    writeFileSync(join(dir, 'vault.token'), bao!.rootToken, { mode: 0o600 });
    const kms = new KMSClient({ region: 'us-east-1', endpoint: moto!.endpoint });
    const create = async (KeySpec: KeySpec, KeyUsage: KeyUsageType): Promise<string> =>
      (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!.KeyId!;
    const symmetric = await create('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    const signing = await create('ECC_SECG_P256K1', 'SIGN_VERIFY');
    kms.destroy();
    const store = await EmbeddedBackend.create(join(dir, 's.store'), {
      kind: 'key-file',
      path: join(dir, 's.key'),
    });
    await store.write('keys/ok', SecretValue.fromText(randomBytes(32).toString('hex')));
    await store.write('keys/short', SecretValue.fromText(randomBytes(16).toString('hex')));
    await store.close();
    const at = (keyId: string, endpoint = moto!.endpoint) => ({
      type: 'aws-kms',
      keyId,
      region: 'us-east-1',
      endpoint,
    });
    const config = validateConfig(
      {
        backends: {
          local: { type: 'embedded', path: 's.store', keyFile: 's.key' },
          vault: {
            type: 'vault',
            address: bao!.addr,
            kvVersion: 2,
            auth: { method: 'token', tokenFile: 'vault.token' },
          },
        },
        encryptionKeys: {
          'bao-ok': { type: 'transit', backend: 'vault', key: 'derived' },
          'bao-plain': { type: 'transit', backend: 'vault', key: 'plain' },
          'bao-missing': { type: 'transit', backend: 'vault', key: 'missing' },
          'kms-ok': at(symmetric),
          'kms-signing': at(signing),
          'kms-down': at(symmetric, 'http://127.0.0.1:9'),
          'dev-ok': { type: 'embedded', secret: 'local:keys/ok' },
          'dev-short': { type: 'embedded', secret: 'local:keys/short' },
          'dev-missing': { type: 'embedded', secret: 'local:keys/none' },
        },
      },
      { baseDir: dir },
    );
    resolver = await openResolver(config);
    const found = await encryptionDoctorCheck({
      config,
      configPath: join(dir, 'cofre.yaml'),
      resolver,
      now: new Date(),
    });
    findings = new Map(found.map((f) => [f.subject, f]));
  }, 120_000);

  afterAll(async () => {
    await resolver.close();
    await bao?.stop();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.env = env;
  });

  it('finds each kind of key fit when it is', () => {
    for (const name of ['bao-ok', 'kms-ok', 'dev-ok']) {
      expect({ name, status: findings.get(name)?.status }).toEqual({ name, status: 'ok' });
    }
    expect(findings.get('bao-ok')?.message).toContain('derived');
    expect(findings.get('kms-ok')?.message).toContain('symmetric');
  });

  it.each([
    ['bao-plain', 'derived=true'],
    ['bao-missing', 'does not exist'],
    ['kms-signing', 'SYMMETRIC_DEFAULT'],
    ['kms-down', 'failed'],
    ['dev-short', '64 hex digits'],
    ['dev-missing', 'local:keys/none'],
  ])('fails %s, saying why', (name, why) => {
    const finding = findings.get(name);
    expect(finding?.status).toBe('fail');
    expect(finding?.message).toContain(why);
    expect(finding?.details?.['code']).toBe('COFRE_ENCRYPTION_UNAVAILABLE');
  });
});
