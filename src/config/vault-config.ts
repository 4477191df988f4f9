import { z } from 'zod';

import { byteSizeSchema } from './byte-size.js';
import { durationSchema } from './duration.js';
import { type Environment, readEnv } from './read-env.js';

/**
 * Config of the `vault` backend (HashiCorp Vault or OpenBao KV v1/v2). The backend object itself is assembled in
 * `backend-config.ts` with `backendObject('vault', …)` from {@link vaultBackendShape}.
 */

const mountName = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, {
    error: 'a mount path like "secret" or "team/kv" (no leading or trailing "/")',
  });

const fileField = (what: string) =>
  z
    .string()
    .min(1)
    .describe(`File holding ${what}. Relative paths resolve against the config file directory.`);

/** `token`: a token cofre did not create (never revoked by cofre). */
export const vaultTokenAuthSchema = z
  .strictObject({
    method: z.literal('token').describe('Authenticate with an existing token read from a file.'),
    tokenFile: fileField(
      'the Vault token (for example a Vault Agent sink). Re-read at each re-login, so an agent may rotate it',
    ),
  })
  .describe('A token from a file. cofre renews it when it is renewable but never revokes it.');

/** `approle`: role_id plus a secret_id, plain or response-wrapped. */
export const vaultAppRoleAuthSchema = z
  .strictObject({
    method: z.literal('approle').describe('Authenticate with AppRole.'),
    mount: mountName.default('approle').describe('Mount path of the AppRole auth method.'),
    role: z
      .string()
      .min(1)
      .optional()
      .describe(
        'AppRole role name. Required with `wrappedSecretIdFile`: the wrapping token must come from `auth/<mount>/role/<role>/secret-id`.',
      ),
    roleIdFile: fileField('the role_id'),
    secretIdFile: fileField('the secret_id').optional(),
    wrappedSecretIdFile: fileField(
      'a single-use response-wrapping token that wraps the secret_id (secret-zero delivery). cofre unwraps it at its first login and keeps the secret_id in memory only, so each start needs a fresh wrapped secret_id in this file',
    ).optional(),
  })
  .superRefine(
    (auth, ctx) => {
      const raw = auth as Partial<Record<string, unknown>>;
      const plain = raw['secretIdFile'] !== undefined;
      const wrapped = raw['wrappedSecretIdFile'] !== undefined;
      if (plain === wrapped) {
        ctx.addIssue({
          code: 'custom',
          message: plain
            ? 'set either secretIdFile or wrappedSecretIdFile, not both'
            : 'no secret_id source; set secretIdFile or wrappedSecretIdFile',
        });
      }
      if (wrapped && raw['role'] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['role'],
          message: 'wrappedSecretIdFile needs role, to check where the wrapping token was created',
        });
      }
    },
    { when: () => true },
  )
  .describe('AppRole login with a role_id and a secret_id (plain, or response-wrapped).');

/** `kubernetes`: the pod's service-account token. */
export const vaultKubernetesAuthSchema = z
  .strictObject({
    method: z.literal('kubernetes').describe('Authenticate with a Kubernetes service-account token.'),
    mount: mountName.default('kubernetes').describe('Mount path of the Kubernetes auth method.'),
    role: z.string().min(1).describe('Role of the Kubernetes auth method.'),
    jwtFile: fileField('the service-account token').default(
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
    ),
  })
  .describe('Kubernetes auth: logs in with the service-account JWT; re-read at each login.');

/** `jwt`: any signed JWT the JWT auth method trusts (CI identity tokens, workload identity). */
export const vaultJwtAuthSchema = z
  .strictObject({
    method: z.literal('jwt').describe('Authenticate with a signed JWT.'),
    mount: mountName.default('jwt').describe('Mount path of the JWT/OIDC auth method.'),
    role: z.string().min(1).describe('Role of the JWT auth method (`role_type=jwt`).'),
    jwtFile: fileField('the JWT; re-read at each login so a short-lived token may be refreshed on disk'),
  })
  .describe('JWT auth: logs in with a JWT read from a file.');

/** How cofre logs in to Vault; one member per `method`. */
export const vaultAuthConfigSchema = z
  .discriminatedUnion('method', [
    vaultTokenAuthSchema,
    vaultAppRoleAuthSchema,
    vaultKubernetesAuthSchema,
    vaultJwtAuthSchema,
  ])
  .describe('How cofre logs in: `token`, `approle`, `kubernetes` or `jwt`.');

export const vaultRetrySchema = z
  .strictObject({
    maxAttempts: z
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe(
        'Attempts in total for a request failing transiently (connection error, 5xx, 429); 1 disables retries.',
      ),
    baseDelay: durationSchema()
      .prefault('100ms')
      .describe(
        'Upper bound of the first backoff; doubles each retry (full jitter). Parsed to milliseconds.',
      ),
    maxDelay: durationSchema()
      .prefault('1s')
      .describe('Upper bound of any one backoff. Parsed to milliseconds.'),
    maxElapsed: durationSchema()
      .prefault('2s')
      .describe('No retry starts once a request has taken this long in total. Parsed to milliseconds.'),
  })
  .describe('Retries of transient failures. 4xx answers other than 429 are never retried.');

export const vaultCircuitBreakerSchema = z
  .strictObject({
    failureThreshold: z
      .int()
      .min(1)
      .max(1_000)
      .default(5)
      .describe('Consecutive transient failures after which requests fail fast.'),
    resetTimeout: durationSchema()
      .prefault('10s')
      .describe(
        'How long requests fail fast before one probe request is let through. Parsed to milliseconds.',
      ),
  })
  .describe(
    'Circuit breaker: a down Vault costs one fast failure per request instead of timeouts and retries.',
  );

/** The fields of the `vault` backend (besides `type` and `cache`). */
export const vaultBackendShape = {
  address: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'Server URL without `/v1`, e.g. `https://vault.example.com:8200`. Default: `BAO_ADDR`, else `VAULT_ADDR`. `http://` only to a loopback host (`127.0.0.0/8`, `localhost`, `[::1]`) unless `insecureHttp` is set.',
    ),
  namespace: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Namespace (Vault Enterprise, OpenBao), sent as `X-Vault-Namespace`. Default: `BAO_NAMESPACE`, else `VAULT_NAMESPACE`.',
    ),
  mount: mountName
    .default('secret')
    .describe(
      'Mount path of the KV secrets engine. Reference paths are relative to it: `vault:exchanges/binance#api_key`.',
    ),
  kvVersion: z
    .union([z.literal(1), z.literal(2)])
    .optional()
    .describe(
      'KV engine version of the mount. When absent cofre detects it from `sys/internal/ui/mounts/<mount>`; when set, cofre checks it there if the policy allows.',
    ),
  auth: vaultAuthConfigSchema,
  insecureHttp: z
    .boolean()
    .default(false)
    .describe(
      'Allow a plain `http://` address that is not loopback. Off by default: over plain HTTP the token, the secret_id or JWT at login and every secret read cross the network in clear. Only for a link protected otherwise (a service mesh with mTLS, a WireGuard tunnel). `cofre doctor` flags a backend with this set.',
    ),
  maxResponseSize: byteSizeSchema({ min: 4096, max: 64 * 1024 ** 2 })
    .prefault('1MiB')
    .describe(
      'Largest answer read from Vault: bytes, or a size like "1MiB". Parsed to bytes. A bigger answer is refused unread (`COFRE_BACKEND_RESPONSE_TOO_LARGE`): credentials are a few hundred bytes, and 1 MiB holds a LIST of about ten thousand paths.',
    ),
  caFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM file of the CA that signed the server certificate (https only). Default: `BAO_CACERT`, else `VAULT_CACERT`, else the system CAs. Relative paths resolve against the config file directory.',
    ),
  timeout: durationSchema().prefault('10s').describe('Timeout of one HTTP request. Parsed to milliseconds.'),
  retry: vaultRetrySchema.prefault({}),
  circuitBreaker: vaultCircuitBreakerSchema.prefault({}),
  dynamicMounts: z
    .array(mountName)
    .default([])
    .describe(
      'Mounts of dynamic secrets engines (e.g. `database`) read through this backend: `vault:database/creds/app#password`. Their credentials are leased, renewed before they expire, replaced when a lease cannot be renewed, and revoked when cofre stops. Paths under these mounts are not KV paths.',
    ),
  listLimit: z
    .int()
    .min(1)
    .max(1_000_000)
    .default(10_000)
    .describe('Most secret paths `list` walks under the mount before it stops with an error.'),
};

export type VaultAuthConfig = z.output<typeof vaultAuthConfigSchema>;

/** Fields of the auth block that name files, by method (the loader resolves them against the config directory). */
export const VAULT_AUTH_FILE_FIELDS = [
  'tokenFile',
  'roleIdFile',
  'secretIdFile',
  'wrappedSecretIdFile',
  'jwtFile',
] as const;

/** Connection settings the Vault tools read from the environment, `BAO_*` before `VAULT_*`. */
export interface VaultEnvironmentDefaults {
  readonly address: string | undefined;
  readonly namespace: string | undefined;
  readonly caFile: string | undefined;
}

/**
 * The `BAO_*` / `VAULT_*` defaults for unset `address`, `namespace` and `caFile`, as the bao and vault CLIs read
 * them (OpenBao's names first). Tokens are deliberately not read from the environment (`VAULT_TOKEN`): a token in
 * the environment leaks through `/proc/<pid>/environ` and crash reports; use `auth.tokenFile`.
 */
export function vaultEnvironmentDefaults(env: Environment = process.env): VaultEnvironmentDefaults {
  const first = (...names: string[]): string | undefined =>
    names.map((name) => readEnv(name, env)).find((v) => v !== undefined);
  return {
    address: first('BAO_ADDR', 'VAULT_ADDR'),
    namespace: first('BAO_NAMESPACE', 'VAULT_NAMESPACE'),
    caFile: first('BAO_CACERT', 'VAULT_CACERT'),
  };
}

/**
 * Why `address` may not be used, or undefined when it may: plain `http://` is allowed only to a loopback host
 * (`localhost`, `127.0.0.0/8`, `[::1]`), where nothing crosses a network, or with `insecureHttp: true`.
 *
 * SECURITY: over plain HTTP the token (`X-Vault-Token`), the login material (secret_id, JWT, wrapping token) and
 * every secret read would cross the network in clear. Checked by the config schema and again when the backend
 * opens, since the address may come from `BAO_ADDR` / `VAULT_ADDR`.
 */
export function plainHttpRefusal(address: string, insecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined; // the schema reports a malformed URL on its own
  }
  if (url.protocol !== 'http:' || insecureHttp || isLoopbackHost(url.hostname)) return undefined;
  return `plain http:// to ${url.host} would send the Vault token, the login secret and every secret in clear; use https:// (with caFile for a private CA), a loopback address, or set insecureHttp: true if the link is protected otherwise`;
}

/** `localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]` (as `URL.hostname` writes them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  const octets = host.split('.');
  return (
    octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)
  );
}

/** The config-time check of {@link plainHttpRefusal}, as a refinement of the vault backend object. */
export function refineVaultTransport(backend: unknown, ctx: z.RefinementCtx): void {
  const raw = backend as { address?: unknown; insecureHttp?: unknown };
  if (typeof raw.address !== 'string') return;
  const why = plainHttpRefusal(raw.address, raw.insecureHttp === true);
  if (why !== undefined) ctx.addIssue({ code: 'custom', path: ['address'], message: why });
}
