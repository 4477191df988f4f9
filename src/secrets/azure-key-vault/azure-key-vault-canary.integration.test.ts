/**
 * A secret value carrying a canary never reaches an error (message, stack, cause, details), a BackendLog line, or
 * what the SDK's loggers write — with the SDK's logging switched on at its most verbose (`AZURE_LOG_LEVEL=verbose`
 * and the TypeSpec runtime's `TYPESPEC_RUNTIME_LOG_LEVEL`, which its HTTP client logs through) — across successes,
 * retries, timeouts, dropped connections, refusals and a write the vault rejects with the value in its body.
 */
import { randomBytes } from 'node:crypto';
import { format, inspect } from 'node:util';

import { AzureLogger, setLogLevel as setAzureLogLevel } from '@azure/logger';
import { setLogLevel as setRuntimeLogLevel, TypeSpecRuntimeLogger } from '@typespec/ts-http-runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { encodingsOf, leaks } from '../../../test/invariants/canary.js';
import { startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import type { SecretBackend } from '../secret-backend.js';
import { SecretValue } from '../secret-value.js';
import { openOnPeer } from './testdata/key-vault-peers.js';

const standIn = await startKeyVaultStandIn();
const peer = { label: 'stand-in', ...standIn };
const sdkLines: string[] = [];
const backendLines: string[] = [];
const errors: unknown[] = [];
const originalAzureLog = AzureLogger.log;
const originalRuntimeLog = TypeSpecRuntimeLogger.log;

beforeAll(() => {
  AzureLogger.log = (...args: unknown[]) => sdkLines.push(format(...args));
  TypeSpecRuntimeLogger.log = (...args: unknown[]) => sdkLines.push(format(...args));
  setAzureLogLevel('verbose');
  setRuntimeLogLevel('verbose');
});

afterAll(async () => {
  setAzureLogLevel();
  setRuntimeLogLevel();
  AzureLogger.log = originalAzureLog;
  TypeSpecRuntimeLogger.log = originalRuntimeLog;
  vi.unstubAllEnvs();
  await standIn.stop();
});

async function open(overrides: Record<string, unknown> = {}): Promise<SecretBackend> {
  return openOnPeer(
    peer,
    { maxRetries: 1, requestTimeout: '200ms', ...overrides },
    {
      log: (level, message, fields) => backendLines.push(JSON.stringify({ level, message, fields })),
    },
  );
}

/** Runs `attempt`, keeping what it threw. */
async function kept(attempt: Promise<unknown>): Promise<void> {
  await attempt.then(
    () => undefined,
    (err: unknown) => {
      errors.push(err);
    },
  );
}

describe('canary: no value in errors, BackendLog or the SDK loggers', () => {
  it('keeps the value out of everything through successes, faults and refusals', async () => {
    const canary = `canary-${randomBytes(16).toString('hex')}`;
    const value = (): SecretValue => SecretValue.fromText(JSON.stringify({ apiKey: 'k', secret: canary }));
    const backend = await open();
    const name = `canary-${randomBytes(4).toString('hex')}`;
    const version = await backend.write(name, value());
    const record = await backend.read(name, { kind: 'latest' });
    expect(record.value.text()).toContain(canary); // the value really is there to leak
    const at = `/secrets/${name}`;

    standIn.injectFault({ fault: { kind: 'throttle', retryAfterSeconds: 0 }, pathPrefix: at });
    await backend.read(name, { kind: 'version', version });
    standIn.injectFault({ fault: { kind: 'status', status: 500 }, times: 2, pathPrefix: at });
    await kept(backend.read(name, { kind: 'version', version }));
    standIn.injectFault({ fault: { kind: 'status', status: 503 }, times: 2, method: 'PUT', pathPrefix: at });
    await kept(backend.write(name, value()));
    standIn.injectFault({ fault: { kind: 'drop' }, times: 2, method: 'PUT', pathPrefix: at });
    await kept(backend.write(name, value()));
    standIn.injectFault({ fault: { kind: 'slow', delayMs: 2_000 }, times: 2, method: 'PUT', pathPrefix: at });
    await kept(backend.write(name, value()));

    const small = await open({ maxResponseSize: 4096 });
    await small.read(name, { kind: 'version', version }); // small enough
    await backend.write(`${name}-big`, SecretValue.fromText(`${canary}${'z'.repeat(5000)}`));
    await kept(small.read(`${name}-big`, { kind: 'latest' }));

    await backend.write(`${name}-gone`, value());
    await backend.remove(`${name}-gone`);
    await kept(backend.write(`${name}-gone`, value())); // 409: soft-deleted, the value in the request body
    standIn.grant(standIn.systemAssignedClientId, 'none');
    await kept(backend.write(name, value()));
    await kept(backend.read(name, { kind: 'latest' }));
    standIn.grant(standIn.systemAssignedClientId, 'secrets-officer');

    const codes = errors.map((e) => (e as { code?: string }).code);
    expect(codes).toEqual([
      'COFRE_BACKEND_UNAVAILABLE',
      'COFRE_BACKEND_UNAVAILABLE',
      'COFRE_BACKEND_UNAVAILABLE',
      'COFRE_BACKEND_UNAVAILABLE',
      'COFRE_BACKEND_RESPONSE_TOO_LARGE',
      'COFRE_INPUT_INVALID',
      'COFRE_BACKEND_DENIED',
      'COFRE_BACKEND_DENIED',
    ]);
    expect(sdkLines.length).toBeGreaterThan(20); // the SDK's logging really was on
    const encodings = encodingsOf(canary);
    for (const err of errors) {
      const e = err as Error;
      expect(
        leaks(`${inspect(err, { depth: 20 })}\n${e.stack ?? ''}\n${JSON.stringify(err)}`, encodings),
      ).toEqual([]);
    }
    expect(leaks(backendLines.join('\n'), encodings)).toEqual([]);
    expect(leaks(sdkLines.join('\n'), encodings)).toEqual([]);
    record.value.zero();
    await small.close();
    await backend.close();
  });
});
