import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { EmbeddedEncryptionKey } from './embedded-key.js';

/** A secret store of one reference; records each value it hands out, to check they were zeroed. */
function store(text: string) {
  const handed: SecretValue[] = [];
  return {
    handed,
    read: (reference: string) => {
      if (reference !== 'local:k') return Promise.reject(new Error('unexpected reference'));
      const value = SecretValue.fromText(text);
      handed.push(value);
      return Promise.resolve(value);
    },
  };
}

const alice = { agent: 'alice', purpose: 'notes' };

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isCofreError(err) ? err.code : undefined;
}

describe('embedded encryption key', () => {
  const secrets = store(randomBytes(32).toString('hex'));
  const key = new EmbeddedEncryptionKey('dev', 'local:k', secrets);

  it('opens what it sealed for the same binding, and zeroes every key read', async () => {
    const body = await key.encrypt(alice, Buffer.from('hello'));
    const opened = await key.decrypt(alice, body);
    expect(opened.text()).toBe('hello');
    expect(secrets.handed.length).toBeGreaterThan(0);
    expect(secrets.handed.every((v) => v.zeroed)).toBe(true);
  });

  it('seals the same plaintext differently each time (random nonces)', async () => {
    expect(await key.encrypt(alice, Buffer.from('x'))).not.toBe(await key.encrypt(alice, Buffer.from('x')));
  });

  it('refuses another agent, another purpose, a changed body and another key', async () => {
    const body = await key.encrypt(alice, Buffer.from('hello'));
    expect(await code(key.decrypt({ agent: 'bob', purpose: 'notes' }, body))).toBe('COFRE_DECRYPT_REFUSED');
    expect(await code(key.decrypt({ agent: 'alice', purpose: 'notes2' }, body))).toBe(
      'COFRE_DECRYPT_REFUSED',
    );
    const raw = Buffer.from(body, 'base64url');
    raw[14] = (raw[14] ?? 0) ^ 1;
    expect(await code(key.decrypt(alice, raw.toString('base64url')))).toBe('COFRE_DECRYPT_REFUSED');
    expect(await code(key.decrypt(alice, 'AAAA'))).toBe('COFRE_DECRYPT_REFUSED');
    expect(await code(key.decrypt(alice, 'not base64url!'))).toBe('COFRE_DECRYPT_REFUSED');
    const other = new EmbeddedEncryptionKey('dev2', 'local:k', store(randomBytes(32).toString('hex')));
    expect(await code(other.decrypt(alice, body))).toBe('COFRE_DECRYPT_REFUSED');
  });

  it('does not let an agent and purpose spell another pair', async () => {
    // ("a:b", "c") and ("a", "b:c") joined naively would be the same context.
    const body = await key.encrypt({ agent: 'a:b', purpose: 'c' }, Buffer.from('x'));
    expect(await code(key.decrypt({ agent: 'a', purpose: 'b:c' }, body))).toBe('COFRE_DECRYPT_REFUSED');
  });

  it('gives data keys of the size asked for, which decrypt back', async () => {
    const { plaintext, body } = await key.generateDataKey(alice, 16);
    expect(plaintext.length).toBe(16);
    expect((await key.decrypt(alice, body)).equals(plaintext)).toBe(true);
  });

  it('refuses a secret that is not 32 bytes in hex, naming the reference only', async () => {
    for (const text of ['abc', randomBytes(31).toString('hex'), 'zz'.repeat(32)]) {
      const bad = new EmbeddedEncryptionKey('dev', 'local:k', store(text));
      const err = await bad.encrypt(alice, Buffer.from('x')).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_ENCRYPTION_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('local:k');
      expect((err as Error).message).not.toContain(text);
    }
    const spaced = new EmbeddedEncryptionKey('dev', 'local:k', store(`${randomBytes(32).toString('hex')}\n`));
    expect(await spaced.check()).toContain('32 bytes');
  });
});
