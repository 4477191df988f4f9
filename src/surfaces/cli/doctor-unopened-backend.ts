import type { CofreError } from '../../errors.js';
import type { SecretBackend, SecretMetadata, SecretRecord } from '../../secrets/secret-backend.js';

/**
 * Stands in for a backend `cofre doctor` could not open (unreachable Vault while detecting the KV version, a store
 * whose key does not decrypt it, no AWS region): every operation fails with the error the opening failed with, so
 * each reference into it reports the real reason instead of "backend not configured", and the backends check
 * reports the backend itself as failed.
 */
export class UnopenedBackend implements SecretBackend {
  readonly name: string;
  readonly type: string;
  readonly capabilities = Object.freeze({
    binary: false,
    write: false,
    listVersions: false,
    stages: false,
    delete: false,
  });
  /** Why it could not be opened (a {@link CofreError}: code and message, never a value). */
  readonly openError: CofreError;

  constructor(name: string, type: string, openError: CofreError) {
    this.name = name;
    this.type = type;
    this.openError = openError;
  }

  read(): Promise<SecretRecord> {
    return Promise.reject(this.openError);
  }
  describe(): Promise<SecretMetadata> {
    return Promise.reject(this.openError);
  }
  list(): Promise<readonly string[]> {
    return Promise.reject(this.openError);
  }
  write(): Promise<string> {
    return Promise.reject(this.openError);
  }
  moveStage(): Promise<void> {
    return Promise.reject(this.openError);
  }
  clearStage(): Promise<void> {
    return Promise.reject(this.openError);
  }
  remove(): Promise<void> {
    return Promise.reject(this.openError);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
