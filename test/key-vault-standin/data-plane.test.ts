/**
 * The stand-in's data plane by plain fetch: token checks, RBAC, the properties Key Vault enforces (disabled) and
 * those it does not (expired, not yet valid), soft delete, input checks, and injected faults.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';
import { type VaultAnswer, vaultFetch } from './vault-fetch.js';

const V = '2025-07-01';
const RESOURCE = 'https://vault.azure.net';
let standIn: KeyVaultStandIn;
let officer: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  officer = standIn.mintAccessToken({ clientId: standIn.systemAssignedClientId, audience: RESOURCE });
});
afterAll(async () => {
  await standIn.stop();
});
afterEach(() => {
  standIn.clearFaults();
});

type Answer = VaultAnswer<{
  error?: { code?: string; innererror?: { code?: string } };
  [k: string]: unknown;
}>;

function call(method: string, path: string, body?: unknown, token = officer): Promise<Answer> {
  const url = `${standIn.vaultUrl}${path}${path.includes('?') ? '&' : '?'}api-version=${V}`;
  return vaultFetch(url, method, token, body);
}

function versionOf(answer: Answer): string {
  return String(answer.body['id']).split('/').at(-1) ?? '';
}

function tamper(token: string): string {
  const [h, c, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims['appid'] = 'someone-else';
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

describe('key-vault stand-in tokens', () => {
  it('accepts its own token for the vault audience', async () => {
    expect((await call('PUT', '/secrets/token-ok', { value: 'v' })).status).toBe(200);
  });

  it.each([
    [
      'another audience',
      () =>
        standIn.mintAccessToken({
          clientId: standIn.systemAssignedClientId,
          audience: 'https://storage.azure.com',
        }),
    ],
    ['a tampered token', () => tamper(officer)],
    [
      'an expired token',
      () =>
        standIn.mintAccessToken({
          clientId: standIn.systemAssignedClientId,
          audience: RESOURCE,
          lifetimeSeconds: -1,
        }),
    ],
    [
      'a token of another tenant',
      () =>
        standIn.mintAccessToken({
          clientId: standIn.systemAssignedClientId,
          audience: RESOURCE,
          tenantId: '22222222-2222-2222-2222-222222222222',
        }),
    ],
    ['no JWT at all', () => 'not-a-jwt'],
  ])('refuses %s with 401 Unauthorized and the challenge', async (_, token) => {
    const answer = await call('GET', '/secrets/token-ok', undefined, token());
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('Unauthorized');
    expect(answer.headers.get('www-authenticate')).toMatch(
      /^Bearer authorization="https:\/\/localhost:\d+\/[0-9a-f-]{36}", resource="https:\/\/vault\.azure\.net"$/,
    );
    expect(standIn.requests.at(-1)).toMatchObject({ status: 401 });
    expect(standIn.requests.at(-1)).not.toHaveProperty('clientId');
  });
});

describe('key-vault stand-in RBAC', () => {
  it('secrets-user reads, but a write is 403 ForbiddenByRbac; none reads nothing', async () => {
    const user = standIn.addUserAssignedIdentity('secrets-user');
    const token = standIn.mintAccessToken({ clientId: user, audience: RESOURCE });
    await call('PUT', '/secrets/rbac', { value: 'v' });
    expect((await call('GET', '/secrets/rbac', undefined, token)).status).toBe(200);
    const write = await call('PUT', '/secrets/rbac', { value: 'w' }, token);
    expect(write.status).toBe(403);
    expect(write.body.error).toMatchObject({ code: 'Forbidden', innererror: { code: 'ForbiddenByRbac' } });
    standIn.grant(user, 'none');
    expect((await call('GET', '/secrets/rbac', undefined, token)).status).toBe(403);
  });
});

describe('key-vault stand-in secret properties', () => {
  it('a disabled version is 403 Forbidden; the other versions still read', async () => {
    const v1 = versionOf(await call('PUT', '/secrets/props', { value: 'one' }));
    const v2 = versionOf(
      await call('PUT', '/secrets/props', { value: 'two', attributes: { enabled: false } }),
    );
    const latest = await call('GET', '/secrets/props');
    expect(latest.status).toBe(403);
    expect(latest.body.error?.code).toBe('Forbidden');
    expect(JSON.stringify(latest.body)).not.toContain('two');
    expect((await call('GET', `/secrets/props/${v1}`)).body['value']).toBe('one');
    const enabled = await call('PATCH', `/secrets/props/${v2}`, { attributes: { enabled: true } });
    expect(enabled.status).toBe(200);
    expect(enabled.body).not.toHaveProperty('value');
    expect((await call('GET', '/secrets/props/')).body['value']).toBe('two');
  });

  it('expired and not-yet-valid versions are returned with their exp/nbf (the reference: get works outside the window)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await call('PUT', '/secrets/expired', { value: 'old', attributes: { exp: now - 60 } });
    await call('PUT', '/secrets/future', { value: 'new', attributes: { nbf: now + 3600 } });
    const expired = await call('GET', '/secrets/expired');
    expect(expired.status).toBe(200);
    expect(expired.body['attributes']).toMatchObject({ exp: now - 60, enabled: true });
    const future = await call('GET', '/secrets/future');
    expect(future.status).toBe(200);
    expect(future.body['attributes']).toMatchObject({ nbf: now + 3600 });
  });

  it('update replaces tags and contentType; created stays, versions are 32 lowercase hex', async () => {
    const set = await call('PUT', '/secrets/tagged', { value: 'v', tags: { stage: 'pending', a: 'b' } });
    const version = versionOf(set);
    expect(version).toMatch(/^[0-9a-f]{32}$/);
    const updated = await call('PATCH', `/secrets/tagged/${version}`, {
      tags: { stage: 'current' },
      contentType: 'application/json',
    });
    expect(updated.body).toMatchObject({ tags: { stage: 'current' }, contentType: 'application/json' });
    expect((updated.body['attributes'] as { created: number }).created).toBe(
      (set.body['attributes'] as { created: number }).created,
    );
  });
});

describe('key-vault stand-in listing', () => {
  it('lists versions in version-id order, not creation order, as Key Vault does', async () => {
    const created: string[] = [];
    for (let i = 0; i < 8; i += 1)
      created.push(versionOf(await call('PUT', '/secrets/ordered', { value: `v${i}` })));
    const listed = (await call('GET', '/secrets/ordered/versions')).body['value'] as { id: string }[];
    const ids = listed.map((item) => item.id.split('/').at(-1) ?? '');
    expect(ids).toEqual([...created].sort());
    expect(listed.every((item) => !('value' in item))).toBe(true);
  });

  it('an unknown name has no versions (an empty page, not 404)', async () => {
    const answer = await call('GET', '/secrets/never-there/versions');
    expect(answer).toMatchObject({ status: 200, body: { value: [], nextLink: null } });
  });
});

describe('key-vault stand-in soft delete', () => {
  it('a deleted name refuses a new value with 409 Conflict until purged; recover brings every version back', async () => {
    const v1 = versionOf(await call('PUT', '/secrets/doomed', { value: 'one' }));
    await call('PUT', '/secrets/doomed', { value: 'two' });
    expect((await call('DELETE', '/secrets/doomed')).status).toBe(200);
    expect((await call('GET', '/secrets/doomed')).body.error?.code).toBe('SecretNotFound');
    const conflict = await call('PUT', '/secrets/doomed', { value: 'three' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error?.code).toBe('Conflict');
    expect((await call('GET', '/deletedsecrets/doomed')).status).toBe(200);
    expect((await call('POST', '/deletedsecrets/doomed/recover')).status).toBe(200);
    expect((await call('GET', `/secrets/doomed/${v1}`)).body['value']).toBe('one');
    expect((await call('DELETE', '/secrets/doomed')).status).toBe(200);
    expect((await call('DELETE', '/deletedsecrets/doomed')).status).toBe(204);
    expect((await call('GET', '/deletedsecrets/doomed')).status).toBe(404);
    expect((await call('PUT', '/secrets/doomed', { value: 'again' })).status).toBe(200);
  });
});

describe('key-vault stand-in input checks', () => {
  it.each([
    ['a name with an underscore', '/secrets/bad_name', { value: 'v' }],
    ['a name of 128 characters', `/secrets/${'a'.repeat(128)}`, { value: 'v' }],
    ['a value over 25 KiB', '/secrets/big', { value: 'x'.repeat(25 * 1024 + 1) }],
    ['no value', '/secrets/novalue', { contentType: 'text/plain' }],
    ['a contentType over 255 characters', '/secrets/ct', { value: 'v', contentType: 'x'.repeat(256) }],
  ])('refuses %s with 400 BadParameter', async (_, path, body) => {
    const answer = await call('PUT', path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('BadParameter');
  });

  it('takes a value of exactly 25 KiB and a 127-character name', async () => {
    expect((await call('PUT', `/secrets/${'a'.repeat(127)}`, { value: 'x'.repeat(25 * 1024) })).status).toBe(
      200,
    );
  });

  it('refuses maxresults over 25 and a missing api-version', async () => {
    expect((await call('GET', '/secrets?maxresults=26')).status).toBe(400);
    const res = await fetch(`${standIn.vaultUrl}/secrets`, {
      headers: { authorization: `Bearer ${officer}` },
    });
    expect(res.status).toBe(400);
  });
});

describe('key-vault stand-in faults', () => {
  it('throttles with Retry-After, then answers; the log counts both', async () => {
    await call('PUT', '/secrets/faulty', { value: 'v' });
    standIn.injectFault({
      fault: { kind: 'throttle', retryAfterSeconds: 7 },
      method: 'GET',
      pathPrefix: '/secrets/faulty',
    });
    const before = standIn.requests.length;
    const throttled = await call('GET', '/secrets/faulty');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.body.error?.code).toBe('Throttled');
    expect((await call('GET', '/secrets/faulty')).status).toBe(200);
    expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
  });

  it('answers 5xx the given number of times, only for matching requests', async () => {
    standIn.injectFault({
      fault: { kind: 'status', status: 503 },
      times: 2,
      method: 'GET',
      pathPrefix: '/secrets/faulty',
    });
    expect((await call('PUT', '/secrets/faulty', { value: 'v2' })).status).toBe(200);
    expect((await call('GET', '/secrets/faulty')).status).toBe(503);
    expect((await call('GET', '/secrets/faulty')).status).toBe(503);
    expect((await call('GET', '/secrets/faulty')).status).toBe(200);
  });

  it('drops the connection, and a slow answer still arrives', async () => {
    standIn.injectFault({ fault: { kind: 'drop' } });
    await expect(call('GET', '/secrets/faulty')).rejects.toThrow();
    expect(standIn.requests.at(-1)).toMatchObject({ status: 0 });
    standIn.injectFault({ fault: { kind: 'slow', delayMs: 50 } });
    expect((await call('GET', '/secrets/faulty')).status).toBe(200);
  });

  it('never faults the unauthenticated challenge request', async () => {
    standIn.injectFault({ fault: { kind: 'status', status: 500 } });
    expect((await fetch(`${standIn.vaultUrl}/secrets/faulty?api-version=${V}`)).status).toBe(401);
    expect((await call('GET', '/secrets/faulty')).status).toBe(500);
  });
});
