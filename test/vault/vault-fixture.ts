/**
 * Helpers for the Vault backend's integration tests: set up an OpenBao dev server over its HTTP API with the root
 * token (auth methods, mounts, policies), write credential files, record logs.
 *
 * Setup calls go straight to `fetch`, not through cofre's client, so a bug in the client cannot hide behind
 * itself.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import type { VaultBackendConfig } from '../../src/config/backend-config.js';
import type { DeepReadonly } from '../../src/config/deep-freeze.js';
import { validateConfig } from '../../src/config/load-config.js';
import type { BackendLog, BackendLogFields, BackendLogLevel } from '../../src/secrets/backend-log.js';
import type { OpenBaoPeer, PostgresPeer } from '../peers/peers.js';

/** Calls the OpenBao API as root (or with `token`); throws on a status other than 2xx. Returns parsed JSON. */
export async function baoApi(
  bao: Pick<OpenBaoPeer, 'addr' | 'rootToken'>,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loose JSON of setup calls; tests read known fields
): Promise<any> {
  const res = await fetch(`${bao.addr}/v1/${path}`, {
    method,
    headers: {
      'X-Vault-Token': options.token ?? bao.rootToken,
      'Content-Type': 'application/json',
      ...options.headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`OpenBao ${method} ${path}: HTTP ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * Mounts the database secrets engine at `database/` on the PostgreSQL peer (connection `pg`) and one role per entry
 * of `roles`: a login valid until its lease ends, able to read the public schema, with the lease's TTLs (`'1h'`).
 */
export async function mountPostgresDatabase(
  bao: Pick<OpenBaoPeer, 'addr' | 'rootToken'>,
  pg: Pick<PostgresPeer, 'port' | 'user' | 'password'>,
  roles: Readonly<Record<string, { readonly defaultTtl: string; readonly maxTtl: string }>>,
): Promise<void> {
  await baoApi(bao, 'POST', 'sys/mounts/database', { type: 'database' });
  await baoApi(bao, 'POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${pg.port}/postgres?sslmode=disable`,
    username: pg.user,
    password: pg.password,
    allowed_roles: '*',
  });
  for (const [name, ttl] of Object.entries(roles)) {
    await baoApi(bao, 'POST', `database/roles/${name}`, {
      db_name: 'pg',
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
        'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
      ],
      default_ttl: ttl.defaultTtl,
      max_ttl: ttl.maxTtl,
    });
  }
}

/** A private temp dir for credential files; `remove()` deletes it. */
export async function credentialDir(): Promise<{
  dir: string;
  file: (name: string, content: string) => Promise<string>;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'cofre-vault-test-'));
  return {
    dir,
    file: async (name, content) => {
      const path = join(dir, name);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A backend config through the real schema (defaults applied), overriding what the test needs. */
export function vaultConfig(
  addr: string,
  backend: Record<string, unknown>,
): DeepReadonly<VaultBackendConfig> {
  const config = validateConfig({
    backends: { vault: { type: 'vault', address: addr, ...backend } },
  });
  const parsed = config.backends['vault'];
  if (parsed?.type !== 'vault') throw new Error('not a vault backend');
  return parsed;
}

/** Enables AppRole at `approle/` (idempotent per server) and creates `role` with the given settings. */
export async function appRole(
  bao: OpenBaoPeer,
  role: string,
  settings: Record<string, unknown>,
): Promise<{ roleId: string }> {
  const auths = await baoApi(bao, 'GET', 'sys/auth');
  if (auths.data?.['approle/'] === undefined)
    await baoApi(bao, 'POST', 'sys/auth/approle', { type: 'approle' });
  await baoApi(bao, 'POST', `auth/approle/role/${role}`, settings);
  const roleId = (await baoApi(bao, 'GET', `auth/approle/role/${role}/role-id`)).data.role_id as string;
  return { roleId };
}

/** Writes an ACL policy. */
export async function policy(bao: OpenBaoPeer, name: string, hcl: string): Promise<void> {
  await baoApi(bao, 'PUT', `sys/policies/acl/${name}`, { policy: hcl });
}

/** A token with `policies` (and `default`), created by root. */
export async function tokenWith(bao: OpenBaoPeer, policies: string[], ttl = '1h'): Promise<string> {
  return (await baoApi(bao, 'POST', 'auth/token/create', { policies, ttl })).auth.client_token as string;
}

/** A random path segment, so tests sharing a server do not collide. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A logger that records every line, rendered as text a leak check can search. */
export function recordingLog(): {
  log: BackendLog;
  lines: { level: BackendLogLevel; message: string; fields: BackendLogFields | undefined }[];
  text: () => string;
} {
  const lines: { level: BackendLogLevel; message: string; fields: BackendLogFields | undefined }[] = [];
  return {
    lines,
    log: (level, message, fields) => {
      lines.push({ level, message, fields });
    },
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields ?? {})}`).join('\n'),
  };
}

/** Everything a caller could print about an error: inspect with depth, JSON, message and stack. */
export function renderError(err: unknown): string {
  const e = err as { message?: unknown; stack?: unknown };
  return [
    inspect(err, { depth: 10, showHidden: true }),
    JSON.stringify(err),
    String(e.message),
    String(e.stack),
  ].join('\n');
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** An RS256 key pair and a signer of compact JWTs, by hand with node:crypto (no JWT library). */
export function jwtSigner(): { publicKeyPem: string; sign: (claims: Record<string, unknown>) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (claims) => {
      const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'cofre-test' })}.${b64(claims)}`;
      return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    },
  };
}
