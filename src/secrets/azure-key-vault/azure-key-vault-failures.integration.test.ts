/**
 * The Azure Key Vault backend's failure paths, through the official SDK against the Key Vault stand-in: version
 * properties (disabled, expired, not yet valid), stages as tags seen by a second client, throttling and outages
 * within `maxRetries`, 401/403 never retried, names Key Vault refuses, soft-deleted names, the response limit.
 * Requests are counted in the stand-in's log; nothing here asserts a duration.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { CofreError } from '../../errors.js';
import type { BackendLogFields, BackendLogLevel } from '../backend-log.js';
import type { SecretBackend } from '../secret-backend.js';
import { SecretResolver } from '../secret-resolver.js';
import { SecretValue } from '../secret-value.js';
import type { AzureKeyVaultOpenOptions } from './azure-key-vault-backend.js';
import { openOnPeer } from './testdata/key-vault-peers.js';

const standIn = await startKeyVaultStandIn();
const peer = { label: 'stand-in', ...standIn };

afterAll(async () => {
  await standIn.stop();
});
const opened: SecretBackend[] = [];
afterEach(async () => {
  standIn.clearFaults();
  standIn.grant(standIn.systemAssignedClientId, 'secrets-officer');
  await Promise.all(opened.splice(0).map((b) => b.close()));
  vi.unstubAllEnvs();
});

type LogLine = [BackendLogLevel, string, BackendLogFields | undefined];

async function open(
  overrides: Record<string, unknown> = {},
  log: LogLine[] = [],
  options: AzureKeyVaultOpenOptions = {},
): Promise<SecretBackend> {
  const backend = await openOnPeer(peer, overrides, {
    log: (level, message, fields) => log.push([level, message, fields]),
    ...options,
  });
  opened.push(backend);
  return backend;
}

/** A second client, as another tool (the portal, `az`) would see the vault. */
function rawClient(): SecretClient {
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
  return new SecretClient(standIn.vaultUrl, new ManagedIdentityCredential(), {
    disableChallengeResourceVerification: true,
  });
}

const fresh = (leaf: string): string => `${leaf}-${randomBytes(4).toString('hex')}`;
const json = (o: Record<string, string>): SecretValue => SecretValue.fromText(JSON.stringify(o));

async function failure(promise: Promise<unknown>): Promise<CofreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofreError);
  return err as CofreError;
}

/** Data-plane requests for one secret name (its versions, its listing) from `from` on. */
function requestsFor(name: string, from = 0): typeof standIn.requests {
  return standIn.requests.slice(from).filter((r) => r.url.startsWith(`/secrets/${name}`));
}

describe('version properties: never a value from a version Key Vault marks unusable', () => {
  it.each([
    ['disabled', { enabled: false }, /is disabled/],
    ['expired', { expiresOn: new Date(Date.now() - 60_000) }, /expired at/],
    ['not yet valid', { notBefore: new Date(Date.now() + 3_600_000) }, /not valid before/],
  ] as const)(
    'refuses a %s version with COFRE_SECRET_DISABLED naming the reference',
    async (_, props, why) => {
      const backend = await open();
      const name = fresh('props');
      const canary = `canary-${randomBytes(8).toString('hex')}`;
      const version = await backend.write(name, json({ secret: canary }));
      await rawClient().updateSecretProperties(name, version, props);

      for (const selector of [
        { kind: 'latest' },
        { kind: 'version', version },
        { kind: 'stage', stage: 'current' },
      ] as const) {
        const err = await failure(backend.read(name, selector));
        expect(err.code).toBe('COFRE_SECRET_DISABLED');
        expect(err.message).toContain(`azure:${name}`);
        expect(err.message).toMatch(why);
        expect(JSON.stringify({ m: err.message, s: err.stack, d: err.details })).not.toContain(canary);
      }
      const described = await backend.describe(name);
      expect(described.versions).toEqual([
        expect.objectContaining({ version, deleted: true, stages: ['current'] }),
      ]);
    },
  );

  it('serves a version again once it is enabled and valid', async () => {
    const backend = await open();
    const name = fresh('props-again');
    const version = await backend.write(name, json({ secret: 'back' }));
    const raw = rawClient();
    await raw.updateSecretProperties(name, version, { enabled: false });
    expect((await failure(backend.read(name, { kind: 'latest' }))).code).toBe('COFRE_SECRET_DISABLED');
    await raw.updateSecretProperties(name, version, { enabled: true });
    expect((await backend.read(name, { kind: 'latest' })).value.text()).toBe('{"secret":"back"}');
  });

  it('does not fall back to another version when current is disabled', async () => {
    const backend = await open();
    const name = fresh('no-fallback');
    await backend.write(name, json({ secret: 'old' }));
    const v2 = await backend.write(name, json({ secret: 'new' }));
    await rawClient().updateSecretProperties(name, v2, { enabled: false });
    expect((await failure(backend.read(name, { kind: 'latest' }))).code).toBe('COFRE_SECRET_DISABLED');
    expect((await backend.read(name, { kind: 'stage', stage: 'previous' })).value.text()).toBe(
      '{"secret":"old"}',
    );
  });
});

describe('values and content type', () => {
  it('stores a JSON object with content type application/json, so #field resolves; plain text without', async () => {
    const backend = await open();
    const name = fresh('typed');
    const plain = fresh('plain');
    await backend.write(name, json({ apiKey: 'k-1', secret: 's-1' }));
    await backend.write(plain, SecretValue.fromText('just-a-token'));
    const raw = rawClient();
    expect((await raw.getSecret(name)).properties.contentType).toBe('application/json');
    expect((await raw.getSecret(plain)).properties.contentType).toBeUndefined();

    const resolver = new SecretResolver({ backends: [backend] });
    expect((await resolver.resolve(`azure:${name}#apiKey`)).text()).toBe('k-1');
    expect((await resolver.resolve(`azure:${plain}`)).text()).toBe('just-a-token');
  });

  it('refuses values Key Vault cannot hold, before sending anything', async () => {
    const backend = await open();
    const name = fresh('bad-values');
    const before = standIn.requests.length;
    for (const value of [
      SecretValue.copyOf(Buffer.from([0xff, 0xfe, 0x00])),
      SecretValue.fromText(''),
      SecretValue.fromText('x'.repeat(25 * 1024 + 1)),
    ]) {
      expect((await failure(backend.write(name, value))).code).toBe('COFRE_SECRET_VALUE_INVALID');
    }
    expect(standIn.requests.length).toBe(before);
  });
});

describe('stages are tags other clients see', () => {
  it('tags versions cofre-stage=current/previous/pending and moves them on promotion', async () => {
    const backend = await open();
    const name = fresh('tags');
    const v1 = await backend.write(name, json({ secret: 'one' }));
    const v2 = await backend.write(name, json({ secret: 'two' }), { stage: 'pending' });
    const tags = async (): Promise<Record<string, string | undefined>> => {
      const out: Record<string, string | undefined> = {};
      for await (const p of rawClient().listPropertiesOfSecretVersions(name))
        out[p.version!] = p.tags?.['cofre-stage'];
      return out;
    };
    expect(await tags()).toEqual({ [v1]: 'current', [v2]: 'pending' });
    await backend.moveStage(name, 'current', v2);
    expect(await tags()).toEqual({ [v1]: 'previous', [v2]: 'current' });
    await backend.clearStage(name, 'previous');
    expect(await tags()).toEqual({ [v1]: 'none', [v2]: 'current' });
    expect((await backend.read(name, { kind: 'latest' })).version).toBe(v2);
  });

  it('reads a secret cofre never staged at its newest version, and keeps it current when a pending one is written', async () => {
    const backend = await open();
    const name = fresh('foreign');
    const raw = rawClient();
    await raw.setSecret(name, 'first');
    const newest = (await raw.setSecret(name, 'second')).properties.version!;
    const latest = await backend.read(name, { kind: 'latest' });
    expect(latest.version).toBe(newest);
    expect(latest.value.text()).toBe('second');
    expect((await backend.describe(name)).stages).toEqual({ current: newest });

    const pending = await backend.write(name, SecretValue.fromText('third'), { stage: 'pending' });
    expect((await backend.read(name, { kind: 'latest' })).version).toBe(newest);
    expect((await backend.describe(name)).stages).toEqual({ current: newest, pending });
  });

  it('does not make a version written by another tool current once cofre stages the secret', async () => {
    const backend = await open();
    const name = fresh('foreign-after');
    const v1 = await backend.write(name, SecretValue.fromText('cofre'));
    const foreign = (await rawClient().setSecret(name, 'portal')).properties.version!;
    expect((await backend.read(name, { kind: 'latest' })).version).toBe(v1);
    await backend.moveStage(name, 'current', foreign);
    expect((await backend.describe(name)).stages).toEqual({ current: foreign, previous: v1 });
    expect((await backend.read(name, { kind: 'latest' })).value.text()).toBe('portal');
  });
});

describe('two cofre processes on one secret', () => {
  it('concurrent writes leave the newest version current; the next write cleans the stale tags', async () => {
    // Two backends stand for two processes: nothing serializes them but Key Vault.
    const [a, b] = [await open(), await open()];
    const name = fresh('two-writers');
    await a.write(name, SecretValue.fromText('v0'));
    for (let round = 0; round < 3; round++) {
      const written = await Promise.all([
        a.write(name, SecretValue.fromText(`a${round}`)),
        b.write(name, SecretValue.fromText(`b${round}`)),
      ]);
      const meta = await a.describe(name);
      const newest = meta.versions.at(-1)?.version;
      expect(written).toContain(newest);
      expect(meta.stages.current).toBe(newest);
      expect((await b.read(name, { kind: 'latest' })).version).toBe(newest);
    }
    const last = await b.write(name, SecretValue.fromText('alone'));
    const tags: string[] = [];
    for await (const p of rawClient().listPropertiesOfSecretVersions(name))
      tags.push(p.tags?.['cofre-stage'] ?? '');
    expect(tags.filter((t) => t === 'current')).toHaveLength(1);
    expect(tags.filter((t) => t === 'previous')).toHaveLength(1);
    expect(tags.filter((t) => t === 'none')).toHaveLength(tags.length - 2);
    expect((await a.describe(name)).stages.current).toBe(last);
  });
});

describe('retries within bounds', () => {
  async function seeded(
    overrides: Record<string, unknown> = {},
    log: LogLine[] = [],
    options: AzureKeyVaultOpenOptions = {},
  ) {
    const backend = await open(overrides, log, options);
    const name = fresh('retry');
    const version = await backend.write(name, json({ secret: 'kept' }));
    // The challenge handshake is done: every request from here carries a token, so faults apply to it.
    return { backend, name, version, from: standIn.requests.length };
  }

  it('recovers from throttling by honouring Retry-After, within maxRetries, and logs it', async () => {
    const log: LogLine[] = [];
    const { backend, name, version, from } = await seeded({ maxRetries: 3 }, log);
    standIn.injectFault({
      fault: { kind: 'throttle', retryAfterSeconds: 1 },
      times: 2,
      pathPrefix: `/secrets/${name}`,
    });
    const record = await backend.read(name, { kind: 'version', version });
    expect(record.value.text()).toBe('{"secret":"kept"}');
    expect(requestsFor(name, from).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(log).toContainEqual([
      'warn',
      'Azure Key Vault call succeeded after retries',
      expect.objectContaining({
        reference: `azure:${name}@${version}`,
        operation: 'GetSecret',
        retries: 2,
        throttled: 2,
      }),
    ]);
  });

  it('cuts a Retry-After of an hour to its ceiling: the call is retried, not parked', async () => {
    const { backend, name, version, from } = await seeded({ maxRetries: 1 }, [], { maxRetryAfterMs: 500 });
    standIn.injectFault({
      fault: { kind: 'throttle', retryAfterSeconds: 3600 },
      pathPrefix: `/secrets/${name}`,
    });
    expect((await backend.read(name, { kind: 'version', version })).version).toBe(version);
    expect(requestsFor(name, from).map((r) => r.status)).toEqual([429, 200]);
  });

  it('gives up on a persistent 5xx after exactly 1 + maxRetries attempts: COFRE_BACKEND_UNAVAILABLE', async () => {
    const { backend, name, version, from } = await seeded({ maxRetries: 2 });
    standIn.injectFault({
      fault: { kind: 'status', status: 503 },
      times: 10,
      pathPrefix: `/secrets/${name}`,
    });
    const err = await failure(backend.read(name, { kind: 'version', version }));
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`azure:${name}@${version}`);
    expect(requestsFor(name, from).map((r) => r.status)).toEqual([503, 503, 503]);
  });

  it('times out a slow attempt after requestTimeout, retries it, then reports unavailable', async () => {
    const log: LogLine[] = [];
    const { backend, name, version, from } = await seeded({ maxRetries: 1, requestTimeout: '200ms' }, log);
    standIn.injectFault({
      fault: { kind: 'slow', delayMs: 5_000 },
      times: 2,
      pathPrefix: `/secrets/${name}`,
    });
    const err = await failure(backend.read(name, { kind: 'version', version }));
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(log).toContainEqual([
      'warn',
      'Azure Key Vault call failed',
      expect.objectContaining({ attempts: 2, timedOut: 2 }),
    ]);
    await vi.waitFor(() => {
      expect(requestsFor(name, from)).toHaveLength(2);
    });
  });

  it('retries a dropped connection: recovers from one, reports unavailable after 1 + maxRetries', async () => {
    const { backend, name, version, from } = await seeded({ maxRetries: 2 });
    standIn.injectFault({ fault: { kind: 'drop' }, times: 1, pathPrefix: `/secrets/${name}` });
    expect((await backend.read(name, { kind: 'version', version })).version).toBe(version);
    expect(requestsFor(name, from).map((r) => r.status)).toEqual([0, 200]);

    const mark = standIn.requests.length;
    standIn.injectFault({ fault: { kind: 'drop' }, times: 10, pathPrefix: `/secrets/${name}` });
    const err = await failure(backend.read(name, { kind: 'version', version }));
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    await vi.waitFor(() => {
      expect(requestsFor(name, mark)).toHaveLength(3);
    });
  });
});

describe('401 and 403 are never retried', () => {
  it('403 (no role): one request after the handshake, COFRE_BACKEND_DENIED naming the role to grant', async () => {
    const backend = await open({ maxRetries: 3 });
    const name = fresh('denied');
    const version = await backend.write(name, SecretValue.fromText('x'));
    standIn.grant(standIn.systemAssignedClientId, 'none');
    const from = standIn.requests.length;
    const err = await failure(backend.read(name, { kind: 'version', version }));
    expect(err.code).toBe('COFRE_BACKEND_DENIED');
    expect(err.message).toContain('Key Vault Secrets User');
    expect(err.message).not.toMatch(/DeniedWithNoValidRBAC|Caller is not authorized/);
    expect(requestsFor(name, from).map((r) => r.status)).toEqual([403]);
  });

  it('401 (a token this vault does not accept): the handshake, one request with the token, no resend', async () => {
    // Tokens from this stand-in's identity endpoint, sent to another stand-in that signs with another key.
    const other = await startKeyVaultStandIn();
    try {
      const backend = await openOnPeer(
        {
          label: 'other',
          vaultUrl: other.vaultUrl,
          authorityHost: other.authorityHost,
          imdsHost: standIn.imdsHost,
        },
        { maxRetries: 3 },
      );
      opened.push(backend);
      // First call: the challenge (no token), then the request with the token, refused.
      const first = await failure(backend.read('who-am-i', { kind: 'latest' }));
      expect(first.code).toBe('COFRE_BACKEND_DENIED');
      expect(other.requests.map((r) => r.status)).toEqual([401, 401]);
      // Later calls send the cached token at once; the SDK's challenge policy would resend it on the 401.
      const second = await failure(backend.read('who-am-i', { kind: 'latest' }));
      expect(second.code).toBe('COFRE_BACKEND_DENIED');
      expect(other.requests.map((r) => r.status)).toEqual([401, 401, 401]);
    } finally {
      await other.stop();
    }
  });
});

describe('least privilege', () => {
  it('reads with "Key Vault Secrets User" only (latest, stages, versions, list); writing is denied, naming the role', async () => {
    const officer = await open();
    const name = fresh('reader');
    const v1 = await officer.write(name, SecretValue.fromText('old'));
    const v2 = await officer.write(name, SecretValue.fromText('new'), { stage: 'pending' });
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const reader = await open({ credential: { type: 'managed-identity', clientId } });
    expect((await reader.read(name, { kind: 'latest' })).version).toBe(v1);
    expect((await reader.read(name, { kind: 'stage', stage: 'pending' })).value.text()).toBe('new');
    const meta = await reader.describe(name);
    expect(meta.stages).toEqual({ current: v1, pending: v2 });
    for (const v of meta.versions) expect(v.updatedAt).toBeInstanceOf(Date);
    expect(await reader.list()).toContain(name);
    const denied = await failure(reader.moveStage(name, 'current', v2));
    expect(denied.code).toBe('COFRE_BACKEND_DENIED');
    expect(denied.message).toContain('Key Vault Secrets Officer');
    expect((await failure(reader.write(name, SecretValue.fromText('x')))).code).toBe('COFRE_BACKEND_DENIED');
    expect((await officer.describe(name)).stages).toEqual({ current: v1, pending: v2 });
  });
});

describe('TLS', () => {
  it('trusts the CA it is given for the vault, and names an untrusted certificate without retrying', async () => {
    const name = fresh('tls');
    await (await open()).write(name, SecretValue.fromText('x'));
    const trusting = await open({}, [], { tlsCa: readFileSync(standIn.caFile, 'utf8') });
    expect((await trusting.read(name, { kind: 'latest' })).value.text()).toBe('x');

    const from = standIn.requests.length;
    const log: LogLine[] = [];
    const other = await open({ maxRetries: 3 }, log, { tlsCa: rootCertificates[0] ?? '' });
    const err = await failure(other.read(name, { kind: 'latest' }));
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(err.message).toContain('TLS certificate is not trusted');
    expect(standIn.requests.length).toBe(from); // no TLS session, no request
    expect(log).toContainEqual([
      'warn',
      'Azure Key Vault call failed',
      expect.objectContaining({ attempts: 1 }),
    ]);
  });
});

describe('paging', () => {
  it('lists every version and every secret across pages (Key Vault pages hold at most 25)', async () => {
    const backend = await open();
    const name = fresh('paged');
    const first = await backend.write(name, SecretValue.fromText('v-0'));
    const written = [first];
    for (let i = 1; i < 28; i++) written.push(await backend.write(name, SecretValue.fromText(`v-${i}`)));
    const from = standIn.requests.length;
    const meta = await backend.describe(name);
    expect(meta.versions.map((v) => v.version)).toEqual(written);
    expect(requestsFor(name, from).length).toBeGreaterThan(1);
    expect(meta.stages).toEqual({ current: written[27], previous: written[26] });
    await backend.moveStage(name, 'current', first);
    expect((await backend.read(name, { kind: 'latest' })).value.text()).toBe('v-0');

    const names = Array.from({ length: 27 }, (_, i) => fresh(`listed-${i}`));
    for (const n of names) await backend.write(n, SecretValue.fromText('x'));
    const listed = await backend.list();
    for (const n of names) expect(listed).toContain(n);
  });
});

describe('names and soft delete', () => {
  it('refuses a name Key Vault cannot hold, saying which name to use, before any request', async () => {
    const backend = await open();
    const before = standIn.requests.length;
    const err = await failure(backend.read('binance_api', { kind: 'latest' }));
    expect(err.code).toBe('COFRE_REFERENCE_INVALID');
    expect(err.message).toContain('"binance-api"');
    expect(err.message).toContain('letters, digits and dashes');
    expect((await failure(backend.write('a/b', SecretValue.fromText('x')))).message).toContain('"a-b"');
    expect((await failure(backend.write('x'.repeat(128), SecretValue.fromText('x')))).code).toBe(
      'COFRE_REFERENCE_INVALID',
    );
    expect(standIn.requests.length).toBe(before);
  });

  it('says a soft-deleted name must be recovered or purged when written again; purgeOnDelete frees it', async () => {
    const backend = await open();
    const name = fresh('soft');
    await backend.write(name, SecretValue.fromText('one'));
    await backend.remove(name);
    const err = await failure(backend.write(name, SecretValue.fromText('two')));
    expect(err.code).toBe('COFRE_INPUT_INVALID');
    expect(err.message).toMatch(/soft delete/);
    expect(err.message).toMatch(/recover it/);
    expect(err.message).toMatch(/purge it/);
    expect(err.message).not.toMatch(/currently in a deleted but recoverable state/);

    const purging = await open({ purgeOnDelete: true });
    const other = fresh('purged');
    await purging.write(other, SecretValue.fromText('one'));
    await purging.remove(other);
    await purging.write(other, SecretValue.fromText('two'));
    expect((await purging.read(other, { kind: 'latest' })).value.text()).toBe('two');
  });
});

describe('response size limit', () => {
  it('refuses an answer over maxResponseSize with COFRE_BACKEND_RESPONSE_TOO_LARGE, not retried', async () => {
    const writer = await open();
    const name = fresh('large');
    const version = await writer.write(name, SecretValue.fromText('y'.repeat(6000)));
    const small = fresh('small');
    await writer.write(small, SecretValue.fromText('small'));
    const reader = await open({ maxResponseSize: 4096, maxRetries: 3 });
    expect((await reader.read(small, { kind: 'latest' })).value.text()).toBe('small'); // and the handshake
    const from = standIn.requests.length;
    const err = await failure(reader.read(name, { kind: 'version', version }));
    expect(err.code).toBe('COFRE_BACKEND_RESPONSE_TOO_LARGE');
    expect(err.message).toContain('maxResponseSize');
    expect(requestsFor(name, from)).toHaveLength(1);
  });
});
