import { z } from 'zod';

import { awsSecretsManagerBackendShape } from './aws-secrets-manager-config.js';
import { AZURE_CREDENTIAL_FILE_FIELDS, azureKeyVaultBackendShape } from './azure-key-vault-config.js';
import { durationSchema } from './duration.js';
import { refineVaultTransport, VAULT_AUTH_FILE_FIELDS, vaultBackendShape } from './vault-config.js';

/**
 * Secret backend configuration: one member of a union on `type` per backend kind.
 *
 * To add a kind (`vault`, `aws-secrets-manager`, `azure-key-vault`): define `<kind>BackendSchema` as
 * `backendObject('<kind>', { ... })`, add it to {@link backendConfigSchema}'s list, and list its file fields in
 * `fileFields` (the compiler points there). The shared `cache` block comes with `backendObject`.
 */

/** Cache settings every backend has: the resolver caches values per reference. */
export const backendCacheSchema = z
  .strictObject({
    ttl: durationSchema()
      .prefault('5m')
      .describe(
        'How long a resolved value is served from memory before the backend is asked again. Parsed to milliseconds.',
      ),
    staleIfError: durationSchema()
      .prefault('60s')
      .describe(
        'How long past `ttl` a cached value may still be served while the backend is failing; after that, requests fail closed. Parsed to milliseconds.',
      ),
    refreshAhead: durationSchema()
      .optional()
      .describe(
        'Refresh-ahead window: a cached value read less than this long before it expires is served at once while one background read replaces it; unused values are not refreshed. Default: the last fifth of `ttl` (`1m` for `5m`); `0` turns it off. Must be shorter than `ttl`. Parsed to milliseconds.',
      ),
  })
  .superRefine((cache, ctx) => {
    // A window as long as the TTL would start a backend read on every read of a fresh value.
    if (cache.refreshAhead === undefined || cache.refreshAhead === 0 || cache.refreshAhead < cache.ttl)
      return;
    ctx.addIssue({
      code: 'custom',
      path: ['refreshAhead'],
      message: 'refreshAhead must be shorter than ttl; lower it, or set 0 to turn refresh-ahead off',
    });
  })
  .describe('Value cache in front of this backend.');

/** Fields every backend kind shares, and strictness; `type` is the discriminator. */
function backendObject<Type extends string, Shape extends z.ZodRawShape>(
  type: Type,
  description: string,
  shape: Shape,
) {
  return z
    .strictObject({
      type: z.literal(type).describe(`Backend kind: \`${type}\`.`),
      ...shape,
      cache: backendCacheSchema.prefault({}),
    })
    .describe(description);
}

// Two to the power of 14 is the scrypt paper's interactive-login floor; lower would make a stolen store cheap to
// brute-force. The memory bound keeps a typo from asking for terabytes.
const SCRYPT_MIN_N = 2 ** 14;
const SCRYPT_MAX_N = 2 ** 24;
const SCRYPT_MAX_MEMORY = 2 ** 30;

/** scrypt cost parameters for a new embedded store. */
export const scryptParamsSchema = z
  .strictObject({
    N: z
      .int()
      .min(SCRYPT_MIN_N)
      .max(SCRYPT_MAX_N)
      // Out-of-range values are reported by min/max; one message per problem.
      .refine((n) => n < SCRYPT_MIN_N || n > SCRYPT_MAX_N || (n & (n - 1)) === 0, {
        error: 'N must be a power of two',
      })
      .describe(`CPU/memory cost; a power of two from ${SCRYPT_MIN_N} to ${SCRYPT_MAX_N}.`),
    r: z.int().min(1).max(32).describe('Block size.'),
    p: z.int().min(1).max(16).describe('Parallelism.'),
  })
  .superRefine((kdf, ctx) => {
    if (128 * kdf.N * kdf.r > SCRYPT_MAX_MEMORY) {
      ctx.addIssue({ code: 'custom', message: 'scrypt would need more than 1 GiB of memory (128 * N * r)' });
    }
  })
  .describe(
    'scrypt parameters used when cofre creates a new store protected by a passphrase; an existing store keeps the parameters it was written with.',
  );

const KEY_SOURCES = ['keyFile', 'passphraseFile', 'passphrasePrompt'] as const;

/** cofre's own encrypted file store. */
export const embeddedBackendSchema = backendObject(
  'embedded',
  "cofre's own encrypted secret store: one file, opened with a key file or a passphrase. Set exactly one of `keyFile`, `passphraseFile`, `passphrasePrompt`.",
  {
    path: z.string().min(1).describe('Store file. Relative paths resolve against the config file directory.'),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File holding the 32-byte store key (mode 600). Relative paths resolve against the config file directory.',
      ),
    passphraseFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File whose first line is the store passphrase (mode 600). Relative paths resolve against the config file directory.',
      ),
    passphrasePrompt: z
      .boolean()
      .optional()
      .describe('Ask for the passphrase on the terminal at start-up (interactive use only).'),
    kdf: scryptParamsSchema.optional(),
  },
).superRefine(
  (backend, ctx) => {
    // Runs even when other fields failed, so that every problem is reported at once; hence the defensive reads.
    const raw = backend as Partial<Record<(typeof KEY_SOURCES)[number], unknown>>;
    const set = KEY_SOURCES.filter((key) =>
      key === 'passphrasePrompt' ? raw[key] === true : raw[key] !== undefined,
    );
    if (set.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      message:
        set.length === 0
          ? 'no key source; set exactly one of keyFile, passphraseFile, passphrasePrompt: true'
          : `set exactly one key source, found ${set.join(' and ')}`,
      params: {
        hint: 'keyFile suits services; passphraseFile or passphrasePrompt suit a person at a terminal',
      },
    });
  },
  { when: () => true },
);

/** HashiCorp Vault or OpenBao, KV v1 or v2 (fields in `vault-config.ts`). */
export const vaultBackendSchema = backendObject(
  'vault',
  'HashiCorp Vault or OpenBao: a KV v1 or v2 mount. Reference paths are relative to `mount`: `vault:exchanges/binance#api_key`.',
  vaultBackendShape,
).superRefine(refineVaultTransport, { when: () => true });

/** AWS Secrets Manager (fields in `aws-secrets-manager-config.ts`). */
export const awsSecretsManagerBackendSchema = backendObject(
  'aws-secrets-manager',
  'AWS Secrets Manager. Reference paths are secret names or full ARNs: `aws:prod/binance#apiKey`. Credentials come from the AWS SDK default provider chain (IAM role, SSO, profile); there is no field for access keys.',
  awsSecretsManagerBackendShape,
);

/** Azure Key Vault (fields in `azure-key-vault-config.ts`). */
export const azureKeyVaultBackendSchema = backendObject(
  'azure-key-vault',
  'Azure Key Vault. Reference paths are secret names (letters, digits and dashes): `azure:binance-api#apiKey`. Credentials come from managed identity, workload identity, a service principal whose secret or certificate is in a file, or the SDK default chain; there is no field for a secret.',
  azureKeyVaultBackendShape,
);

/** Every backend kind; add new kinds to this list. */
export const backendConfigSchema = z.discriminatedUnion('type', [
  embeddedBackendSchema,
  vaultBackendSchema,
  awsSecretsManagerBackendSchema,
  azureKeyVaultBackendSchema,
]);

/** Backend kinds cofre knows, in the order they are documented. */
export const BACKEND_TYPES = backendConfigSchema.options.map((option) => option.shape.type.value);

export type BackendCacheConfig = z.output<typeof backendCacheSchema>;
export type ScryptParams = z.output<typeof scryptParamsSchema>;
export type EmbeddedBackendConfig = z.output<typeof embeddedBackendSchema>;
export type VaultBackendConfig = z.output<typeof vaultBackendSchema>;
export type AwsSecretsManagerBackendConfig = z.output<typeof awsSecretsManagerBackendSchema>;
export type AzureKeyVaultBackendConfig = z.output<typeof azureKeyVaultBackendSchema>;
export type BackendConfig = z.output<typeof backendConfigSchema>;
export type BackendType = BackendConfig['type'];

type StringKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends string ? K : never }[keyof T] & string;

// Which fields of each backend kind name files. The compiler rejects this map until a new kind is listed here.
const fileFields: {
  readonly [Type in BackendType]: readonly StringKeys<Extract<BackendConfig, { type: Type }>>[];
} = {
  embedded: ['path', 'keyFile', 'passphraseFile'],
  vault: ['caFile'],
  'aws-secrets-manager': [],
  'azure-key-vault': [],
};

/**
 * Returns a copy of `backend` with its file paths passed through `resolve` (the loader resolves them against the
 * config file directory). Pure.
 */
export function resolveBackendPaths(
  backend: BackendConfig,
  resolve: (path: string) => string,
): BackendConfig {
  const copy: Record<string, unknown> = { ...backend };
  for (const field of fileFields[backend.type]) {
    const value = copy[field];
    if (typeof value === 'string') copy[field] = resolve(value);
  }
  // Nested file fields: the credential files of the vault backend's `auth` block and the azure `credential`.
  if (backend.type === 'vault') {
    const auth: Record<string, unknown> = { ...backend.auth };
    for (const field of VAULT_AUTH_FILE_FIELDS) {
      const value = auth[field];
      if (typeof value === 'string') auth[field] = resolve(value);
    }
    copy['auth'] = auth;
  }
  if (backend.type === 'azure-key-vault') {
    const credential: Record<string, unknown> = { ...backend.credential };
    for (const field of AZURE_CREDENTIAL_FILE_FIELDS) {
      const value = credential[field];
      if (typeof value === 'string') credential[field] = resolve(value);
    }
    copy['credential'] = credential;
  }
  return copy as BackendConfig;
}
