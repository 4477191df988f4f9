/**
 * The stand-in's token endpoints by plain fetch: their answers against the documented examples
 * (testdata/imds-token.json, app-service-token.json, entra-token.json: same fields, same JSON types), and what they
 * answer to requests the SDK would not send (missing headers, unknown identities, wrong secrets).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';
import { shapeOf } from './json-shape.js';

interface TokenFixture {
  readonly source: string;
  readonly response: { readonly status: number; readonly body: object };
  readonly error?: { readonly status: number; readonly body: object };
  readonly missingMetadataHeader?: { readonly status: number; readonly body: object };
}

function fixture(name: string): TokenFixture {
  return JSON.parse(readFileSync(new URL(`testdata/${name}.json`, import.meta.url), 'utf8')) as TokenFixture;
}

/** Every documented field is there with the documented JSON type (the stand-in may add fields Azure also sends). */
function expectDocumentedShape(actual: unknown, documented: object): void {
  expect(shapeOf(actual)).toMatchObject(shapeOf(documented) as object);
}

let standIn: KeyVaultStandIn;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
});
afterAll(async () => {
  await standIn.stop();
});

const RESOURCE = 'https://vault.azure.net';

async function imds(query: string, headers: Record<string, string> = { Metadata: 'true' }) {
  const res = await fetch(`${standIn.imdsHost}/metadata/identity/oauth2/token?${query}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function entraToken(form: Record<string, string>, tenant = standIn.tenantId) {
  const res = await fetch(`${standIn.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function vaultAccepts(token: unknown): Promise<boolean> {
  const res = await fetch(`${standIn.vaultUrl}/secrets?api-version=2025-07-01`, {
    headers: { authorization: `Bearer ${String(token)}` },
  });
  return res.status === 200;
}

describe('key-vault stand-in IMDS endpoint', () => {
  it('issues a token the vault accepts, with IMDS fields', async () => {
    const answer = await imds(`api-version=2018-02-01&resource=${encodeURIComponent(RESOURCE)}`);
    const documented = fixture('imds-token').response;
    expect(answer.status).toBe(documented.status);
    expectDocumentedShape(answer.body, documented.body);
    expect(answer.body).toMatchObject({
      token_type: 'Bearer',
      resource: RESOURCE,
      client_id: standIn.systemAssignedClientId,
    });
    expect(Number(answer.body['expires_on'])).toBeGreaterThan(Date.now() / 1000);
    expect(await vaultAccepts(answer.body['access_token'])).toBe(true);
  });

  it('refuses a request without the Metadata header (400 bad_request_102)', async () => {
    const answer = await imds(`api-version=2018-02-01&resource=${RESOURCE}`, {});
    expect(answer).toMatchObject(fixture('imds-token').missingMetadataHeader ?? {});
  });

  it('refuses an unknown user-assigned client id ("Identity not found")', async () => {
    const answer = await imds(
      `api-version=2018-02-01&resource=${RESOURCE}&client_id=00000000-0000-0000-0000-000000000000`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body['error_description']).toMatch(/Identity not found/);
  });

  it('a token for another resource is not accepted by the vault', async () => {
    const answer = await imds('api-version=2018-02-01&resource=https://storage.azure.com');
    expect(answer.status).toBe(200);
    expect(await vaultAccepts(answer.body['access_token'])).toBe(false);
  });
});

describe('key-vault stand-in App Service endpoint', () => {
  it('answers with the right X-IDENTITY-HEADER only', async () => {
    const url = `${standIn.appService.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(RESOURCE)}`;
    const wrong = await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'guess' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(url, { headers: { 'X-IDENTITY-HEADER': standIn.appService.header } });
    const body = (await right.json()) as Record<string, unknown>;
    const documented = fixture('app-service-token').response;
    expect(right.status).toBe(documented.status);
    expectDocumentedShape(body, documented.body);
    expect(await vaultAccepts(body['access_token'])).toBe(true);
  });
});

describe('key-vault stand-in Entra authority', () => {
  it('publishes OpenID metadata with an issuer on its own host', async () => {
    const res = await fetch(
      `${standIn.authorityHost}/${standIn.tenantId}/v2.0/.well-known/openid-configuration`,
    );
    const meta = (await res.json()) as Record<string, string>;
    expect(meta['issuer']).toBe(`${standIn.authorityHost}/${standIn.tenantId}/v2.0`);
    expect(meta['token_endpoint']).toBe(`${standIn.authorityHost}/${standIn.tenantId}/oauth2/v2.0/token`);
    const jwks = (await (await fetch(meta['jwks_uri'] ?? '')).json()) as { keys: { kty: string }[] };
    expect(jwks.keys[0]?.kty).toBe('RSA');
  });

  it('client_credentials with the right secret gives a token the vault accepts', async () => {
    const clientId = standIn.addServicePrincipal({ secret: 'right' }, 'secrets-user');
    const answer = await entraToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'right',
      scope: `${RESOURCE}/.default`,
    });
    const documented = fixture('entra-token').response;
    expect(answer.status).toBe(documented.status);
    expectDocumentedShape(answer.body, documented.body);
    expect(answer.body['token_type']).toBe('Bearer');
    expect(await vaultAccepts(answer.body['access_token'])).toBe(true);
  });

  it('a wrong secret is 401 invalid_client AADSTS7000215', async () => {
    const clientId = standIn.addServicePrincipal({ secret: 'right' });
    const answer = await entraToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'wrong',
      scope: `${RESOURCE}/.default`,
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(String(answer.body['error_description'])).toMatch(/^AADSTS7000215:/);
    expect(standIn.tokenRequests.at(-1)).toMatchObject({
      endpoint: 'entra',
      clientId,
      assertion: false,
      status: 401,
    });
  });

  it('an unknown client is 400 unauthorized_client AADSTS700016; an unknown tenant 400 AADSTS90002', async () => {
    const form = {
      grant_type: 'client_credentials',
      client_id: 'nobody',
      client_secret: 'x',
      scope: `${RESOURCE}/.default`,
    };
    expect(await entraToken(form)).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client', error_codes: [700016] },
    });
    expect(await entraToken(form, '11111111-1111-1111-1111-111111111111')).toMatchObject({
      status: 400,
      body: { error_codes: [90002] },
    });
  });

  it('a scope without /.default is 400 invalid_scope', async () => {
    const clientId = standIn.addServicePrincipal({ secret: 's' });
    const answer = await entraToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 's',
      scope: RESOURCE,
    });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const documented = fixture('entra-token').error;
    expectDocumentedShape(answer.body, documented?.body ?? {});
    expect(String(answer.body['error_description'])).toMatch(
      /^AADSTS\d+: .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s,
    );
    expect(answer.body['timestamp']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  });

  it('a workload identity accepts only a federated token for its own subject', async () => {
    const a = await standIn.addWorkloadIdentity();
    const b = await standIn.addWorkloadIdentity();
    const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
    const form = (clientId: string, assertion: string) => ({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: assertionType,
      client_assertion: assertion,
      scope: `${RESOURCE}/.default`,
    });
    const tokenA = await readFile(a.tokenFile, 'utf8');
    expect((await entraToken(form(a.clientId, tokenA))).status).toBe(200);
    expect((await entraToken(form(b.clientId, tokenA))).status).toBe(400);
    // An access token is signed by the same key but is no federated token (issuer and audience differ).
    const access = standIn.mintAccessToken({ clientId: a.clientId, audience: 'api://AzureADTokenExchange' });
    expect((await entraToken(form(a.clientId, access))).status).toBe(400);
  });
});
