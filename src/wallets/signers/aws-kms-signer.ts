import { createPublicKey } from 'node:crypto';

import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import { type Hex, hexToBytes } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';

import { awsKmsClientOptions } from '../../config/aws-kms-client-options.js';
import { CofreError } from '../../errors.js';
import type { RecoverableSignature, TransactionSigner } from '../signer.js';
import { mapKmsError } from './kms-error.js';
import { recoverableFromDer } from './recoverable-signature.js';

/** The KMS key of a wallet, as configured (`wallets.<name>.key`, type `aws-kms`). */
export interface AwsKmsKey {
  readonly keyId: string;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly profile?: string | undefined;
}

/** The key as GetPublicKey describes it: the uncompressed point and the address. */
interface KmsPublicKey {
  readonly point: Uint8Array;
  readonly address: Hex;
}

const REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 3_000;

/**
 * A wallet key in AWS KMS: an asymmetric key of spec `ECC_SECG_P256K1` and usage `SIGN_VERIFY`. The key never
 * leaves KMS: cofre reads its public key once (GetPublicKey) and asks KMS to sign each digest (Sign with
 * `MessageType: DIGEST`, so KMS signs the Keccak-256 hash as given instead of hashing it with SHA-256 again).
 * Needs `kms:GetPublicKey` and `kms:Sign` on the key, nothing else. Credentials come from the SDK's default chain.
 *
 * The SDK is loaded on first use, so opening the signer costs nothing and `cofre --help` stays fast.
 * Safe to call concurrently.
 */
export class AwsKmsSigner implements TransactionSigner {
  readonly source: string;
  readonly #key: AwsKmsKey;
  #client: Promise<KMSClient> | undefined;
  #publicKey: Promise<KmsPublicKey> | undefined;

  constructor(key: AwsKmsKey) {
    this.#key = key;
    this.source = `aws-kms ${key.keyId}`;
  }

  async address(): Promise<Hex> {
    return (await this.#readPublicKey()).address;
  }

  async signDigest(digest: Uint8Array): Promise<RecoverableSignature> {
    if (digest.length !== 32) {
      throw new CofreError('COFRE_INTERNAL', `a digest to sign is 32 bytes, not ${digest.length}`);
    }
    const { point } = await this.#readPublicKey();
    const client = await this.#sdk();
    const { SignCommand } = await import('@aws-sdk/client-kms');
    let der: Uint8Array | undefined;
    try {
      // https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html: with MessageType DIGEST, KMS signs the
      // 32 bytes as the hash (ECDSA_SHA_256 only names the expected length and curve), which is what Ethereum needs.
      const answer = await client.send(
        new SignCommand({
          KeyId: this.#key.keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      der = answer.Signature;
    } catch (err) {
      throw mapKmsError(err, 'Sign', this.#key.keyId);
    }
    if (der === undefined) {
      throw new CofreError(
        'COFRE_SIGNER_UNAVAILABLE',
        `AWS KMS key ${this.#key.keyId}: Sign answered no signature`,
      );
    }
    return recoverableFromDer(der, digest, point, `AWS KMS key ${this.#key.keyId}`);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) (await client.catch(() => undefined))?.destroy();
  }

  /** The public key, read once; a failed read is forgotten so the next call tries again. */
  #readPublicKey(): Promise<KmsPublicKey> {
    this.#publicKey ??= this.#fetchPublicKey().catch((err: unknown) => {
      this.#publicKey = undefined;
      throw err;
    });
    return this.#publicKey;
  }

  async #fetchPublicKey(): Promise<KmsPublicKey> {
    const client = await this.#sdk();
    const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
    const keyId = this.#key.keyId;
    let answer;
    try {
      answer = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    } catch (err) {
      throw mapKmsError(err, 'GetPublicKey', keyId);
    }
    // SECURITY: a key of another curve or usage would sign something no Ethereum node verifies as this wallet,
    // or not sign at all; refuse it before any use, naming what it is.
    // AWS answers both fields (the same value); moto 5.2.5 answers only the deprecated one.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const spec = answer.KeySpec ?? answer.CustomerMasterKeySpec;
    if (spec !== 'ECC_SECG_P256K1' || answer.KeyUsage !== 'SIGN_VERIFY') {
      throw new CofreError(
        'COFRE_SIGNER_KEY_INVALID',
        `AWS KMS key ${keyId} is of spec ${spec ?? 'unknown'} and usage ${answer.KeyUsage ?? 'unknown'}; a wallet needs ECC_SECG_P256K1 and SIGN_VERIFY (aws kms create-key --key-spec ECC_SECG_P256K1 --key-usage SIGN_VERIFY)`,
        { details: { keyId } },
      );
    }
    if (answer.PublicKey === undefined) {
      throw new CofreError('COFRE_SIGNER_UNAVAILABLE', `AWS KMS key ${keyId}: GetPublicKey answered no key`);
    }
    const point = uncompressedPoint(answer.PublicKey, keyId);
    return { point, address: publicKeyToAddress(`0x${Buffer.from(point).toString('hex')}`) };
  }

  #sdk(): Promise<KMSClient> {
    this.#client ??= (async () => {
      const { KMSClient } = await import('@aws-sdk/client-kms');
      const config: KMSClientConfig = awsKmsClientOptions(this.#key, {
        connectionMs: CONNECTION_TIMEOUT_MS,
        requestMs: REQUEST_TIMEOUT_MS,
      });
      const client = new KMSClient(config);
      try {
        await client.config.region();
      } catch {
        client.destroy();
        throw new CofreError(
          'COFRE_SIGNER_UNAVAILABLE',
          `AWS KMS key ${this.#key.keyId}: no AWS region; set \`region\` in the wallet's key, or AWS_REGION, or a region in the AWS profile`,
        );
      }
      return client;
    })().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }
}

/**
 * The uncompressed point (0x04 ‖ X ‖ Y) of a DER SubjectPublicKeyInfo, parsed by Node (OpenSSL), which also checks
 * that it is a point of secp256k1.
 */
function uncompressedPoint(spki: Uint8Array, keyId: string): Uint8Array {
  let jwk;
  try {
    jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch (err) {
    throw new CofreError('COFRE_SIGNER_KEY_INVALID', `AWS KMS key ${keyId}: its public key does not parse`, {
      cause: err,
    });
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'secp256k1' || jwk.x === undefined || jwk.y === undefined) {
    throw new CofreError(
      'COFRE_SIGNER_KEY_INVALID',
      `AWS KMS key ${keyId}: its public key is not on secp256k1`,
    );
  }
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  return hexToBytes(`0x04${x.toString('hex').padStart(64, '0')}${y.toString('hex').padStart(64, '0')}`);
}
