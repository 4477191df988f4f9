/**
 * cofre's pipeline policy on its own, with a hand-made `next` in place of the SDK's HTTP client: the cases the
 * stand-in cannot produce (a body that never finishes) and the exact header rewriting. The integration tests drive
 * the same policy through the real SDK pipeline.
 */
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { cofrePipelinePolicy, traced } from './key-vault-pipeline.js';

type Policy = ReturnType<typeof cofrePipelinePolicy>;
type Request = Parameters<Policy['sendRequest']>[0];
type Response = Awaited<ReturnType<Policy['sendRequest']>>;

function headers(init: Record<string, string> = {}) {
  const map = new Map(Object.entries(init).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    get: (k: string) => map.get(k.toLowerCase()),
    set: (k: string, v: string | number) => void map.set(k.toLowerCase(), String(v)),
    has: (k: string) => map.has(k.toLowerCase()),
    delete: (k: string) => void map.delete(k.toLowerCase()),
  };
}

function request(auth?: string): Request {
  return {
    url: 'https://vault.example/secrets/x?api-version=7.6',
    method: 'GET',
    headers: headers(auth === undefined ? {} : { authorization: auth }),
  } as unknown as Request;
}

function response(
  req: Request,
  status: number,
  body: Readable | undefined,
  extra: Record<string, string> = {},
): Response {
  return { request: req, status, headers: headers(extra), readableStreamBody: body } as unknown as Response;
}

const policy = (): Policy =>
  cofrePipelinePolicy({ timeoutMs: 100, maxResponseBytes: 64, maxRetryAfterMs: 2_000, source: 'test' });

describe('cofre pipeline policy', () => {
  it('buffers the body into bodyAsText and asks the client for a stream with the attempt timeout', async () => {
    const req = request('Bearer t');
    const out = await policy().sendRequest(req, (r) => {
      expect(r.timeout).toBe(100);
      expect(r.streamResponseStatusCodes?.has(Number.POSITIVE_INFINITY)).toBe(true);
      return Promise.resolve(response(r, 200, Readable.from([Buffer.from('{"value":"ok"}')])));
    });
    expect(out.bodyAsText).toBe('{"value":"ok"}');
    expect(out.readableStreamBody).toBeUndefined();
  });

  it('refuses a body over the limit', async () => {
    const req = request('Bearer t');
    const err = await policy()
      .sendRequest(req, (r) => Promise.resolve(response(r, 200, Readable.from([Buffer.alloc(65, 97)]))))
      .catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_RESPONSE_TOO_LARGE')).toBe(true);
  });

  it('ends an attempt whose body never finishes as a retryable timeout', async () => {
    const req = request('Bearer t');
    const endless = new Readable({ read() {} });
    endless.push('{"val');
    const { trace, result } = await traced(() =>
      policy().sendRequest(req, (r) => Promise.resolve(response(r, 200, endless))),
    );
    expect(result.status).toBe('rejected');
    const err = (result as PromiseRejectedResult).reason as { name: string; code: string };
    expect(err).toMatchObject({ name: 'RestError', code: 'ETIMEDOUT' });
    expect(trace.timedOut).toBe(1);
  });

  it('turns an attempt the SDK aborted on its timeout into ETIMEDOUT, but not the caller abort', async () => {
    const abort = (): Promise<Response> => {
      const e = new Error('aborted');
      e.name = 'AbortError';
      return Promise.reject(e);
    };
    const timedOut = await policy()
      .sendRequest(request('Bearer t'), abort)
      .catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ name: 'RestError', code: 'ETIMEDOUT' });
    const cancelled = request('Bearer t');
    Object.assign(cancelled, { abortSignal: AbortSignal.abort() });
    expect(
      await policy()
        .sendRequest(cancelled, abort)
        .catch((e: unknown) => e),
    ).toMatchObject({ name: 'AbortError' });
  });

  it('cuts Retry-After waits over the ceiling, in every header the SDK reads', async () => {
    const req = request('Bearer t');
    const out = await policy().sendRequest(req, (r) =>
      Promise.resolve(
        response(r, 429, undefined, {
          'retry-after': '3600',
          'retry-after-ms': '9999999',
          'x-ms-retry-after-ms': '10',
        }),
      ),
    );
    expect([
      out.headers.get('retry-after'),
      out.headers.get('retry-after-ms'),
      out.headers.get('x-ms-retry-after-ms'),
    ]).toEqual(['2', '2000', '10']);
    const dated = await policy().sendRequest(request('Bearer t'), (r) =>
      Promise.resolve(
        response(r, 503, undefined, { 'retry-after': new Date(Date.now() + 86_400_000).toUTCString() }),
      ),
    );
    expect(dated.headers.get('retry-after')).toBe('2');
  });

  it('never sends a refused token twice for one request, but lets the first challenge and a new token through', async () => {
    const p = policy();
    let sent = 0;
    const refuse = (r: Request): Promise<Response> => {
      sent++;
      return Promise.resolve(response(r, 401, undefined));
    };
    const req = request();
    await p.sendRequest(req, refuse); // the challenge: no token yet
    req.headers.set('authorization', 'Bearer a');
    await p.sendRequest(req, refuse);
    const { trace } = await traced(() => p.sendRequest(req, refuse)); // the challenge policy's resend
    expect(sent).toBe(2);
    expect(trace.refusedTokenNotResent).toBe(true);
    req.headers.set('authorization', 'Bearer b'); // a new token (CAE claims challenge)
    await p.sendRequest(req, refuse);
    expect(sent).toBe(3);
  });
});
