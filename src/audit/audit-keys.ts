/**
 * The audit log's two keys (issue 10), read through the secret backends like any credential: the Ed25519 key that
 * signs checkpoints (`audit.signingKey`) and the key that HMACs secret identifiers in records (`audit.hmacKey`).
 * `cofre init` creates both in its embedded store ({@link createAuditKeys}).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

import type { CofreConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import type { SecretBackend } from '../secrets/secret-backend.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import { SecretValue } from '../secrets/secret-value.js';
import { keyIdOf } from './audit-format.js';

/** Shortest `audit.hmacKey` accepted, in bytes: the HMAC-SHA256 block's worth of strength. */
export const AUDIT_HMAC_KEY_MIN_BYTES = 32;

/** Where `cofre init` stores the audit keys in its embedded store (backend `local`). */
export const AUDIT_SIGNING_KEY_PATH = 'audit/signing-key';
export const AUDIT_HMAC_KEY_PATH = 'audit/hmac-key';

/** One read of an audit key at start, for the `secret-access` record the runtime writes once its log is open. */
export interface AuditKeyRead {
  /** The reference as configured. Record only its HMAC. */
  readonly reference: string;
  readonly version: string;
  readonly purpose: 'audit-signing-key' | 'audit-hmac-key';
}

/** The audit keys a config names, read and checked. */
export interface AuditKeys {
  /** The checkpoint signing key (Ed25519 private); undefined without `audit.signingKey`. */
  readonly signingKey?: KeyObject;
  /** The HMAC key (a copy the caller owns and should zero); undefined without `audit.hmacKey`. */
  readonly hmacKey?: Buffer;
  /** What was read, to be recorded as `secret-access` records. */
  readonly reads: readonly AuditKeyRead[];
}

/**
 * Reads `audit.signingKey` and `audit.hmacKey` through `resolver`. Throws `COFRE_AUDIT_KEY_INVALID` for a signing
 * key that is not an Ed25519 private key in PKCS#8 PEM or an HMAC key under {@link AUDIT_HMAC_KEY_MIN_BYTES}; the
 * resolver's own errors (missing secret, unreachable backend) pass through, naming the reference only. The secret
 * values read are zeroed before this returns.
 */
export async function loadAuditKeys(
  config: Pick<CofreConfig, 'audit'>,
  resolver: Pick<SecretResolver, 'resolveRecord'>,
): Promise<AuditKeys> {
  const { signingKey: signingRef, hmacKey: hmacRef } = config.audit;
  const reads: AuditKeyRead[] = [];
  let signingKey: KeyObject | undefined;
  let hmacKey: Buffer | undefined;
  if (signingRef !== undefined) {
    const read = await readSigningKey(signingRef, resolver);
    signingKey = read.key;
    reads.push({ reference: signingRef, version: read.version, purpose: 'audit-signing-key' });
  }
  if (hmacRef !== undefined) {
    const record = await resolver.resolveRecord(hmacRef);
    try {
      if (record.value.length < AUDIT_HMAC_KEY_MIN_BYTES) {
        throw new CofreError(
          'COFRE_AUDIT_KEY_INVALID',
          `audit.hmacKey ${hmacRef} holds ${record.value.length} bytes; it needs at least ${AUDIT_HMAC_KEY_MIN_BYTES} random bytes`,
        );
      }
      hmacKey = Buffer.from(record.value.bytes());
    } finally {
      record.value.zero();
    }
    reads.push({ reference: hmacRef, version: record.version, purpose: 'audit-hmac-key' });
  }
  return {
    ...(signingKey === undefined ? {} : { signingKey }),
    ...(hmacKey === undefined ? {} : { hmacKey }),
    reads,
  };
}

/**
 * The checkpoint signing key at `reference` and the version read; `COFRE_AUDIT_KEY_INVALID` unless it is an Ed25519
 * private key in PKCS#8 PEM. The secret value is zeroed before this returns.
 */
export async function readSigningKey(
  reference: string,
  resolver: Pick<SecretResolver, 'resolveRecord'>,
): Promise<{ readonly key: KeyObject; readonly version: string }> {
  const record = await resolver.resolveRecord(reference);
  try {
    return { key: signingKeyOf(record.value, reference), version: record.version };
  } finally {
    record.value.zero();
  }
}

/** The Ed25519 private key in `value` (PKCS#8 PEM), or `COFRE_AUDIT_KEY_INVALID` naming the reference. */
function signingKeyOf(value: SecretValue, reference: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: value.bytes(), format: 'pem' });
  } catch {
    // The parser's message is dropped: it may quote part of the value.
    throw new CofreError(
      'COFRE_AUDIT_KEY_INVALID',
      `audit.signingKey ${reference} is not a private key in PEM; it must be an Ed25519 private key in PKCS#8 PEM (\`cofre init\` creates one)`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CofreError(
      'COFRE_AUDIT_KEY_INVALID',
      `audit.signingKey ${reference} is a ${key.asymmetricKeyType ?? 'unknown'} key; checkpoints are signed with Ed25519 only`,
    );
  }
  return key;
}

/** The public half of a checkpoint key, as an operator pins it: SPKI PEM and its keyId. */
export interface AuditPublicKey {
  readonly pem: string;
  readonly keyId: string;
}

/** The SPKI PEM and keyId ({@link keyIdOf}) of the public half of `signingKey`. Pure. */
export function auditPublicKeyOf(signingKey: KeyObject): AuditPublicKey {
  const publicKey = createPublicKey(signingKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: keyIdOf(der) };
}

/**
 * Creates a new checkpoint signing key (Ed25519, PKCS#8 PEM) at {@link AUDIT_SIGNING_KEY_PATH} and 32 random bytes
 * at {@link AUDIT_HMAC_KEY_PATH} in `backend`, for `cofre init` and `cofre demo`. Returns the public key to print.
 */
export async function createAuditKeys(backend: SecretBackend): Promise<AuditPublicKey> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = SecretValue.adopt(Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })));
  const hmac = SecretValue.adopt(randomBytes(AUDIT_HMAC_KEY_MIN_BYTES));
  try {
    await backend.write(AUDIT_SIGNING_KEY_PATH, pem);
    await backend.write(AUDIT_HMAC_KEY_PATH, hmac);
  } finally {
    pem.zero();
    hmac.zero();
  }
  return auditPublicKeyOf(privateKey);
}
