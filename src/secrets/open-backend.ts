import type { BackendCacheConfig, BackendConfig, EmbeddedBackendConfig } from '../config/backend-config.js';
import type { CofreConfig } from '../config/config-schema.js';
import type { DeepReadonly } from '../config/deep-freeze.js';
import { CofreError } from '../errors.js';
import type { BackendLog } from './backend-log.js';
import type { KeySource } from './embedded/key-source.js';
import type { SecretBackend } from './secret-backend.js';
import { type CachePolicy, SecretResolver } from './secret-resolver.js';

/** What opening a backend may need from the process that opens it. */
export interface OpenBackendOptions {
  /** No-echo terminal prompt, for `passphrasePrompt` stores; absent in non-interactive processes. */
  readonly promptPassphrase?: (question: string) => Promise<Buffer>;
  /** Where backends log (token renewals, retries, warnings); nothing is logged without it. */
  readonly log?: BackendLog;
}

/**
 * Opens one configured backend. Implementations are imported lazily, so a process loads only the SDKs of the
 * backends it uses and `cofre --help` stays fast.
 */
export async function openBackend(
  name: string,
  config: DeepReadonly<BackendConfig>,
  options: OpenBackendOptions = {},
): Promise<SecretBackend> {
  // One case per backend type; the compiler checks the switch is exhaustive as types are added.
  switch (config.type) {
    case 'embedded': {
      const { EmbeddedBackend } = await import('./embedded/embedded-backend.js');
      return EmbeddedBackend.open(config.path, embeddedKeySource(name, config, options), { name });
    }
    case 'vault': {
      const { VaultBackend } = await import('./vault/vault-backend.js');
      return VaultBackend.open(name, config, options.log === undefined ? {} : { log: options.log });
    }
    case 'aws-secrets-manager': {
      const { AwsSecretsManagerBackend } =
        await import('./aws-secrets-manager/aws-secrets-manager-backend.js');
      return AwsSecretsManagerBackend.open({
        name,
        maxAttempts: config.maxAttempts,
        requestTimeoutMs: config.requestTimeout,
        maxResponseBytes: config.maxResponseSize,
        ...(config.region === undefined ? {} : { region: config.region }),
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        ...(config.profile === undefined ? {} : { profile: config.profile }),
        ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
        ...(config.recoveryWindowDays === undefined ? {} : { recoveryWindowDays: config.recoveryWindowDays }),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    }
    case 'azure-key-vault': {
      const { AzureKeyVaultBackend } = await import('./azure-key-vault/azure-key-vault-backend.js');
      return AzureKeyVaultBackend.open(name, config, options.log === undefined ? {} : { log: options.log });
    }
  }
}

/** The resolver over every configured backend, each with its configured cache policy; it logs to `options.log`. */
export async function openResolver(
  config: CofreConfig,
  options: OpenBackendOptions = {},
): Promise<SecretResolver> {
  const entries = Object.entries(config.backends);
  const backends = await Promise.all(entries.map(([name, backend]) => openBackend(name, backend, options)));
  const cache: Record<string, CachePolicy> = {};
  for (const [name, backend] of entries) cache[name] = cachePolicyOf(backend.cache);
  return new SecretResolver({ backends, cache, ...(options.log === undefined ? {} : { log: options.log }) });
}

/** The resolver's cache policy for a backend's `cache` block (an unset `refreshAhead` leaves the resolver's default). */
export function cachePolicyOf(cache: DeepReadonly<BackendCacheConfig>): CachePolicy {
  return {
    ttlMs: cache.ttl,
    staleIfErrorMs: cache.staleIfError,
    ...(cache.refreshAhead === undefined ? {} : { refreshAheadMs: cache.refreshAhead }),
  };
}

/** The key source an embedded backend's config names (the schema guarantees exactly one is set). */
export function embeddedKeySource(
  name: string,
  config: Pick<EmbeddedBackendConfig, 'keyFile' | 'passphraseFile' | 'passphrasePrompt'>,
  options: OpenBackendOptions = {},
): KeySource {
  if (config.keyFile !== undefined) return { kind: 'key-file', path: config.keyFile };
  if (config.passphraseFile !== undefined) return { kind: 'passphrase-file', path: config.passphraseFile };
  const prompt = options.promptPassphrase;
  if (prompt === undefined) {
    throw new CofreError(
      'COFRE_PASSPHRASE_REQUIRED',
      `backend "${name}" asks for a passphrase, but this process has no terminal; use passphraseFile instead`,
    );
  }
  return { kind: 'passphrase-prompt', prompt: () => prompt(`Passphrase for secret store "${name}": `) };
}
