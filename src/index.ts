/**
 * cofre's public library API. Everything else under `src/` is internal and may change without notice.
 * Listed by name, never `export *`, so nothing internal leaks into the API by accident.
 */
export { type CofreConfig } from './config/config-schema.js';
export { loadConfig, parseConfig } from './config/load-config.js';
export { CofreError, errorCatalogue, type ErrorCategory, type ErrorCode, isCofreError } from './errors.js';
export { EmbeddedBackend } from './secrets/embedded/embedded-backend.js';
export { type KeySource } from './secrets/embedded/key-source.js';
export { openBackend, openResolver } from './secrets/open-backend.js';
export type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  SecretVersionInfo,
  WriteOptions,
} from './secrets/secret-backend.js';
export {
  formatSecretReference,
  parseSecretReference,
  type SecretReference,
  type Stage,
  type VersionSelector,
} from './secrets/secret-reference.js';
export {
  type CachePolicy,
  type SecretChange,
  SecretResolver,
  type SecretResolverOptions,
} from './secrets/secret-resolver.js';
export { SecretValue } from './secrets/secret-value.js';
