import { randomBytes } from 'node:crypto';

import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startMoto } from '../../../test/peers/peers.js';
import { backendConfigSchema } from '../../config/backend-config.js';
import { isCofreError } from '../../errors.js';
import { openBackend } from '../open-backend.js';
import { SecretResolver } from '../secret-resolver.js';
import { SecretValue } from '../secret-value.js';
import type { AwsSecretsManagerBackend } from './aws-secrets-manager-backend.js';
import { openTestBackend, TEST_CREDENTIALS } from './testdata/moto-backend.js';

const moto = await peerOrSkip('moto', startMoto);

afterAll(async () => {
  await moto?.stop();
});

describe.skipIf(moto === undefined)('AwsSecretsManagerBackend against moto', () => {
  let backend: AwsSecretsManagerBackend;
  let sdk: SecretsManagerClient;
  const run = randomBytes(4).toString('hex');
  const path = (leaf: string): string => `cofre-it-${run}/${leaf}`;
  const json = (o: Record<string, string>): SecretValue => SecretValue.fromText(JSON.stringify(o));

  beforeAll(async () => {
    backend = await openTestBackend(moto!.endpoint);
    // A plain SDK client, to look at what cofre stored the way another AWS tool would.
    sdk = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: moto!.endpoint,
      credentials: TEST_CREDENTIALS,
    });
  });

  afterAll(async () => {
    sdk.destroy();
    await backend.close();
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('rotates like AWS: pending beside current, promote, previous kept, every version readable by VersionId', async () => {
    const p = path('rotation');
    const v1 = await backend.write(p, json({ apiKey: 'k1', secret: 's1' }));
    const v2 = await backend.write(p, json({ apiKey: 'k2', secret: 's2' }), { stage: 'pending' });
    expect(v1).toMatch(/^[0-9a-f-]{36}$/);

    const resolver = new SecretResolver({
      backends: [backend],
      defaultCache: { ttlMs: 0, staleIfErrorMs: 0 },
    });
    expect((await resolver.resolve(`aws:${p}#secret`)).text()).toBe('s1');
    expect((await resolver.resolve(`aws:${p}#secret@stage=pending`)).text()).toBe('s2');
    expect((await resolver.resolve(`aws:${p}#secret@stage=current`)).text()).toBe('s1');

    const staged = await backend.describe(p);
    expect(staged.stages).toEqual({ current: v1, pending: v2 });

    await backend.moveStage(p, 'current', v2);
    const promoted = await backend.describe(p);
    expect(promoted.stages).toEqual({ current: v2, previous: v1 });
    expect((await resolver.resolve(`aws:${p}#secret`)).text()).toBe('s2');
    expect((await resolver.resolve(`aws:${p}#secret@stage=previous`)).text()).toBe('s1');
    const pendingGone = await backend.read(p, { kind: 'stage', stage: 'pending' }).catch((e: unknown) => e);
    expect(isCofreError(pendingGone, 'COFRE_SECRET_NOT_FOUND')).toBe(true);

    // A second rotation leaves v1 without a label ("deprecated" in AWS terms): still listed and readable by id.
    const v3 = await backend.write(p, json({ apiKey: 'k3', secret: 's3' }), { stage: 'pending' });
    await backend.moveStage(p, 'current', v3);
    const meta = await backend.describe(p);
    expect(meta.stages).toEqual({ current: v3, previous: v2 });
    expect(meta.versions.map((v) => v.version)).toEqual([v1, v2, v3]);
    expect(meta.versions.map((v) => v.stages)).toEqual([[], ['previous'], ['current']]);
    expect((await resolver.resolve(`aws:${p}#apiKey@${v1}`)).text()).toBe('k1');
    const byId = await backend.read(p, { kind: 'version', version: v2 });
    expect(byId.version).toBe(v2);
    expect(JSON.parse(byId.value.text())).toEqual({ apiKey: 'k2', secret: 's2' });

    // What AWS itself holds: the labels cofre's stages map to.
    const raw = await sdk.send(new DescribeSecretCommand({ SecretId: p }));
    expect(raw.VersionIdsToStages?.[v3]).toEqual(['AWSCURRENT']);
    expect(raw.VersionIdsToStages?.[v2]).toEqual(['AWSPREVIOUS']);
    resolver.invalidate(); // not close(): that would close the shared backend
  });

  it('moves previous and pending on their own, without touching current', async () => {
    const p = path('labels');
    const v1 = await backend.write(p, json({ secret: 'one' }));
    const v2 = await backend.write(p, json({ secret: 'two' }));
    const v3 = await backend.write(p, json({ secret: 'three' }));
    await backend.moveStage(p, 'pending', v1);
    await backend.moveStage(p, 'previous', v1);
    expect((await backend.describe(p)).stages).toEqual({ current: v3, previous: v1, pending: v1 });
    await backend.moveStage(p, 'pending', v2);
    expect((await backend.describe(p)).stages).toEqual({ current: v3, previous: v1, pending: v2 });
  });

  it('clears a stage by removing its staging label only: other labels and the version stay', async () => {
    const p = path('clear-labels');
    const v1 = await backend.write(p, json({ secret: 'one' }));
    const v2 = await backend.write(p, json({ secret: 'two' }));
    const v3 = await backend.write(p, json({ secret: 'three' }), { stage: 'pending' });
    await backend.moveStage(p, 'pending', v2);
    let raw = await sdk.send(new DescribeSecretCommand({ SecretId: p }));
    expect(raw.VersionIdsToStages?.[v2]?.slice().sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);

    await backend.clearStage(p, 'pending');
    await backend.clearStage(p, 'previous');
    raw = await sdk.send(new DescribeSecretCommand({ SecretId: p }));
    expect(raw.VersionIdsToStages?.[v2]).toEqual(['AWSCURRENT']);
    expect(raw.VersionIdsToStages?.[v1] ?? []).toEqual([]);
    expect(raw.VersionIdsToStages?.[v3] ?? []).toEqual([]);
    // Unlabelled ("deprecated" to AWS) but kept: still readable by VersionId.
    const old = await sdk.send(new GetSecretValueCommand({ SecretId: p, VersionId: v1 }));
    expect(old.SecretString).toBe('{"secret":"one"}');
    expect((await backend.describe(p)).versions.map((v) => v.version).sort()).toEqual([v1, v2, v3].sort());
  });

  it('clears AWSPENDING off a first version that AWS also made current, leaving it current', async () => {
    const p = path('clear-first-pending');
    const v1 = await backend.write(p, json({ secret: 'first' }), { stage: 'pending' });
    await backend.clearStage(p, 'pending');
    expect((await backend.describe(p)).stages).toEqual({ current: v1 });
    expect((await backend.read(p, { kind: 'latest' })).version).toBe(v1);
  });

  it('stores text as SecretString and other bytes as SecretBinary, and round-trips both exactly', async () => {
    const text = path('text');
    const binary = path('binary');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3]), randomBytes(64)]);
    await backend.write(text, json({ secret: 'texto' }));
    await backend.write(binary, SecretValue.copyOf(bytes));

    const asText = await sdk.send(new GetSecretValueCommand({ SecretId: text }));
    expect(asText.SecretString).toBe('{"secret":"texto"}');
    expect(asText.SecretBinary).toBeUndefined();
    const asBinary = await sdk.send(new GetSecretValueCommand({ SecretId: binary }));
    expect(asBinary.SecretString).toBeUndefined();
    expect(Buffer.from(asBinary.SecretBinary!).equals(bytes)).toBe(true);

    expect((await backend.read(binary, { kind: 'latest' })).value.bytes().equals(bytes)).toBe(true);
    const resolver = new SecretResolver({ backends: [backend] });
    const field = await resolver.resolve(`aws:${binary}#secret`).catch((e: unknown) => e);
    expect(isCofreError(field, 'COFRE_SECRET_FIELD_INVALID')).toBe(true);
    resolver.invalidate(); // not close(): that would close the shared backend
  });

  it('reads by full ARN (":" in the path), with or without a prefix configured', async () => {
    const p = path('by-arn');
    const version = await backend.write(p, json({ apiKey: 'arn-key' }));
    const { ARN: arn } = await sdk.send(new DescribeSecretCommand({ SecretId: p }));
    expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:/);

    const prefixed = await openTestBackend(moto!.endpoint, { prefix: 'elsewhere/' });
    try {
      for (const b of [backend, prefixed]) {
        const resolver = new SecretResolver({ backends: [b] });
        const record = await resolver.resolveRecord(`aws:${arn!}#apiKey`);
        expect(record.value.text()).toBe('arn-key');
        expect(record.version).toBe(version);
        expect((await b.describe(arn!)).stages.current).toBe(version);
        resolver.invalidate(); // not close(): that would close the shared backend
      }
    } finally {
      await prefixed.close();
    }
  });

  it('applies the prefix to names: reads and lists under it, and lists names without it', async () => {
    const prefix = `cofre-prefix-${run}/`;
    const prefixed = await openTestBackend(moto!.endpoint, { prefix });
    try {
      await prefixed.write('binance', json({ secret: 'inside' }));
      await backend.write(`cofre-prefix-${run}-outside/binance`, json({ secret: 'outside' }));
      const raw = await sdk.send(new GetSecretValueCommand({ SecretId: `${prefix}binance` }));
      expect(raw.SecretString).toBe('{"secret":"inside"}');
      expect(await prefixed.list()).toEqual(['binance']);
      expect(await backend.list()).toContain(`${prefix}binance`);
    } finally {
      await prefixed.close();
    }
  });

  it('writes a pending first version of a new secret with AWSPENDING (AWS adds AWSCURRENT to a first version)', async () => {
    const p = path('pending-first');
    const v1 = await backend.write(p, json({ secret: 'first' }), { stage: 'pending' });
    expect((await backend.describe(p)).stages).toEqual({ current: v1, pending: v1 });
    await backend.moveStage(p, 'current', v1);
    expect((await backend.describe(p)).stages).toEqual({ current: v1 });
  });

  it('keeps every version of concurrent first writes to one new name (create races fall back to put)', async () => {
    const p = path('racing-create');
    const written = await Promise.all(
      Array.from({ length: 6 }, (_, i) => backend.write(p, json({ secret: `w${i}` }))),
    );
    expect(new Set(written).size).toBe(6);
    const ids = (await backend.describe(p)).versions.map((v) => v.version);
    expect([...ids].sort()).toEqual([...written].sort());
  });

  it('with recoveryWindowDays, schedules deletion: the secret reads as not found, "scheduled for deletion"', async () => {
    const scheduled = await openTestBackend(moto!.endpoint, { recoveryWindowDays: 7 });
    try {
      const p = path('scheduled');
      await scheduled.write(p, json({ secret: 'x' }));
      await scheduled.remove(p);
      for (const err of [
        await scheduled.read(p, { kind: 'latest' }).catch((e: unknown) => e),
        await scheduled.describe(p).catch((e: unknown) => e),
        await scheduled.remove(p).catch((e: unknown) => e),
        // Even with nothing to clear: a secret AWS will delete has no stages to report as cleared.
        await scheduled.clearStage(p, 'pending').catch((e: unknown) => e),
      ]) {
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
        expect((err as Error).message).toContain(`aws:${p}`);
        expect((err as Error).message).toContain('scheduled for deletion');
      }
      expect(await scheduled.list()).not.toContain(p);
      // Still there for `aws secretsmanager restore-secret`.
      const raw = await sdk.send(new DescribeSecretCommand({ SecretId: p }));
      expect(raw.DeletedDate).toBeInstanceOf(Date);
    } finally {
      await scheduled.close();
    }
  });

  it('deletes at once by default, and reports removing a missing secret as not found', async () => {
    const p = path('forced');
    await backend.write(p, json({ secret: 'x' }));
    await backend.remove(p);
    const gone = await sdk.send(new DescribeSecretCommand({ SecretId: p })).catch((e: unknown) => e);
    expect((gone as Error).name).toBe('ResourceNotFoundException');
    const again = await backend.remove(p).catch((e: unknown) => e);
    expect(isCofreError(again, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
  });

  it('rejects names AWS would refuse and bad values before calling AWS, without echoing them', async () => {
    const pasted = 'sk_live_0123456789abcdef ghijk';
    const badName = await backend.read(pasted, { kind: 'latest' }).catch((e: unknown) => e);
    expect(isCofreError(badName, 'COFRE_INPUT_INVALID')).toBe(true);
    expect((badName as Error).message).not.toContain('sk_live');
    const badArn = await backend.read('arn:aws:s3:::bucket', { kind: 'latest' }).catch((e: unknown) => e);
    expect(isCofreError(badArn, 'COFRE_INPUT_INVALID')).toBe(true);
    const tooLong = await backend
      .write(path('big'), SecretValue.copyOf(Buffer.alloc(65_537, 0x61)))
      .catch((e: unknown) => e);
    expect(isCofreError(tooLong, 'COFRE_SECRET_VALUE_INVALID')).toBe(true);
    const empty = await backend.write(path('empty'), SecretValue.fromText('')).catch((e: unknown) => e);
    expect(isCofreError(empty, 'COFRE_SECRET_VALUE_INVALID')).toBe(true);
    const shortVersion = await backend
      .read(path('big'), { kind: 'version', version: '3' })
      .catch((e: unknown) => e);
    expect(isCofreError(shortVersion, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
  });

  it('opens from config and takes credentials from the SDK default provider chain (here: environment)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLEONLY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'example-only');
    const config = backendConfigSchema.parse({
      type: 'aws-secrets-manager',
      region: 'us-east-1',
      endpoint: moto!.endpoint,
      maxAttempts: 2,
    });
    const fromConfig = await openBackend('aws', config);
    try {
      expect(fromConfig.type).toBe('aws-secrets-manager');
      const p = path('from-config');
      const version = await fromConfig.write(p, json({ secret: 'configured' }));
      expect((await backend.read(p, { kind: 'latest' })).version).toBe(version);
    } finally {
      await fromConfig.close();
    }
  });

  it('fails closed without credentials (COFRE_BACKEND_DENIED) and refuses to open without a region', async () => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/cofre-test/config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/cofre-test/credentials');
    vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', undefined);
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', undefined);
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', undefined);
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');

    const noRegion = await openBackend(
      'aws',
      backendConfigSchema.parse({ type: 'aws-secrets-manager', endpoint: moto!.endpoint }),
    ).catch((e: unknown) => e);
    expect(isCofreError(noRegion, 'COFRE_CONFIG_INVALID')).toBe(true);
    expect((noRegion as Error).message).toMatch(/no AWS region/);

    const noCredentials = await openBackend(
      'aws',
      backendConfigSchema.parse({
        type: 'aws-secrets-manager',
        region: 'us-east-1',
        endpoint: moto!.endpoint,
      }),
    );
    try {
      const err = await noCredentials.read(path('anything'), { kind: 'latest' }).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
      expect((err as Error).message).toContain(`aws:${path('anything')}`);
      expect((err as Error).message).toMatch(/no AWS credentials/);
    } finally {
      await noCredentials.close();
    }
  });

  it('is unusable after close, and close is idempotent', async () => {
    const closing = await openTestBackend(moto!.endpoint);
    await closing.close();
    await closing.close();
    const err = await closing.read(path('x'), { kind: 'latest' }).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_CLOSED')).toBe(true);
  });
});
