import { CofreError } from '../errors.js';
import type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  WriteOptions,
} from '../secrets/secret-backend.js';
import type { Stage, VersionSelector } from '../secrets/secret-reference.js';
import type { SecretValue } from '../secrets/secret-value.js';

interface StoredVersion {
  readonly version: string;
  readonly createdAt: Date;
  readonly value: SecretValue;
}

interface StoredSecret {
  readonly createdAt: Date;
  readonly versions: StoredVersion[];
  readonly stages: Partial<Record<Stage, string>>;
  nextVersion: number;
}

/**
 * A process-local {@link SecretBackend} for tests of code that *uses* secrets (the resolver, the broker). It passes
 * the conformance suite like every real backend, and it can be switched to fail as an unreachable backend would
 * (`unavailable = true`) to exercise stale-if-error. `reads` counts backend reads, to observe caching.
 *
 * Not for production: values live in this process's heap only.
 */
export class MemoryBackend implements SecretBackend {
  readonly type = 'memory';
  readonly capabilities: BackendCapabilities = {
    binary: true,
    write: true,
    listVersions: true,
    stages: true,
    delete: true,
  };
  /** Number of `read` calls that reached this backend. */
  reads = 0;
  /** When true, every call fails with the retryable `COFRE_BACKEND_UNAVAILABLE`. */
  unavailable = false;
  /** Artificial latency of `read` in ms, so concurrent callers overlap. */
  readDelayMs = 0;

  readonly #secrets = new Map<string, StoredSecret>();

  constructor(readonly name: string) {}

  async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    this.reads++;
    if (this.readDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.readDelayMs));
    const secret = this.#get(path);
    let version: string | undefined;
    switch (selector.kind) {
      case 'latest':
        version = secret.stages.current;
        break;
      case 'version':
        version = selector.version;
        break;
      case 'stage':
        version = secret.stages[selector.stage];
        break;
    }
    const found = secret.versions.find((v) => v.version === version);
    if (found === undefined) {
      throw new CofreError('COFRE_SECRET_NOT_FOUND', `secret "${path}" has no such version or stage`, {
        details: { path },
      });
    }
    return { value: found.value.clone(), version: found.version, createdAt: found.createdAt };
  }

  // Methods are `async` so that #get/#check throwing becomes a rejection, as callers of the contract expect.
  // eslint-disable-next-line @typescript-eslint/require-await
  async describe(path: string): Promise<SecretMetadata> {
    const secret = this.#get(path);
    return {
      path,
      createdAt: secret.createdAt,
      versions: secret.versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        stages: (Object.keys(secret.stages) as Stage[]).filter((s) => secret.stages[s] === v.version),
      })),
      stages: { ...secret.stages },
    };
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async list(): Promise<readonly string[]> {
    this.#check();
    return [...this.#secrets.keys()].sort();
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async write(path: string, value: SecretValue, options: WriteOptions = {}): Promise<string> {
    this.#check();
    let secret = this.#secrets.get(path);
    if (secret === undefined) {
      secret = { createdAt: new Date(), versions: [], stages: {}, nextVersion: 1 };
      this.#secrets.set(path, secret);
    }
    const version = String(secret.nextVersion++);
    secret.versions.push({ version, createdAt: new Date(), value: value.clone() });
    if (options.stage === 'pending') {
      secret.stages.pending = version;
    } else {
      const current = secret.stages.current;
      if (current !== undefined) secret.stages.previous = current;
      secret.stages.current = version;
    }
    return version;
  }

  /** See {@link SecretBackend.clearStage}: the version stays, unstaged. */
  // eslint-disable-next-line @typescript-eslint/require-await
  async clearStage(path: string, stage: 'pending' | 'previous'): Promise<void> {
    const secret = this.#get(path);
    if (stage === 'pending') delete secret.stages.pending;
    else delete secret.stages.previous;
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async moveStage(path: string, stage: Stage, version: string): Promise<void> {
    const secret = this.#get(path);
    if (!secret.versions.some((v) => v.version === version)) {
      throw new CofreError('COFRE_SECRET_NOT_FOUND', `secret "${path}" has no version ${version}`, {
        details: { path },
      });
    }
    const current = secret.stages.current;
    if (stage === 'current') {
      if (current !== undefined && current !== version) secret.stages.previous = current;
      if (secret.stages.pending === version) delete secret.stages.pending;
    }
    secret.stages[stage] = version;
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async remove(path: string): Promise<void> {
    const secret = this.#get(path);
    for (const v of secret.versions) v.value.zero();
    this.#secrets.delete(path);
  }

  async close(): Promise<void> {
    // Nothing to release.
  }

  #check(): void {
    if (this.unavailable) {
      throw new CofreError('COFRE_BACKEND_UNAVAILABLE', `secret backend "${this.name}" is unavailable`);
    }
  }

  #get(path: string): StoredSecret {
    this.#check();
    const secret = this.#secrets.get(path);
    if (secret === undefined) {
      throw new CofreError('COFRE_SECRET_NOT_FOUND', `secret "${path}" not found in backend "${this.name}"`, {
        details: { path },
      });
    }
    return secret;
  }
}
