import { createPublicKey, type KeyObject, verify } from 'node:crypto';

import { CofreError } from '../errors.js';
import { checkpointMessage, keyIdOf } from './audit-format.js';

/** The key checkpoints are checked against, and where it came from. */
export interface CheckpointKey {
  readonly key: KeyObject;
  readonly keyId: string;
  /** `pinned`: given by the operator (`--public-key`); `genesis`: read from the log's own genesis record. */
  readonly source: 'pinned' | 'genesis';
}

/** Reads an Ed25519 public key (SPKI PEM); a bad one is `COFRE_INPUT_INVALID` naming `what`. */
export function checkpointKeyFromPem(
  pem: string | Buffer,
  source: CheckpointKey['source'],
  what: string,
): CheckpointKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new CofreError('COFRE_INPUT_INVALID', `${what} is not a public key in PEM (SPKI) form`, {
      cause: err,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `${what} is a ${key.asymmetricKeyType ?? 'unknown'} key; checkpoints are signed with Ed25519`,
    );
  }
  return { key, keyId: keyIdOf(key.export({ type: 'spki', format: 'der' })), source };
}

/** The fields of a checkpoint that its signature covers, with the signature. */
export interface SignedCheckpoint {
  readonly logId: string;
  readonly seq: number;
  readonly head: string;
  readonly ts: string;
  readonly signature: string;
}

/**
 * Whether `signature` is a valid Ed25519 signature by `key` over the checkpoint's message.
 *
 * SECURITY: the base64 must be canonical: Node's decoder skips characters outside the alphabet and ignores the
 * unused low bits of the last character, so without this check an edited signature string could still verify.
 */
export function checkpointSignatureValid(checkpoint: SignedCheckpoint, key: KeyObject): boolean {
  const signature = Buffer.from(checkpoint.signature, 'base64');
  if (signature.length !== 64 || signature.toString('base64') !== checkpoint.signature) return false;
  return verify(null, checkpointMessage(checkpoint), key, signature);
}
