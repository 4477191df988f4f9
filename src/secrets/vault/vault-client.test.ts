// VaultClient against a tiny loopback HTTP server (a real peer speaking HTTP, not a mock of fetch): headers, the
// mapping of statuses to error codes, which failures are retried, the circuit breaker, and what messages quote.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { type CofreError, isCofreError } from '../../errors.js';
import { CircuitBreaker } from '../circuit-breaker.js';
import type { RetryPolicy } from '../retry-policy.js';
import { ignoredResponse, VaultClient } from './vault-client.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}
type Reply = { status: number; body?: unknown; raw?: string; delayMs?: number; chunked?: boolean };

let server: Server;
let address: string;
let seen: Seen[] = [];
let replies: Reply[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const reply = replies.length > 1 ? replies.shift()! : (replies[0] ?? { status: 204 });
      const send = (): void => {
        const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
        if (reply.chunked === true) {
          // No Content-Length: the body arrives in pieces, and only counting them can stop it.
          res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
          for (let at = 0; at < text.length; at += 4096) res.write(text.slice(at, at + 4096));
          res.end();
          return;
        }
        res.writeHead(reply.status, { 'Content-Type': 'application/json' });
        res.end(reply.status === 204 ? undefined : text);
      };
      if (reply.delayMs === undefined) send();
      else setTimeout(send, reply.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  replies = [];
});

const retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 1_000 };
const client = (options: Partial<ConstructorParameters<typeof VaultClient>[0]> = {}): VaultClient =>
  new VaultClient({ address, retry, ...options });
const data = z.object({ data: z.object({ value: z.string() }) });

async function failure(promise: Promise<unknown>): Promise<CofreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCofreError(err)) throw new Error(`expected a CofreError, got ${inspect(err)}`);
  return err;
}

describe('VaultClient', () => {
  it('sends the Vault headers, encodes path segments and sends LIST as GET ?list=true', async () => {
    replies = [{ status: 200, body: { data: { value: 'v' } } }];
    const result = await client({ namespace: 'team-a' }).request('GET', 'secret/data/a b/c', {
      token: 'tok',
      schema: data,
      wrapTtl: '60s',
      query: { version: '2' },
    });
    expect(result.data.value).toBe('v');
    expect(seen[0]?.url).toBe('/v1/secret/data/a%20b/c?version=2');
    expect(seen[0]?.headers['x-vault-token']).toBe('tok');
    expect(seen[0]?.headers['x-vault-namespace']).toBe('team-a');
    expect(seen[0]?.headers['x-vault-wrap-ttl']).toBe('60s');
    expect(seen[0]?.headers['x-vault-request']).toBe('true');
    await client().request('LIST', 'secret/metadata/', { schema: ignoredResponse });
    expect(seen[1]).toMatchObject({ method: 'GET', url: '/v1/secret/metadata?list=true' });
  });

  // Regression: the whole answer was buffered whatever its size (response.text()).
  it('refuses an answer over the size limit, declared or streamed, without retrying it', async () => {
    const big = JSON.stringify({ data: { value: 'x'.repeat(1024 * 1024) } });
    replies = [{ status: 200, raw: big }];
    const declared = await failure(client().request('GET', 'secret/data/big', { schema: data }));
    expect(declared.code).toBe('COFRE_BACKEND_RESPONSE_TOO_LARGE');
    expect(declared.message).toContain('1048576 bytes');
    expect(declared.message).toContain('maxResponseSize');
    expect(seen).toHaveLength(1);

    replies = [{ status: 500, raw: 'y'.repeat(20_000), chunked: true }];
    const streamed = await failure(
      client({ maxResponseBytes: 10_000 }).request('GET', 'secret/data/big', { schema: data }),
    );
    expect(streamed.code).toBe('COFRE_BACKEND_RESPONSE_TOO_LARGE');
    expect(seen).toHaveLength(2);

    replies = [{ status: 200, body: { data: { value: 'z'.repeat(9_000) } }, chunked: true }];
    const fits = await client({ maxResponseBytes: 10_000 }).request('GET', 'secret/data/ok', {
      schema: data,
    });
    expect(fits.data.value).toHaveLength(9_000);
  });

  it('maps 403 to COFRE_BACKEND_DENIED and does not retry it', async () => {
    replies = [{ status: 403, body: { errors: ['permission denied'] } }];
    const err = await failure(client().request('GET', 'secret/data/x', { schema: data, subject: 'vault:x' }));
    expect(err.code).toBe('COFRE_BACKEND_DENIED');
    expect(err.message).toContain('vault:x');
    expect(seen).toHaveLength(1);
  });

  it('maps 404 to COFRE_SECRET_NOT_FOUND, or undefined with allowNotFound', async () => {
    replies = [{ status: 404, body: { errors: [] } }];
    expect((await failure(client().request('GET', 'secret/data/x', { schema: data }))).code).toBe(
      'COFRE_SECRET_NOT_FOUND',
    );
    expect(
      await client().request('GET', 'secret/data/x', { schema: data, allowNotFound: true }),
    ).toBeUndefined();
  });

  it('maps the KV v2 "invalid path" warning to COFRE_VAULT_MOUNT_MISMATCH', async () => {
    replies = [
      {
        status: 404,
        body: { data: null, warnings: ['Invalid path for a versioned K/V secrets engine. See …'] },
      },
    ];
    const err = await failure(client().request('GET', 'secret/x', { schema: data, allowNotFound: true }));
    expect(err.code).toBe('COFRE_VAULT_MOUNT_MISMATCH');
  });

  it('maps 400 to COFRE_VAULT_REQUEST_REJECTED without retrying', async () => {
    replies = [{ status: 400, body: { errors: ['bad'] } }];
    const err = await failure(client().request('GET', 'secret/data/x', { schema: data }));
    expect(err.code).toBe('COFRE_VAULT_REQUEST_REJECTED');
    expect(err.message).toContain('bad');
    expect(seen).toHaveLength(1);
  });

  it('maps a sealed 503 to COFRE_VAULT_SEALED (unavailable, retryable by the caller later)', async () => {
    replies = [{ status: 503, body: { errors: ['Vault is sealed'] } }];
    const err = await failure(client().request('GET', 'secret/data/x', { schema: data }));
    expect(err.code).toBe('COFRE_VAULT_SEALED');
    expect(err.category).toBe('unavailable');
    expect(err.retryable).toBe(true);
  });

  it('retries 5xx within maxAttempts, then fails with COFRE_BACKEND_UNAVAILABLE', async () => {
    replies = [{ status: 500, body: { errors: ['internal'] } }];
    const err = await failure(client().request('GET', 'secret/data/x', { schema: data }));
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(seen).toHaveLength(3);
  });

  it('retries 429 and 412 and returns the answer that follows', async () => {
    replies = [{ status: 429 }, { status: 412 }, { status: 200, body: { data: { value: 'ok' } } }];
    expect((await client().request('GET', 'secret/data/x', { schema: data })).data.value).toBe('ok');
    expect(seen).toHaveLength(3);
  });

  it('does not retry when asked not to (single-use requests such as unwrap)', async () => {
    replies = [{ status: 502 }];
    await failure(client().request('POST', 'sys/wrapping/unwrap', { schema: data, retry: false }));
    expect(seen).toHaveLength(1);
  });

  it('maps a refused connection to COFRE_BACKEND_UNAVAILABLE naming the error code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(
      new VaultClient({ address: `http://127.0.0.1:${port}`, retry }).request('GET', 'x', { schema: data }),
    );
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.cause).toBeUndefined();
  });

  it('times out a slow answer as COFRE_BACKEND_UNAVAILABLE', async () => {
    replies = [{ status: 200, body: { data: { value: 'late' } }, delayMs: 300 }];
    const err = await failure(
      client({ timeoutMs: 50, retry: { ...retry, maxAttempts: 1 } }).request('GET', 'x', { schema: data }),
    );
    expect(err.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(err.message).toContain('no answer within 50 ms');
  });

  it('opens the circuit after repeated failures and fails fast until a probe succeeds', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, now: () => now });
    const c = client({ circuitBreaker: breaker, retry: { ...retry, maxAttempts: 1 } });
    replies = [{ status: 503 }];
    await failure(c.request('GET', 'x', { schema: data }));
    await failure(c.request('GET', 'x', { schema: data }));
    expect(breaker.state).toBe('open');
    const fast = await failure(c.request('GET', 'x', { schema: data }));
    expect(fast.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(fast.message).toContain('circuit open');
    expect(seen).toHaveLength(2); // the third request never left the process
    now += 1_000;
    replies = [{ status: 200, body: { data: { value: 'back' } } }];
    expect((await c.request('GET', 'x', { schema: data })).data.value).toBe('back');
    expect(breaker.state).toBe('closed');
  });

  it('counts a 403 or 404 as a healthy server (the circuit stays closed)', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000 });
    replies = [{ status: 403 }];
    await failure(client({ circuitBreaker: breaker }).request('GET', 'x', { schema: data }));
    expect(breaker.state).toBe('closed');
  });

  it("quotes Vault's errors for body-less requests only, unless asked, and never when they echo the body", async () => {
    replies = [{ status: 400, body: { errors: ['field "x" is wrong'] } }];
    const withBody = await failure(
      client().request('POST', 'secret/data/x', { body: { data: { k: 'v' } }, schema: data }),
    );
    expect(withBody.message).not.toContain('field');
    const exposed = await failure(
      client().request('POST', 'auth/approle/login', {
        body: { role_id: 'r' },
        schema: data,
        exposeErrors: true,
      }),
    );
    expect(exposed.message).toContain('field "x" is wrong');

    const secretId = 'f3b1c0de-secret-id-value';
    replies = [{ status: 400, body: { errors: [`invalid secret id ${secretId}`] } }];
    const echoed = await failure(
      client().request('POST', 'auth/approle/login', {
        body: { role_id: 'r', secret_id: secretId },
        schema: data,
        exposeErrors: true,
      }),
    );
    expect(echoed.message).not.toContain(secretId);
    const token = 's.TOKENTOKENTOKENTOKEN';
    replies = [{ status: 403, body: { errors: [`bad token ${Buffer.from(token).toString('base64')}`] } }];
    const tokenEcho = await failure(client().request('GET', 'x', { token, schema: data }));
    expect(inspect(tokenEcho, { depth: 5 })).not.toContain(Buffer.from(token).toString('base64'));
  });

  it('rejects a 2xx that is not JSON or not the expected shape, without quoting it', async () => {
    replies = [{ status: 200, raw: '<html>secret-looking proxy page</html>' }];
    const notJson = await failure(client().request('GET', 'x', { schema: data }));
    expect(notJson.code).toBe('COFRE_VAULT_RESPONSE_INVALID');
    expect(inspect(notJson, { depth: 5 })).not.toContain('proxy page');
    replies = [{ status: 200, body: { data: { value: 42, other: 'hidden-value' } } }];
    const shape = await failure(client().request('GET', 'x', { schema: data }));
    expect(shape.code).toBe('COFRE_VAULT_RESPONSE_INVALID');
    expect(shape.message).toContain('data.value');
    expect(inspect(shape, { depth: 5 })).not.toContain('hidden-value');
  });

  it('refuses "." and ".." path segments before sending anything', async () => {
    const err = await failure(client().request('GET', 'secret/data/../../sys/seal', { schema: data }));
    expect(err.code).toBe('COFRE_REFERENCE_INVALID');
    expect(seen).toHaveLength(0);
  });
});
