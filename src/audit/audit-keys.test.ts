import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EmbeddedBackend } from '../secrets/embedded/embedded-backend.js';
import { SecretResolver } from '../secrets/secret-resolver.js';
import { SecretValue } from '../secrets/secret-value.js';
import { keyIdOf } from './audit-format.js';
import {
  AUDIT_HMAC_KEY_PATH,
  AUDIT_SIGNING_KEY_PATH,
  auditPublicKeyOf,
  createAuditKeys,
  loadAuditKeys,
} from './audit-keys.js';

let dir: string;
let store: EmbeddedBackend;
let resolver: SecretResolver;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-audit-keys-'));
  store = await EmbeddedBackend.create(
    join(dir, 'cofre.store'),
    { kind: 'key-file', path: join(dir, 'k') },
    {
      name: 'local',
    },
  );
  resolver = new SecretResolver({ backends: [store] });
});

afterEach(async () => {
  await resolver.close();
  rmSync(dir, { recursive: true, force: true });
});

const audit = (signingKey?: string, hmacKey?: string) => ({
  audit: {
    ...(signingKey === undefined ? {} : { signingKey }),
    ...(hmacKey === undefined ? {} : { hmacKey }),
  } as never,
});

describe('createAuditKeys and loadAuditKeys', () => {
  it('creates an Ed25519 signing key and 32 HMAC bytes that load back, with the reads to record', async () => {
    const printed = await createAuditKeys(store);
    const keys = await loadAuditKeys(
      audit(`local:${AUDIT_SIGNING_KEY_PATH}`, `local:${AUDIT_HMAC_KEY_PATH}`),
      resolver,
    );
    expect(keys.signingKey?.asymmetricKeyType).toBe('ed25519');
    expect(keys.hmacKey).toHaveLength(32);
    expect(keys.hmacKey?.equals(Buffer.alloc(32))).toBe(false);
    // The printed public key is the signing key's: a signature verifies with it, and its keyId is keyIdOf(SPKI DER).
    const signingKey = keys.signingKey;
    if (signingKey === undefined) throw new Error('no signing key');
    const message = Buffer.from('checkpoint');
    expect(verify(null, message, printed.pem, sign(null, message, signingKey))).toBe(true);
    expect(printed.keyId).toBe(keyIdOf(createPublicKey(printed.pem).export({ type: 'spki', format: 'der' })));
    expect(auditPublicKeyOf(signingKey)).toEqual(printed);
    expect(keys.reads).toEqual([
      {
        reference: `local:${AUDIT_SIGNING_KEY_PATH}`,
        version: expect.any(String),
        purpose: 'audit-signing-key',
      },
      { reference: `local:${AUDIT_HMAC_KEY_PATH}`, version: expect.any(String), purpose: 'audit-hmac-key' },
    ]);
  });

  it('reads nothing without audit keys configured', async () => {
    expect(await loadAuditKeys(audit(), resolver)).toEqual({ reads: [] });
  });

  it('refuses a signing key that is not Ed25519, naming the reference', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await store.write(
      'ec',
      SecretValue.fromText(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    );
    await expect(loadAuditKeys(audit('local:ec'), resolver)).rejects.toMatchObject({
      code: 'COFRE_AUDIT_KEY_INVALID',
      message: expect.stringContaining('local:ec is a ec key') as unknown,
    });
  });

  it('refuses a signing key that is not a PEM private key, without quoting the value', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await store.write('public', SecretValue.fromText(publicPem));
    await store.write('junk', SecretValue.fromText('not-a-key-c4n4ry'));
    for (const ref of ['local:public', 'local:junk']) {
      const err = await loadAuditKeys(audit(ref), resolver).then(
        () => new Error('loaded'),
        (e: unknown) => e as Error,
      );
      expect(err).toMatchObject({ code: 'COFRE_AUDIT_KEY_INVALID' });
      expect(err.message).toContain(ref);
      expect(err.message).not.toContain('c4n4ry');
      expect(err.message).not.toContain('PUBLIC KEY');
    }
  });

  it('refuses an HMAC key shorter than 32 bytes', async () => {
    await store.write('short', SecretValue.copyOf(Buffer.alloc(31, 1)));
    await expect(loadAuditKeys(audit(undefined, 'local:short'), resolver)).rejects.toMatchObject({
      code: 'COFRE_AUDIT_KEY_INVALID',
      message: expect.stringContaining('holds 31 bytes') as unknown,
    });
  });

  it('passes a missing secret through as the backend reports it', async () => {
    await expect(loadAuditKeys(audit(undefined, 'local:nope'), resolver)).rejects.toMatchObject({
      code: 'COFRE_SECRET_NOT_FOUND',
    });
  });
});
