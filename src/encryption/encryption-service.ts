import type { Logger } from 'pino';

import type { AuditedSecrets } from '../broker/audited-secrets.js';
import type { CofreConfig } from '../config/config-schema.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';

/**
 * Issue 19: encryption as a service. The keys (OpenBao/Vault Transit, AWS KMS, embedded) live behind it in
 * src/encryption; the broker calls it from its send step (src/broker/broker-encryption.ts).
 *
 * CONTRACT (h-crypt implements and may extend; keep the names).
 */
export interface EncryptionService {
  /** Configured key names. */
  readonly names: readonly string[];
  close(): Promise<void>;
}

/** What opening the keys needs. */
export interface EncryptionServiceDependencies {
  /** The secret resolver, for Transit's backend (its address and login) and embedded keys. */
  readonly resolver: SecretResolver;
  /** Audited secret reads (embedded keys). The caller zeroes each value. */
  readonly secrets: Pick<AuditedSecrets, 'read'>;
  readonly logger: Logger;
}

/**
 * The encryption keys of `config`, or undefined when none is configured.
 *
 * CONTRACT STUB (h-crypt implements).
 */
export function openEncryption(
  config: CofreConfig,
  _deps: EncryptionServiceDependencies,
): EncryptionService | undefined {
  if (Object.keys(config.encryptionKeys).length === 0) return undefined;
  throw new Error('encryption: not implemented yet (issue 19, h-crypt)');
}
