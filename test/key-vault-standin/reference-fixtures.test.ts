/**
 * The stand-in's answers against the REST reference's own examples (testdata/*.json, each naming its source): for
 * the same request, the same status, the same fields with the same JSON types, and no field the reference's models
 * do not define. Plain fetch, so nothing in an SDK smooths over a difference.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';
import { shapeOf, unknownFields } from './json-shape.js';
import { type VaultAnswer, vaultFetch } from './vault-fetch.js';

interface Fixture {
  readonly source: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    readonly apiVersion: string;
    readonly maxresults?: number;
    readonly body?: unknown;
  };
  readonly response: { readonly status: number; readonly body: Record<string, unknown> };
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`testdata/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

/**
 * Fields of SecretBundle, DeletedSecretBundle, SecretItem, DeletedSecretItem, SecretAttributes and the list
 * results, and KeyVaultError (`error.code`, `error.message`, `error.innererror`), as the reference's Definitions
 * sections (2025-07-01) name them.
 */
const DOCUMENTED_FIELDS = new Set([
  'value',
  'id',
  'contentType',
  'attributes',
  'tags',
  'kid',
  'managed',
  'previousVersion',
  'recoveryId',
  'scheduledPurgeDate',
  'deletedDate',
  'nextLink',
  'error',
  'code',
  'message',
  'innererror',
  'enabled',
  'nbf',
  'exp',
  'created',
  'updated',
  'recoveryLevel',
  'recoverableDays',
]);

function expectSameShape(actual: unknown, documented: unknown): void {
  expect(shapeOf(actual)).toMatchObject(shapeOf(documented) as object);
  expect(unknownFields(actual, DOCUMENTED_FIELDS)).toEqual([]);
}

let standIn: KeyVaultStandIn;
let token: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  token = standIn.mintAccessToken({
    clientId: standIn.systemAssignedClientId,
    audience: 'https://vault.azure.net',
  });
});
afterAll(async () => {
  await standIn.stop();
});

function call(
  method: string,
  path: string,
  query: Record<string, string>,
  body?: unknown,
): Promise<VaultAnswer> {
  const url = new URL(path, standIn.vaultUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return vaultFetch(url, method, token, body);
}

/** Sends a fixture's request (its path with `{version}` put in) and checks the answer against its response. */
async function replay(f: Fixture, version?: string): Promise<Record<string, unknown>> {
  const path = version === undefined ? f.request.path : f.request.path.replace(/[0-9a-f]{32}$/, version);
  const query: Record<string, string> = { 'api-version': f.request.apiVersion };
  if (f.request.maxresults !== undefined) query['maxresults'] = String(f.request.maxresults);
  const answer = await call(f.request.method, path, query, f.request.body);
  expect(answer.status).toBe(f.response.status);
  expectSameShape(answer.body, f.response.body);
  return answer.body;
}

async function setSecret(name: string, body: Record<string, unknown> = { value: 'v' }): Promise<string> {
  const answer = await call('PUT', `/secrets/${name}`, { 'api-version': '2025-07-01' }, body);
  expect(answer.status).toBe(200);
  return String(answer.body['id']).split('/').at(-1) ?? '';
}

const VERSIONED_ID = (name: string) => new RegExp(`^${standIn.vaultUrl}/secrets/${name}/[0-9a-f]{32}$`);

describe('key-vault stand-in against the REST reference examples', () => {
  it('Set Secret', async () => {
    const body = await replay(fixture('set-secret'));
    expect(body['id']).toMatch(VERSIONED_ID('crpsecret'));
    expect(body['value']).toBe('mysecretvalue');
  });

  it('Get Secret (by version)', async () => {
    const version = await setSecret('mysecretname', { value: 'mysecretvalue' });
    const body = await replay(fixture('get-secret'), version);
    expect(body['id']).toBe(`${standIn.vaultUrl}/secrets/mysecretname/${version}`);
  });

  it('Get Secret Versions (one per page, nextLink to the next page, null on the last)', async () => {
    await setSecret('listsecretversionstest');
    await setSecret('listsecretversionstest');
    const first = await replay(fixture('get-secret-versions'));
    const nextLink = String(first['nextLink']);
    expect(nextLink.startsWith(`${standIn.vaultUrl}/secrets/listsecretversionstest/versions?`)).toBe(true);
    const next = await fetch(nextLink, { headers: { authorization: `Bearer ${token}` } });
    const second = (await next.json()) as { value: unknown[]; nextLink: unknown };
    expect(second.value).toHaveLength(1);
    expect(second.nextLink).toBeNull();
  });

  it('Update Secret (no value in the answer)', async () => {
    const version = await setSecret('crpsecret');
    const body = await replay(fixture('update-secret'), version);
    expect(body['tags']).toEqual({ mytag: 'myvalue' });
    expect(body).not.toHaveProperty('value');
  });

  it('Delete Secret (soft delete: recoveryId, deletedDate, scheduledPurgeDate)', async () => {
    await setSecret('GetDeletedSecretTest');
    const body = await replay(fixture('delete-secret'));
    expect(body['recoveryId']).toBe(`${standIn.vaultUrl}/deletedsecrets/GetDeletedSecretTest`);
    expect(body['id']).toMatch(VERSIONED_ID('GetDeletedSecretTest'));
    expect(Number(body['scheduledPurgeDate']) - Number(body['deletedDate'])).toBe(90 * 86_400);
    // Out of the way of the Get Deleted Secrets example, which lists from the first name on.
    expect(
      (await call('DELETE', '/deletedsecrets/GetDeletedSecretTest', { 'api-version': '7.4' })).status,
    ).toBe(204);
  });

  it('Get Deleted Secrets (paged)', async () => {
    for (const name of ['listdeletedsecrettest0', 'listdeletedsecrettest1']) {
      await setSecret(name, { value: 'v', contentType: 'plainText' });
      expect((await call('DELETE', `/secrets/${name}`, { 'api-version': '7.4' })).status).toBe(200);
    }
    const body = await replay(fixture('get-deleted-secrets'));
    expect(typeof body['nextLink']).toBe('string');
  });

  it('errors: 401 with the challenge when no token is sent, and the documented error body', async () => {
    const documented = JSON.parse(
      readFileSync(new URL('testdata/error-response.json', import.meta.url), 'utf8'),
    ) as {
      unauthenticated: { status: number; resource: string };
      errorBody: unknown;
    };
    const res = await fetch(`${standIn.vaultUrl}/secrets/x?api-version=2025-07-01`);
    expect(res.status).toBe(documented.unauthenticated.status);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization="${standIn.authorityHost}/${standIn.tenantId}", resource="${documented.unauthenticated.resource}"`,
    );
    expectSameShape(await res.json(), documented.errorBody);
    const missing = await call('GET', '/secrets/never-set', { 'api-version': '2025-07-01' });
    expect(missing.status).toBe(404);
    expectSameShape(missing.body, documented.errorBody);
    expect(missing.body).toMatchObject({ error: { code: 'SecretNotFound' } });
  });
});
