import type { KeyObject } from 'node:crypto';

import type { AuditConfig } from '../config/config-schema.js';
import type { PrivateFileFixed } from '../config/private-file.js';
import { type AuditLogReporter, ChainedAuditLog } from './chained-audit-log.js';
import { createWitnesses } from './witness-sink.js';

/** What {@link openAuditLog} needs besides the config: what the caller resolved and where it reports. */
export interface OpenAuditLogOptions {
  /**
   * The Ed25519 private key of `audit.signingKey`, resolved by the caller from its secret reference (a `KeyObject`,
   * or the PKCS#8 PEM bytes as stored). Undefined: checkpoints are written `unsigned`.
   */
  readonly signingKey?: KeyObject | Buffer | undefined;
  /** A pino logger fits. */
  readonly reporter?: AuditLogReporter;
  readonly onModeFixed?: (fixed: PrivateFileFixed) => void;
  /** Where a `stdout` witness writes; `process.stderr` where stdout carries a protocol or a command's output. */
  readonly stdout?: NodeJS.WritableStream;
}

/**
 * The audit log of a config: the hash-chained writer on `audit.path` with the checkpoints, rotation and witnesses
 * the config asks for. Throws `COFRE_CONFIG_INVALID` for a signing key that is not Ed25519 or a plain-http witness
 * beyond loopback; I/O errors surface at the first append as `COFRE_AUDIT_UNAVAILABLE`.
 */
export function openAuditLog(audit: AuditConfig, options: OpenAuditLogOptions = {}): ChainedAuditLog {
  const { stdout, ...rest } = options;
  return new ChainedAuditLog(audit, {
    ...rest,
    witnesses: createWitnesses(audit.witnesses, stdout === undefined ? {} : { stdout }),
  });
}
