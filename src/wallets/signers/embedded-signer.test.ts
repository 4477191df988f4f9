import { inspect } from 'node:util';

import { secp256k1 } from '@noble/curves/secp256k1';
import fc from 'fast-check';
import { bytesToHex, recoverAddress, serializeSignature } from 'viem';
import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { newEmbeddedKey } from './embedded-key.js';
import { EmbeddedSigner } from './embedded-signer.js';

/** A secret reader that hands out `text` and remembers every value it gave, to see that each was zeroed. */
function reader(text: string) {
  const given: SecretValue[] = [];
  const purposes: string[] = [];
  return {
    given,
    purposes,
    read: (_reference: string, access: { purpose: string }) => {
      const value = SecretValue.fromText(text);
      given.push(value);
      purposes.push(access.purpose);
      return Promise.resolve(value);
    },
  };
}

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe('EmbeddedSigner', () => {
  it('signs low-s digests that recover to its address, reading the key for each signature and zeroing it', async () => {
    const key = secp256k1.utils.randomPrivateKey();
    const secrets = reader(`0x${Buffer.from(key).toString('hex')}\n`);
    const signer = new EmbeddedSigner('local:wallets/dev', secrets);
    const address = await signer.address();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (digest) => {
        const signature = await signer.signDigest(digest);
        expect(BigInt(signature.s) <= secp256k1.CURVE.n / 2n).toBe(true);
        const recovered = await recoverAddress({
          hash: bytesToHex(digest),
          signature: serializeSignature(signature),
        });
        expect(recovered).toBe(address);
      }),
      { numRuns: 50 },
    );
    // One read for the address (cached after), one per signature; each value zeroed once used.
    expect(secrets.given).toHaveLength(51);
    expect(secrets.given.every((v) => v.zeroed)).toBe(true);
    expect(new Set(secrets.purposes)).toEqual(new Set(['wallet-key']));
    expect(signer.source).toBe('embedded local:wallets/dev');
  });

  it('reads the key newEmbeddedKey writes, to the address it printed', async () => {
    const created = newEmbeddedKey();
    const signer = new EmbeddedSigner('local:wallets/new', reader(created.secret.text()));
    expect(await signer.address()).toBe(created.address);
    created.secret.zero();
  });

  it.each([
    ['too short', 'abcdef'],
    ['not hex', 'z'.repeat(64)],
    ['zero', '0'.repeat(64)],
    ['the curve order', 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'],
    ['too long', 'a'.repeat(66)],
  ])(
    'refuses a secret that is not a key (%s) with COFRE_SIGNER_KEY_INVALID, never echoing it',
    async (_what, text) => {
      const secrets = reader(text);
      const signer = new EmbeddedSigner('local:wallets/bad', secrets);
      for (const run of [() => signer.address(), () => signer.signDigest(new Uint8Array(32))]) {
        const error = await failureOf(run);
        expect(isCofreError(error, 'COFRE_SIGNER_KEY_INVALID')).toBe(true);
        expect((error as Error).message).toContain('local:wallets/bad');
        const shown = `${String(error)} ${JSON.stringify(error)} ${inspect(error, { depth: 10 })}`;
        expect(shown).not.toContain(text);
      }
      expect(secrets.given.every((v) => v.zeroed)).toBe(true);
    },
  );

  it('answers COFRE_SIGNER_UNAVAILABLE when the backend of the key is down', async () => {
    const { CofreError } = await import('../../errors.js');
    const signer = new EmbeddedSigner('vault:wallets/dev', {
      read: () =>
        Promise.reject(new CofreError('COFRE_BACKEND_UNAVAILABLE', 'backend "vault" is unavailable')),
    });
    const error = await failureOf(() => signer.signDigest(new Uint8Array(32)));
    expect(isCofreError(error, 'COFRE_SIGNER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('vault:wallets/dev');
  });
});
