/**
 * The secrets operations of the Key Vault REST API (https://learn.microsoft.com/rest/api/keyvault/secrets), routed
 * by method and path and each named by the RBAC data action it needs:
 *
 * | Operation            | Request                                   | Data action                 |
 * |----------------------|-------------------------------------------|-----------------------------|
 * | Set Secret           | PUT /secrets/{name}                       | secrets/setSecret/action    |
 * | Get Secret           | GET /secrets/{name}/{version?}            | secrets/getSecret/action    |
 * | Get Secret Versions  | GET /secrets/{name}/versions              | secrets/readMetadata/action |
 * | Get Secrets          | GET /secrets                              | secrets/readMetadata/action |
 * | Update Secret        | PATCH /secrets/{name}/{version}           | secrets/update/action       |
 * | Delete Secret        | DELETE /secrets/{name}                    | secrets/delete              |
 * | Get Deleted Secret   | GET /deletedsecrets/{name}                | deletedSecrets/read         |
 * | Get Deleted Secrets  | GET /deletedsecrets                       | deletedSecrets/read         |
 * | Purge Deleted Secret | DELETE /deletedsecrets/{name}             | secrets/purge/action        |
 * | Recover Deleted      | POST /deletedsecrets/{name}/recover       | secrets/recover/action      |
 *
 * `secrets-user` (Key Vault Secrets User) has getSecret and readMetadata; `secrets-officer` all of them. The name
 * of the deleted-secret read action is the stand-in's own (only the officer may read the deleted set).
 *
 * Expired and not-yet-valid versions are returned like any other. About Azure Key Vault secrets, "Date-time
 * controlled operations" (https://learn.microsoft.com/azure/key-vault/secrets/about-secrets): "A secret's get
 * operation will work for not-yet-valid and expired secrets, outside the nbf / exp window"; `exp` and `nbf` are
 * "for informational purposes only". Only `enabled: false` makes Get Secret refuse (403 Forbidden). Deciding about
 * validity is the client's job (cofre's backend refuses such versions itself).
 */
import { type KeyVaultErrorAnswer, kvErrors } from './key-vault-errors.js';
import { nameProblem, parsePageSize, parseSetBody, parseUpdateBody } from './secret-request.js';
import { latestVersion, type SecretStore, type StoredSecret, type StoredVersion } from './secret-store.js';
import {
  deletedSecretBundle,
  deletedSecretItem,
  secretBundle,
  secretItem,
  versionItem,
} from './secret-wire.js';

export type DataAction =
  | 'secrets/setSecret/action'
  | 'secrets/getSecret/action'
  | 'secrets/readMetadata/action'
  | 'secrets/update/action'
  | 'secrets/delete'
  | 'deletedSecrets/read'
  | 'secrets/purge/action'
  | 'secrets/recover/action';

export interface OperationContext {
  readonly vaultUrl: string;
  readonly store: SecretStore;
  readonly url: URL;
  readonly body: () => Promise<string>;
}

export type Answer = { readonly status: number; readonly body: unknown } | KeyVaultErrorAnswer;

export interface Operation {
  readonly action: DataAction;
  /** The secret name in the path, validated before `run`. */
  readonly name?: string;
  readonly run: (ctx: OperationContext) => Promise<Answer>;
}

/** The operation a request names, or `undefined` for an unknown path or method. */
export function routeOperation(method: string, pathname: string): Operation | undefined {
  const segments = pathname.split('/').slice(1);
  const [collection, name, third, ...more] = segments;
  if (more.length > 0 || name === '') return undefined;
  if (collection === 'secrets') return secretsRoute(method, name, third);
  if (collection === 'deletedsecrets') return deletedRoute(method, name, third);
  return undefined;
}

function secretsRoute(
  method: string,
  name: string | undefined,
  third: string | undefined,
): Operation | undefined {
  if (name === undefined)
    return method === 'GET' ? { action: 'secrets/readMetadata/action', run: listSecrets } : undefined;
  if (third === 'versions') {
    return method === 'GET'
      ? { action: 'secrets/readMetadata/action', name, run: (c) => listVersions(c, name) }
      : undefined;
  }
  const version = third ?? '';
  if (method === 'GET')
    return { action: 'secrets/getSecret/action', name, run: (c) => getSecret(c, name, version) };
  if (method === 'PATCH')
    return { action: 'secrets/update/action', name, run: (c) => updateSecret(c, name, version) };
  if (third !== undefined) return undefined;
  if (method === 'PUT') return { action: 'secrets/setSecret/action', name, run: (c) => setSecret(c, name) };
  if (method === 'DELETE') return { action: 'secrets/delete', name, run: (c) => deleteSecret(c, name) };
  return undefined;
}

function deletedRoute(
  method: string,
  name: string | undefined,
  third: string | undefined,
): Operation | undefined {
  if (name === undefined)
    return method === 'GET' ? { action: 'deletedSecrets/read', run: listDeleted } : undefined;
  if (third === 'recover') {
    return method === 'POST'
      ? { action: 'secrets/recover/action', name, run: (c) => recover(c, name) }
      : undefined;
  }
  if (third !== undefined) return undefined;
  if (method === 'GET') return { action: 'deletedSecrets/read', name, run: (c) => getDeleted(c, name) };
  if (method === 'DELETE') return { action: 'secrets/purge/action', name, run: (c) => purge(c, name) };
  return undefined;
}

export function operationNameProblem(op: Operation): string | undefined {
  return op.name === undefined ? undefined : nameProblem(op.name);
}

function findVersion(secret: StoredSecret, version: string): StoredVersion | undefined {
  if (version === '') return latestVersion(secret);
  return secret.versions.find((v) => v.version === version.toLowerCase());
}

async function setSecret(c: OperationContext, name: string): Promise<Answer> {
  const parsed = parseSetBody(await c.body());
  if (!parsed.ok) return kvErrors.badParameter(parsed.message);
  if (c.store.getDeleted(name) !== undefined) return kvErrors.conflictDeleted(name);
  c.store.set(name, parsed.value.value, parsed.value.props);
  const secret = c.store.get(name) as StoredSecret;
  return { status: 200, body: secretBundle(c.vaultUrl, secret, latestVersion(secret), true) };
}

// eslint-disable-next-line @typescript-eslint/require-await
async function getSecret(c: OperationContext, name: string, version: string): Promise<Answer> {
  const secret = c.store.get(name);
  const found = secret && findVersion(secret, version);
  if (secret === undefined || found === undefined)
    return kvErrors.notFound(version ? `${name}/${version}` : name);
  if (!found.enabled) return kvErrors.disabled();
  return { status: 200, body: secretBundle(c.vaultUrl, secret, found, true) };
}

async function updateSecret(c: OperationContext, name: string, version: string): Promise<Answer> {
  const parsed = parseUpdateBody(await c.body());
  if (!parsed.ok) return kvErrors.badParameter(parsed.message);
  const secret = c.store.get(name);
  const found = secret && findVersion(secret, version);
  if (secret === undefined || found === undefined)
    return kvErrors.notFound(version ? `${name}/${version}` : name);
  c.store.update(found, parsed.value);
  return { status: 200, body: secretBundle(c.vaultUrl, secret, found, false) };
}

// eslint-disable-next-line @typescript-eslint/require-await
async function deleteSecret(c: OperationContext, name: string): Promise<Answer> {
  const entry = c.store.delete(name);
  if (entry === undefined) return kvErrors.notFound(name);
  return { status: 200, body: deletedSecretBundle(c.vaultUrl, entry) };
}

// eslint-disable-next-line @typescript-eslint/require-await
async function getDeleted(c: OperationContext, name: string): Promise<Answer> {
  const entry = c.store.getDeleted(name);
  if (entry === undefined) return kvErrors.deletedNotFound(name);
  return { status: 200, body: deletedSecretBundle(c.vaultUrl, entry) };
}

// eslint-disable-next-line @typescript-eslint/require-await
async function purge(c: OperationContext, name: string): Promise<Answer> {
  return c.store.purge(name) ? { status: 204, body: undefined } : kvErrors.deletedNotFound(name);
}

// eslint-disable-next-line @typescript-eslint/require-await
async function recover(c: OperationContext, name: string): Promise<Answer> {
  const secret = c.store.recover(name);
  if (secret === undefined) return kvErrors.deletedNotFound(name);
  return { status: 200, body: secretBundle(c.vaultUrl, secret, latestVersion(secret), false) };
}

// eslint-disable-next-line @typescript-eslint/require-await
async function listSecrets(c: OperationContext): Promise<Answer> {
  return page(
    c,
    c.store.list().map((s) => secretItem(c.vaultUrl, s)),
  );
}

// eslint-disable-next-line @typescript-eslint/require-await
async function listVersions(c: OperationContext, name: string): Promise<Answer> {
  const secret = c.store.get(name);
  // Choice: an unknown name lists as empty (the reference documents no 404 for this operation).
  // Order: Key Vault lists versions by version id, not by creation (lowkey-vault issue #428/#467 records this), so
  // clients must sort by `created` themselves; the stand-in does the same to catch those that do not.
  const versions =
    secret === undefined ? [] : [...secret.versions].sort((a, b) => a.version.localeCompare(b.version));
  const items = secret === undefined ? [] : versions.map((v) => versionItem(c.vaultUrl, secret, v));
  return page(c, items);
}

// eslint-disable-next-line @typescript-eslint/require-await
async function listDeleted(c: OperationContext): Promise<Answer> {
  return page(
    c,
    c.store.listDeleted().map((e) => deletedSecretItem(c.vaultUrl, e)),
  );
}

/**
 * One page of a list: `{value, nextLink}`, `nextLink` `null` on the last page. The next link repeats the path,
 * `api-version` and `maxresults`, and carries the position in an opaque `$skiptoken`, as Key Vault's do.
 */
function page(c: OperationContext, items: unknown[]): Answer {
  const size = parsePageSize(c.url.searchParams.get('maxresults'));
  if (!size.ok) return kvErrors.badParameter(size.message);
  const start = decodeSkipToken(c.url.searchParams.get('$skiptoken'));
  if (start === undefined) return kvErrors.badParameter('Invalid $skiptoken.');
  const end = start + size.value;
  let nextLink: string | null = null;
  if (end < items.length) {
    const next = new URL(`${c.vaultUrl}${c.url.pathname}`);
    next.searchParams.set('api-version', c.url.searchParams.get('api-version') ?? '');
    next.searchParams.set(
      '$skiptoken',
      Buffer.from(JSON.stringify({ NextMarker: end })).toString('base64url'),
    );
    if (c.url.searchParams.has('maxresults')) next.searchParams.set('maxresults', String(size.value));
    nextLink = next.toString();
  }
  return { status: 200, body: { value: items.slice(start, end), nextLink } };
}

function decodeSkipToken(token: string | null): number | undefined {
  if (token === null) return 0;
  try {
    const marker = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { NextMarker?: unknown })
      .NextMarker;
    return Number.isInteger(marker) && (marker as number) >= 0 ? (marker as number) : undefined;
  } catch {
    return undefined;
  }
}
