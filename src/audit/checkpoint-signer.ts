/**
 * Signs checkpoints of the audit chain with the Ed25519 key of `audit.signingKey` (see `checkpointMessage`).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';

import { CofreError } from '../errors.js';
import { type CheckpointFields, checkpointMessage, keyIdOf } from './audit-format.js';

/**
 * Holds the private key and what records say about it. Safe to call concurrently (pure).
 *
 * SECURITY: the private key stays in this object (a `KeyObject`, never exported); records carry only its public key
 * (genesis), its id and signatures.
 */
export class CheckpointSigner {
  readonly #key: KeyObject;
  /** {@link keyIdOf} the public key. */
  readonly keyId: string;
  /** The public key, SPKI PEM, as the genesis record carries it. */
  readonly publicKeyPem: string;

  /** `key`: an Ed25519 private key, as a `KeyObject` or PKCS#8 PEM bytes. */
  constructor(key: KeyObject | Buffer) {
    let privateKey: KeyObject;
    try {
      privateKey = Buffer.isBuffer(key) ? createPrivateKey(key) : key;
    } catch (err) {
      throw notEd25519('it is not a PEM private key', err);
    }
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
      throw notEd25519(`it is a ${privateKey.asymmetricKeyType ?? privateKey.type} ${privateKey.type} key`);
    }
    this.#key = privateKey;
    const publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The signed fields of the checkpoint at `seq` (its own seq = `count`) vouching for `head`, written at `ts`. */
  fields(c: { logId: string; seq: number; head: string; ts: string }): CheckpointFields {
    const signature = sign(null, checkpointMessage(c), this.#key).toString('base64');
    return { head: c.head, count: c.seq, keyId: this.keyId, signature };
  }
}

/** The fields of an unsigned checkpoint (no signing key configured). */
export function unsignedCheckpoint(c: { seq: number; head: string }): CheckpointFields {
  return { head: c.head, count: c.seq, unsigned: true };
}

function notEd25519(why: string, cause?: unknown): CofreError {
  return new CofreError(
    'COFRE_CONFIG_INVALID',
    `audit.signingKey must be an Ed25519 private key (PKCS#8 PEM), but ${why}; \`cofre init\` creates one`,
    cause === undefined ? {} : { cause },
  );
}
