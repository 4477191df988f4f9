import { generateKeyPairSync, verify } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { checkpointMessage } from './audit-format.js';
import { CheckpointSigner } from './checkpoint-signer.js';

describe('CheckpointSigner', () => {
  it('signs the checkpoint message with an Ed25519 key given as a KeyObject or PKCS#8 PEM', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    for (const key of [privateKey, Buffer.from(pem)]) {
      const signer = new CheckpointSigner(key);
      const c = { logId: 'ab'.repeat(16), seq: 7, head: 'c'.repeat(64), ts: '2026-11-30T00:00:00.000Z' };
      const fields = signer.fields(c);
      expect(fields).toMatchObject({
        head: c.head,
        count: 7,
        keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
      expect(verify(null, checkpointMessage(c), publicKey, Buffer.from(fields.signature!, 'base64'))).toBe(
        true,
      );
      expect(signer.publicKeyPem).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    }
  });

  it('refuses a key that is not an Ed25519 private key, saying what it is', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const [key, says] of [
      [privateKey, 'ec private key'],
      [publicKey, 'ec public key'],
      [Buffer.from('not a key'), 'not a PEM private key'],
    ] as const) {
      let err: unknown;
      try {
        new CheckpointSigner(key);
      } catch (e) {
        err = e;
      }
      expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain(says);
      expect((err as Error).message).not.toContain('BEGIN');
    }
  });
});
