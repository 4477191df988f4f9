// The AWS KMS signer against moto's KMS (with MessageType=DIGEST as AWS does it, test/peers/moto_server_digest.py):
// the address from GetPublicKey is the one every signature recovers to; keys of another kind are refused; an
// unreachable KMS is COFRE_SIGNER_UNAVAILABLE; the credentials never show in an error.
import { inspect } from 'node:util';

import { CreateKeyCommand, type KeySpec, KMSClient } from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { bytesToHex, recoverAddress, serializeSignature } from 'viem';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startMoto } from '../../../test/peers/peers.js';
import { isCofreError } from '../../errors.js';
import { openSigner, type TransactionSigner } from '../signer.js';

const moto = await peerOrSkip('moto', startMoto);

afterAll(async () => {
  await moto?.stop();
});

// A canary secret access key: moto accepts any, and it must never surface in an error cofre makes.
const CANARY_SECRET = 'cofreCanaryKmsSecret0123456789abcdefXYZ';

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** Everything an error could show: message, details, cause chain, as util.inspect prints it. */
function everythingOf(err: unknown): string {
  return `${String(err)}\n${JSON.stringify(err)}\n${inspect(err, { depth: 10 })}`;
}

describe.skipIf(moto === undefined)('AwsKmsSigner against moto KMS', () => {
  let admin: KMSClient;
  const opened: TransactionSigner[] = [];
  const signerOf = (keyId: string, endpoint = moto!.endpoint): TransactionSigner => {
    const s = openSigner({ type: 'aws-kms', keyId, region: 'us-east-1', endpoint }, { secrets: noSecrets });
    opened.push(s);
    return s;
  };
  const createKey = async (spec: KeySpec, usage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT'): Promise<string> => {
    const created = await admin.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }));
    return created.KeyMetadata!.KeyId!;
  };

  beforeAll(() => {
    admin = new KMSClient({
      region: 'us-east-1',
      endpoint: moto!.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  beforeEach(() => {
    // The signer has no credentials option: the SDK's default chain finds these in the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIACOFRETEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', CANARY_SECRET);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(() => {
    admin.destroy();
  });

  it('signs digests that recover, with viem, to the address derived from GetPublicKey', async () => {
    const signer = signerOf(await createKey('ECC_SECG_P256K1', 'SIGN_VERIFY'));
    const address = await signer.address();
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (digest) => {
        const signature = await signer.signDigest(digest);
        // EIP-2: s in the lower half of the order, else Ethereum refuses the signature.
        expect(BigInt(signature.s) <= secp256k1HalfOrder).toBe(true);
        const hash = bytesToHex(digest);
        const recovered = await recoverAddress({ hash, signature: serializeSignature(signature) });
        expect(recovered).toBe(address);
      }),
      { numRuns: 60 },
    );
  });

  it.each([
    ['ECC_NIST_P256', 'SIGN_VERIFY'],
    ['RSA_2048', 'SIGN_VERIFY'],
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ] as const)(
    'refuses a key of spec %s (%s) with COFRE_SIGNER_KEY_INVALID, naming its spec',
    async (spec, usage) => {
      const keyId = await createKey(spec, usage);
      const signer = signerOf(keyId);
      const error = await failureOf(() => signer.address());
      expect(isCofreError(error, 'COFRE_SIGNER_KEY_INVALID')).toBe(true);
      expect((error as Error).message).toContain(keyId);
      expect((error as Error).message).toContain(spec);
      // Signing refuses too, before asking KMS to sign anything.
      const signing = await failureOf(() => signer.signDigest(new Uint8Array(32)));
      expect(isCofreError(signing, 'COFRE_SIGNER_KEY_INVALID')).toBe(true);
    },
  );

  it('names a key that does not exist as COFRE_SIGNER_KEY_INVALID', async () => {
    const error = await failureOf(() => signerOf('alias/cofre-no-such-key').address());
    expect(isCofreError(error, 'COFRE_SIGNER_KEY_INVALID')).toBe(true);
    expect((error as Error).message).toContain('alias/cofre-no-such-key');
  });

  it('answers COFRE_SIGNER_UNAVAILABLE naming the key, never the credentials, when KMS cannot be reached', async () => {
    // A port nothing listens on: moto's port after it is known closed would race; 9 (discard) is never served here.
    const signer = signerOf('alias/cofre-hot', 'http://127.0.0.1:9');
    const error = await failureOf(() => signer.signDigest(new Uint8Array(32).fill(7)));
    expect(isCofreError(error, 'COFRE_SIGNER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('alias/cofre-hot');
    expect(everythingOf(error)).not.toContain(CANARY_SECRET);
    expect(everythingOf(error)).not.toContain('AKIACOFRETEST');
  });

  it('keeps the credentials out of a refusal by KMS too', async () => {
    const keyId = await createKey('RSA_2048', 'SIGN_VERIFY');
    const error = await failureOf(() => signerOf(keyId).signDigest(new Uint8Array(32)));
    expect(everythingOf(error)).not.toContain(CANARY_SECRET);
  });
});

const secp256k1HalfOrder = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

const noSecrets = {
  read: (): never => {
    throw new Error('the KMS signer reads no secret');
  },
};
