import type { Stage, VersionSelector } from './secret-reference.js';
import type { SecretValue } from './secret-value.js';

/** One version of a secret as the backend stores it. */
export interface SecretVersionInfo {
  /** Backend-native version id (`"3"` in Vault KV v2 and the embedded store, a UUID in AWS, 32 hex in Azure). */
  readonly version: string;
  readonly createdAt: Date;
  /** When the version's properties last changed, where the backend says (Azure Key Vault's `updated`). */
  readonly updatedAt?: Date;
  /** cofre stages this version holds (a version may hold none). */
  readonly stages: readonly Stage[];
  /** True when the backend keeps the version but it cannot be read (deleted, destroyed, disabled). */
  readonly deleted?: boolean;
}

/** What a backend knows about a secret, without its value. */
export interface SecretMetadata {
  readonly path: string;
  readonly createdAt: Date;
  /** Oldest first. Backends that cannot list versions return only the current one. */
  readonly versions: readonly SecretVersionInfo[];
  /** The version holding each stage that is set. */
  readonly stages: Readonly<Partial<Record<Stage, string>>>;
}

/** A value read from a backend, with the version it came from. The receiver owns `value` and should zero it. */
export interface SecretRecord {
  readonly value: SecretValue;
  readonly version: string;
  readonly createdAt: Date;
  /**
   * Set by backends whose values expire (dynamic database credentials, Vault leases): the resolver never serves
   * the value past this instant, stale or not.
   */
  readonly expiresAt?: Date;
}

/** What optional operations a backend supports; the conformance suite exercises exactly these. */
export interface BackendCapabilities {
  /** Stores arbitrary bytes. Backends without it (Vault KV, Azure) store JSON objects or UTF-8 text only. */
  readonly binary: boolean;
  readonly write: boolean;
  readonly listVersions: boolean;
  readonly stages: boolean;
  readonly delete: boolean;
}

/** Options for {@link SecretBackend.write}. */
export interface WriteOptions {
  /** `current` (default) makes the new version live at once; `pending` stages it for rotation. */
  readonly stage?: 'current' | 'pending';
}

/**
 * The contract every secret backend implements: the embedded store, Vault/OpenBao, AWS Secrets Manager and Azure
 * Key Vault. `exerciseSecretBackend` in `cofre/testing` is its executable specification.
 *
 * Errors (always {@link CofreError}):
 * - `COFRE_SECRET_NOT_FOUND` when the path, version or stage does not exist;
 * - `COFRE_BACKEND_UNAVAILABLE` (retryable) when the backend cannot be reached or fails transiently;
 * - `COFRE_BACKEND_DENIED` when it refuses access;
 * - `COFRE_BACKEND_UNSUPPORTED` for an optional operation the backend lacks.
 * Messages name the path, never a value or credential.
 *
 * Implementations must be safe to call concurrently; the resolver adds caching and single-flight on top, so a
 * backend should not cache values itself.
 */
export interface SecretBackend {
  /** The backend's name in the config (the part before `:` in a reference). */
  readonly name: string;
  /** The config `type`, for messages and metrics. */
  readonly type: string;
  readonly capabilities: BackendCapabilities;

  /** Reads one version of a secret. The record's value is a fresh copy the caller owns. */
  read(path: string, selector: VersionSelector): Promise<SecretRecord>;
  /** Describes a secret: versions, stages, created time. */
  describe(path: string): Promise<SecretMetadata>;
  /** Lists secret paths (names only). */
  list(): Promise<readonly string[]>;
  /** Writes a new version and returns its id. The backend copies `value`; the caller may zero it after. */
  write(path: string, value: SecretValue, options?: WriteOptions): Promise<string>;
  /**
   * Moves `stage` to `version`. Moving `current` also moves the old current to `previous` and clears `pending`
   * when it pointed at `version` — the AWS Secrets Manager rotation model.
   */
  moveStage(path: string, stage: Stage, version: string): Promise<void>;
  /**
   * Takes `stage` (`pending` or `previous`, never `current`) off whatever version holds it; the version itself is
   * kept, unstaged. Does nothing when no version holds it. A rotation whose new version fails its test clears
   * `pending` this way (issue 12). `COFRE_BACKEND_UNSUPPORTED` where the backend has no stages.
   */
  clearStage(path: string, stage: 'pending' | 'previous'): Promise<void>;
  /** Deletes the secret and all its versions. */
  remove(path: string): Promise<void>;
  /**
   * Optional: calls `listener` with a path whenever values read from it stop being valid before their TTL (a
   * dynamic secret's lease ended or was replaced). The resolver subscribes and drops its cached copies. Returns an
   * unsubscribe function.
   */
  watch?(listener: (path: string) => void): () => void;
  /** Releases connections, leases and tokens. Safe to call twice. */
  close(): Promise<void>;
}
