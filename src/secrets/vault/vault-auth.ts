/**
 * Vault / OpenBao auth methods: how {@link VaultSession} obtains a token. One {@link VaultAuthMethod} per config
 * `auth.method`: `token`, `approle` (plain or response-wrapped secret_id), `kubernetes`, `jwt`.
 *
 * Credential files are read at each login, not at start-up, so that an agent (Vault Agent, the kubelet) may rotate
 * them on disk. Their content never appears in a message: errors name the file and the config field.
 */
import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import type { VaultAuthConfig } from '../../config/vault-config.js';
import { CofreError, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { type VaultAuth, vaultAuthSchema, type VaultClient } from './vault-client.js';

/** A token and what Vault said about it. */
export interface VaultLogin {
  /** SECURITY: the token itself; never log it (log `accessor`). */
  readonly token: string;
  /** Token accessor: identifies the token in Vault's audit log without being usable to authenticate. */
  readonly accessor: string;
  /** Seconds the token lives from now; 0 means it does not expire. */
  readonly ttlSeconds: number;
  readonly renewable: boolean;
  readonly policies: readonly string[];
  /** True when cofre created the token by logging in, so it may revoke it on close. */
  readonly ownedByCofre: boolean;
}

/** One way of getting a token. Implementations are safe to call concurrently (the session single-flights anyway). */
export interface VaultAuthMethod {
  /** `token`, `approle`, `kubernetes` or `jwt`, for messages. */
  readonly method: string;
  /** Logs in (or, for `token`, loads and looks up the token). Throws {@link CofreError}. */
  login(client: VaultClient): Promise<VaultLogin>;
}

const loginResponse = z.object({ auth: vaultAuthSchema });

const lookupSelfResponse = z.object({
  data: z.object({
    accessor: z.string(),
    ttl: z.number().int(),
    renewable: z.boolean().optional(),
    policies: z.array(z.string()).nullish(),
    expire_time: z.string().nullish(),
  }),
});

const wrappingLookupResponse = z.object({
  data: z.object({ creation_path: z.string(), creation_ttl: z.number().optional() }),
});

const unwrappedSecretIdResponse = z.object({ data: z.object({ secret_id: z.string().min(1) }) });

/** Builds the auth method a config names. `log` receives warnings such as a root-like token. */
export function vaultAuthMethod(config: VaultAuthConfig, log: BackendLog = silentLog): VaultAuthMethod {
  switch (config.method) {
    case 'token':
      return tokenAuth(config.tokenFile, log);
    case 'approle':
      return config.wrappedSecretIdFile === undefined
        ? appRoleAuth(config.mount, config.roleIdFile, config.secretIdFile ?? '')
        : wrappedAppRoleAuth(
            config.mount,
            config.role ?? '',
            config.roleIdFile,
            config.wrappedSecretIdFile,
            log,
          );
    case 'kubernetes':
      return jwtLogin('kubernetes', config.mount, config.role, config.jwtFile);
    case 'jwt':
      return jwtLogin('jwt', config.mount, config.role, config.jwtFile);
  }
}

/**
 * `token`: reads the token from a file and looks it up (`auth/token/lookup-self`) for its TTL and policies. Warns
 * when it looks root-like (the `root` policy, or no expiry): a leaked root-like token is game over, so cofre should
 * run with a narrow, expiring one.
 */
export function tokenAuth(tokenFile: string, log: BackendLog = silentLog): VaultAuthMethod {
  return {
    method: 'token',
    async login(client) {
      const token = await readCredentialFile(tokenFile, 'auth.tokenFile');
      let info: z.infer<typeof lookupSelfResponse>['data'] | undefined;
      try {
        info = (
          await client.request('GET', 'auth/token/lookup-self', {
            token,
            schema: lookupSelfResponse,
            subject: 'auth/token/lookup-self (token from auth.tokenFile)',
          })
        ).data;
      } catch (err) {
        // A token whose policy lacks `default` cannot look itself up; it may still read secrets.
        if (!isCofreError(err, 'COFRE_BACKEND_DENIED')) throw err;
        log('info', 'Vault token cannot look itself up (no "default" policy?); assuming it does not expire', {
          file: tokenFile,
        });
      }
      const policies = info?.policies ?? [];
      const ttlSeconds = info?.ttl ?? 0;
      if (info !== undefined && (policies.includes('root') || ttlSeconds === 0)) {
        log(
          'warn',
          'Vault token looks root-like (root policy or no expiry); use a narrow, expiring token or another auth method',
          { accessor: info.accessor, rootPolicy: policies.includes('root'), expires: ttlSeconds !== 0 },
        );
      }
      return {
        token,
        accessor: info?.accessor ?? '',
        ttlSeconds,
        renewable: info?.renewable ?? false,
        policies,
        ownedByCofre: false,
      };
    },
  };
}

/** `approle` with a plain secret_id file. */
export function appRoleAuth(mount: string, roleIdFile: string, secretIdFile: string): VaultAuthMethod {
  return {
    method: 'approle',
    async login(client) {
      const [roleId, secretId] = await Promise.all([
        readCredentialFile(roleIdFile, 'auth.roleIdFile'),
        readCredentialFile(secretIdFile, 'auth.secretIdFile'),
      ]);
      return appRoleLogin(client, mount, roleId, secretId);
    },
  };
}

/**
 * `approle` with a response-wrapped secret_id (secret-zero delivery). At the first login cofre
 * 1. reads the single-use wrapping token from the file;
 * 2. looks it up (`sys/wrapping/lookup`) and refuses it unless its `creation_path` is exactly
 *    `auth/<mount>/role/<role>/secret-id` — anything else means someone else wrapped it (interception);
 * 3. unwraps it (`sys/wrapping/unwrap`, never retried: the token is single-use) and logs in.
 * A wrapping token that was already used or expired is refused with `COFRE_VAULT_WRAPPING_TOKEN_INVALID`: if
 * cofre did not use it, someone else did, and the secret_id must be considered compromised.
 *
 * The unwrapped secret_id is kept in memory for later re-logins (when the token reaches its max TTL); give the
 * secret_id enough uses (`secret_id_num_uses` 0 or more than one) or a long token max TTL.
 */
export function wrappedAppRoleAuth(
  mount: string,
  role: string,
  roleIdFile: string,
  wrappedSecretIdFile: string,
  log: BackendLog = silentLog,
): VaultAuthMethod {
  let secretId: Promise<string> | undefined;
  const expectedPath = `auth/${mount}/role/${role}/secret-id`;

  const unwrap = async (client: VaultClient): Promise<string> => {
    const wrappingToken = await readCredentialFile(wrappedSecretIdFile, 'auth.wrappedSecretIdFile');
    let creationPath: string;
    try {
      const lookup = await client.request('POST', 'sys/wrapping/lookup', {
        body: { token: wrappingToken },
        schema: wrappingLookupResponse,
        subject: 'sys/wrapping/lookup (token from auth.wrappedSecretIdFile)',
        exposeErrors: true,
      });
      creationPath = lookup.data.creation_path;
    } catch (err) {
      throw refusedWrappingToken(err, wrappedSecretIdFile);
    }
    if (creationPath !== expectedPath) {
      log(
        'error',
        'Vault wrapping token was not created by the expected AppRole secret-id endpoint; refused',
        {
          file: wrappedSecretIdFile,
          expected: expectedPath,
          found: creationPath,
        },
      );
      throw new CofreError(
        'COFRE_VAULT_WRAPPING_TOKEN_INVALID',
        `the wrapping token in ${wrappedSecretIdFile} was created by "${creationPath}", not "${expectedPath}"; refusing it (possible interception: revoke it and investigate)`,
        { details: { file: wrappedSecretIdFile, expected: expectedPath, found: creationPath } },
      );
    }
    try {
      const unwrapped = await client.request('POST', 'sys/wrapping/unwrap', {
        token: wrappingToken,
        schema: unwrappedSecretIdResponse,
        subject: 'sys/wrapping/unwrap (token from auth.wrappedSecretIdFile)',
        retry: false,
        exposeErrors: true,
      });
      return unwrapped.data.secret_id;
    } catch (err) {
      throw refusedWrappingToken(err, wrappedSecretIdFile);
    }
  };

  return {
    method: 'approle',
    async login(client) {
      const roleId = await readCredentialFile(roleIdFile, 'auth.roleIdFile');
      secretId ??= unwrap(client);
      // A failed unwrap is not cached: a transient error before the unwrap may be retried by the next login.
      const id = await secretId.catch((err: unknown) => {
        secretId = undefined;
        throw err;
      });
      return appRoleLogin(client, mount, roleId, id);
    },
  };
}

function refusedWrappingToken(err: unknown, file: string): unknown {
  if (!isCofreError(err) || err.category === 'unavailable') return err;
  // Vault answers 400 "wrapping token is not valid or does not exist" for a used, expired or unknown token. The
  // usual cause is a restart: the unwrapped secret_id lived only in the previous process's memory.
  return new CofreError(
    'COFRE_VAULT_WRAPPING_TOKEN_INVALID',
    `the wrapping token in ${file} was refused: already used, expired or unknown (${err.message}). A wrapping token works once; deliver a fresh wrapped secret_id to ${file} (after a restart cofre always needs a new one). If no cofre process unwrapped this one, someone else did: treat its secret_id as compromised, revoke it and investigate`,
    { details: { file } },
  );
}

async function appRoleLogin(
  client: VaultClient,
  mount: string,
  roleId: string,
  secretId: string,
): Promise<VaultLogin> {
  const response = await client.request('POST', `auth/${mount}/login`, {
    body: { role_id: roleId, secret_id: secretId },
    schema: loginResponse,
    subject: `auth/${mount}/login (AppRole)`,
    exposeErrors: true,
  });
  return fromAuth(response.auth);
}

/** `kubernetes` and `jwt` log in the same way: `{ role, jwt }` to `auth/<mount>/login`. */
function jwtLogin(
  method: 'kubernetes' | 'jwt',
  mount: string,
  role: string,
  jwtFile: string,
): VaultAuthMethod {
  return {
    method,
    async login(client) {
      const jwt = await readCredentialFile(jwtFile, 'auth.jwtFile');
      const response = await client.request('POST', `auth/${mount}/login`, {
        body: { role, jwt },
        schema: loginResponse,
        subject: `auth/${mount}/login (${method} role "${role}")`,
        exposeErrors: true,
      });
      return fromAuth(response.auth);
    },
  };
}

function fromAuth(auth: VaultAuth): VaultLogin {
  return {
    token: auth.client_token,
    accessor: auth.accessor,
    ttlSeconds: auth.lease_duration,
    renewable: auth.renewable,
    policies: auth.token_policies ?? auth.policies ?? [],
    ownedByCofre: true,
  };
}

/**
 * Reads a credential file, trimmed of surrounding whitespace. Throws `COFRE_VAULT_CREDENTIAL_FILE_INVALID`
 * naming the file and the config field; the content never appears in a message.
 */
export async function readCredentialFile(path: string, field: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CofreError(
      'COFRE_VAULT_CREDENTIAL_FILE_INVALID',
      `cannot read ${field} file ${path} (${code})`,
      { details: { file: path, field } },
    );
  }
  const value = text.trim();
  if (value === '') {
    throw new CofreError('COFRE_VAULT_CREDENTIAL_FILE_INVALID', `${field} file ${path} is empty`, {
      details: { file: path, field },
    });
  }
  return value;
}
