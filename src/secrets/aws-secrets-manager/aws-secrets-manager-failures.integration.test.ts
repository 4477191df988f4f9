import { inspect } from 'node:util';

import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { leaks, makeCanary } from '../../../test/invariants/canary.js';
import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { freePort, startMoto } from '../../../test/peers/peers.js';
import { CofreError, isCofreError } from '../../errors.js';
import type { BackendLogFields, BackendLogLevel } from '../backend-log.js';
import { SecretResolver } from '../secret-resolver.js';
import { SecretValue } from '../secret-value.js';
import { AwsCallFailure } from './map-aws-error.js';
import { openTestBackend } from './testdata/moto-backend.js';
import {
  type RecordedRequest,
  type ScriptedReply,
  type ScriptedServer,
  startScriptedServer,
} from './testdata/scripted-server.js';

const moto = await peerOrSkip('moto', startMoto);

afterAll(async () => {
  await moto?.stop();
});

const servers: ScriptedServer[] = [];
async function scripted(
  script: (n: number, request: RecordedRequest) => ScriptedReply,
): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function failure(promise: Promise<unknown>): Promise<CofreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofreError);
  return err as CofreError;
}

describe.skipIf(moto === undefined)('AWS Secrets Manager failures', () => {
  it('retries 500 and 429 with backoff, then succeeds on the third attempt (proxied to moto)', async () => {
    const seed = await openTestBackend(moto!.endpoint);
    const version = await seed.write('failures/retried', SecretValue.fromText('{"secret":"after-retries"}'));
    await seed.close();

    const server = await scripted((n) =>
      n === 0
        ? { status: 500, awsError: 'InternalServiceError' }
        : n === 1
          ? { status: 429, awsError: 'ThrottlingException', message: 'Rate exceeded' }
          : { proxyTo: moto!.endpoint },
    );
    const log: [BackendLogLevel, string, BackendLogFields | undefined][] = [];
    const backend = await openTestBackend(server.endpoint, {
      maxAttempts: 3,
      log: (level, message, fields) => log.push([level, message, fields]),
    });
    try {
      const record = await backend.read('failures/retried', { kind: 'latest' });
      expect(record.version).toBe(version);
      expect(record.value.text()).toBe('{"secret":"after-retries"}');
      expect(server.requests.map((r) => r.operation)).toEqual([
        'GetSecretValue',
        'GetSecretValue',
        'GetSecretValue',
      ]);
      expect(log).toEqual([
        [
          'warn',
          'AWS Secrets Manager call succeeded after retries',
          expect.objectContaining({
            operation: 'GetSecretValue',
            attempts: 3,
            reference: 'aws:failures/retried',
          }),
        ],
      ]);
    } finally {
      await backend.close();
    }
  });

  it.each([
    ['InvalidParameterException', 'COFRE_INPUT_INVALID', 3],
    ['AccessDeniedException', 'COFRE_BACKEND_DENIED', 1],
  ] as const)(
    'clearStage retries a refused label removal (%s) only as a lost race, and at most 3 times',
    async (awsError, code, updates) => {
      // AWS answers InvalidParameterException when the version no longer holds the label (another writer moved
      // it): clearStage looks again. A refusal that persists, or any other error, is the caller's to see.
      const seed = await openTestBackend(moto!.endpoint);
      await seed.write('failures/clear', SecretValue.fromText('{"secret":"one"}'));
      await seed.write('failures/clear', SecretValue.fromText('{"secret":"two"}'), { stage: 'pending' });
      await seed.close();
      const server = await scripted((_, request) =>
        request.operation === 'UpdateSecretVersionStage'
          ? { status: 400, awsError }
          : { proxyTo: moto!.endpoint },
      );
      const backend = await openTestBackend(server.endpoint, { maxAttempts: 1 });
      try {
        const err = await failure(backend.clearStage('failures/clear', 'pending'));
        expect(err.code).toBe(code);
        expect(err.message).toContain('aws:failures/clear');
        const operations = server.requests.map((r) => r.operation);
        expect(operations.filter((o) => o === 'UpdateSecretVersionStage')).toHaveLength(updates);
        expect(operations.filter((o) => o === 'DescribeSecret')).toHaveLength(updates);
      } finally {
        await backend.close();
      }
    },
  );

  it.each([3, 5])(
    'gives up on a backend that answers 500 after maxAttempts=%i: COFRE_BACKEND_UNAVAILABLE, retryable',
    async (maxAttempts) => {
      const server = await scripted(() => ({ status: 500, awsError: 'InternalServiceError' }));
      const backend = await openTestBackend(server.endpoint, { maxAttempts });
      try {
        const err = await failure(backend.read('failures/down', { kind: 'stage', stage: 'previous' }));
        expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
        expect(err.retryable).toBe(true);
        expect(err.message).toContain('aws:failures/down@stage=previous');
        expect(server.requests).toHaveLength(maxAttempts);
        expect(err.cause).toBeInstanceOf(AwsCallFailure);
        expect(err.cause).toMatchObject({
          awsError: 'InternalServiceError',
          httpStatus: 500,
          attempts: maxAttempts,
          requestId: `scripted-${maxAttempts}`,
        });
      } finally {
        await backend.close();
      }
    },
  );

  it.each(['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException'])(
    'maps a 400 %s to COFRE_BACKEND_DENIED after exactly one attempt (permission errors are not retried)',
    async (awsError) => {
      const server = await scripted(() => ({
        status: 400,
        awsError,
        message: 'User: arn:aws:sts::123456789012:assumed-role/cofre/i-0 is not authorized',
      }));
      const backend = await openTestBackend(server.endpoint, { maxAttempts: 5 });
      try {
        const err = await failure(backend.read('failures/denied', { kind: 'latest' }));
        expect(err.code).toBe('COFRE_BACKEND_DENIED');
        expect(err.retryable).toBe(false);
        expect(err.message).toContain('aws:failures/denied');
        expect(server.requests).toHaveLength(1);
      } finally {
        await backend.close();
      }
    },
  );

  // Regression: the SDK buffered any answer whole, whatever its size.
  it('refuses an answer over maxResponseBytes before parsing it, and does not retry it', async () => {
    const seed = await openTestBackend(moto!.endpoint);
    await seed.write('failures/large', SecretValue.fromText(JSON.stringify({ secret: 'v'.repeat(6_000) })));
    await seed.close();
    const small = await openTestBackend(moto!.endpoint, { maxResponseBytes: 4_096 });
    try {
      const err = await failure(small.read('failures/large', { kind: 'latest' }));
      expect(err.code).toBe('COFRE_BACKEND_RESPONSE_TOO_LARGE');
      expect(err.message).toContain('GetSecretValue');
      expect(err.message).toContain('4096 bytes');
      expect(err.message).not.toContain('vvvv');
    } finally {
      await small.close();
    }
    const usual = await openTestBackend(moto!.endpoint);
    try {
      expect((await usual.read('failures/large', { kind: 'latest' })).value.text()).toContain('vvvv');
    } finally {
      await usual.close();
    }

    const server = await scripted(() => ({ status: 200, rawBody: 'x'.repeat(2 * 1024 * 1024) }));
    const backend = await openTestBackend(server.endpoint, { maxAttempts: 3 });
    try {
      const err = await failure(backend.read('failures/huge', { kind: 'latest' }));
      expect(err.code).toBe('COFRE_BACKEND_RESPONSE_TOO_LARGE');
      expect(server.requests).toHaveLength(1);
    } finally {
      await backend.close();
    }
  });

  it('maps an unreachable endpoint (closed port) to COFRE_BACKEND_UNAVAILABLE naming the reference', async () => {
    const port = await freePort(); // free, so nothing listens there
    const backend = await openTestBackend(`http://127.0.0.1:${port}`, { maxAttempts: 2 });
    try {
      const err = await failure(backend.read('failures/unreachable', { kind: 'latest' }));
      expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
      expect(err.message).toContain('aws:failures/unreachable');
      expect(err.message).toContain('ECONNREFUSED');
      expect(err.cause).toMatchObject({ networkCode: 'ECONNREFUSED', attempts: 2 });
    } finally {
      await backend.close();
    }
  });

  it('bounds a backend that never answers with the per-attempt timeout', async () => {
    const server = await scripted(() => ({ hang: true }));
    const backend = await openTestBackend(server.endpoint, { maxAttempts: 2, requestTimeoutMs: 300 });
    try {
      const err = await failure(backend.read('failures/hanging', { kind: 'latest' }));
      expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
      expect(err.message).toContain('aws:failures/hanging');
      expect(server.requests).toHaveLength(2);
    } finally {
      await backend.close();
    }
  });

  it('lets the resolver serve a cached value while AWS is unavailable (the error is the retryable kind)', async () => {
    let down = false;
    const server = await scripted(() =>
      down ? { status: 503, awsError: 'ServiceUnavailable' } : { proxyTo: moto!.endpoint },
    );
    const backend = await openTestBackend(server.endpoint, { maxAttempts: 1 });
    let now = 1_000_000;
    const resolver = new SecretResolver({
      backends: [backend],
      defaultCache: { ttlMs: 1_000, staleIfErrorMs: 60_000 },
      now: () => now,
    });
    try {
      await backend.write('failures/stale', SecretValue.fromText('{"apiKey":"cached"}'));
      expect((await resolver.resolve('aws:failures/stale#apiKey')).text()).toBe('cached');
      down = true;
      now += 5_000;
      expect((await resolver.resolve('aws:failures/stale#apiKey')).text()).toBe('cached');
      now += 120_000;
      const err = await failure(resolver.resolve('aws:failures/stale#apiKey'));
      expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    } finally {
      await resolver.close();
    }
  });

  describe('canary: no value in errors, log lines, console output or process warnings', () => {
    const canary = makeCanary();
    const seen: string[] = [];
    const record = (...args: unknown[]): void => {
      seen.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
    };

    it('runs a whole flow through moto and three hostile responses, then greps everything', async () => {
      for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
        vi.spyOn(console, method).mockImplementation(record);
      }
      vi.spyOn(process, 'emitWarning').mockImplementation(record);
      const logLines: string[] = [];
      const log = (level: BackendLogLevel, message: string, fields?: BackendLogFields): void => {
        logLines.push(JSON.stringify({ level, message, ...fields }));
      };
      const errors: unknown[] = [];
      const catching = async (promise: Promise<unknown>): Promise<void> => {
        await promise.then(
          () => undefined,
          (e: unknown) => {
            errors.push(e);
          },
        );
      };

      try {
        const backend = await openTestBackend(moto!.endpoint, { log, prefix: 'canary/' });
        const resolver = new SecretResolver({ backends: [backend] });
        const json = JSON.stringify({ apiKey: 'not-the-canary', secret: canary.value });
        const v1 = await backend.write('flow', SecretValue.fromText(json));
        const v2 = await backend.write('flow', SecretValue.fromText(json.replace('not', 'still-not')), {
          stage: 'pending',
        });
        await backend.write(
          'flow-binary',
          SecretValue.copyOf(Buffer.concat([Buffer.from([0xff]), Buffer.from(canary.value)])),
        );
        expect((await resolver.resolve('aws:flow#secret')).text()).toBe(canary.value);
        await backend.moveStage('flow', 'current', v2);
        await backend.clearStage('flow', 'previous');
        await backend.describe('flow');
        await backend.read('flow-binary', { kind: 'latest' });
        await catching(backend.read('flow', { kind: 'version', version: `${v1.slice(0, -4)}0000` }));
        await catching(backend.read('flow', { kind: 'stage', stage: 'pending' }));
        await catching(resolver.resolve('aws:flow#missingField'));
        await catching(resolver.resolve('aws:flow-binary#secret'));
        await catching(backend.moveStage('flow', 'current', '00000000-0000-4000-8000-000000000000'));
        await catching(backend.read('absent', { kind: 'latest' }));
        resolver.invalidate();
        await backend.close();

        // Hostile or broken endpoints that put the value in their answers.
        const hostile: ScriptedReply[] = [
          // A 200 whose JSON is cut off: the SDK's deserialization error carries the raw body.
          { status: 200, rawBody: `{"Name":"flow","SecretString":"${canary.value}","VersionId":` },
          // An error whose message quotes the value.
          { status: 400, awsError: 'InvalidRequestException', message: `bad value ${canary.value}` },
          { status: 500, awsError: 'InternalServiceError', message: `oops ${canary.encodings[1] ?? ''}` },
          { status: 403, awsError: 'AccessDeniedException', message: `denied ${canary.value}` },
        ];
        for (const reply of hostile) {
          const server = await scripted(() => reply);
          const broken = await openTestBackend(server.endpoint, { log, maxAttempts: 2 });
          await catching(broken.read('flow', { kind: 'latest' }));
          await catching(broken.describe('flow'));
          await catching(broken.write('flow', SecretValue.fromText(canary.value)));
          await catching(broken.clearStage('flow', 'pending'));
          await broken.close();
        }
      } finally {
        vi.restoreAllMocks();
      }

      expect(errors.length).toBeGreaterThanOrEqual(6 + 4 * 3);
      for (const err of errors) {
        expect(isCofreError(err)).toBe(true);
        const text = [
          inspect(err, { depth: 10 }),
          JSON.stringify(err),
          String(err),
          (err as Error).stack,
        ].join('\n');
        expect(leaks(text, canary.encodings)).toEqual([]);
      }
      expect(logLines.length).toBeGreaterThan(0);
      expect(leaks(logLines.join('\n'), canary.encodings)).toEqual([]);
      expect(leaks(seen.join('\n'), canary.encodings)).toEqual([]);
    });
  });
});
