// Regression (issue 8, item 19): a client holding ~20k idle connections made legitimate requests fail, and slow
// senders lived 55–60 s. Floods a real HTTP server (real broker, paper exchange) over loopback sockets, with small
// configured limits so that a few hundred sockets stand for thousands; every socket is closed by the test itself.
import { connect, type Socket } from 'node:net';

import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type ConnectionOptions,
  connectionOptionsFor,
  DEFAULT_CONNECTION_OPTIONS,
} from '../../src/surfaces/http/connection-guard.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';
import { startSurfaceFixture, type SurfaceFixture } from '../surfaces/surface-fixture.js';

const FLOOD = 200;

let fx: SurfaceFixture;
let token: string;
const sockets: Socket[] = [];
const servers: FastifyInstance[] = [];

beforeAll(async () => {
  fx = await startSurfaceFixture();
  token = (await fx.issue('legit-1', 'reader')).token;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const app of servers.splice(0)) await app.close();
});

afterAll(async () => {
  await fx.close();
});

async function serve(connections: Partial<ConnectionOptions>): Promise<number> {
  const app = createHttpServer({
    broker: fx.broker,
    state: fx.state,
    logger: fx.logger,
    bodyLimit: 65_536,
    connections: { ...DEFAULT_CONNECTION_OPTIONS, ...connections },
  });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return address.port;
}

/** Opens `count` idle connections (from `localAddress`), one after another; resolves once each is connected or closed. */
async function flood(port: number, count: number, localAddress = '127.0.0.1'): Promise<Socket[]> {
  const opened: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    // Read (nothing is expected) so that a close by the server is seen.
    socket.resume();
    sockets.push(socket);
    opened.push(socket);
    await new Promise<void>((resolve) => {
      socket.once('connect', resolve);
      socket.once('close', resolve);
    });
  }
  return opened;
}

/** Waits (bounded) until `done()` holds; returns whether it did. */
async function eventually(done: () => boolean, boundMs = 10_000): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25));
  return done();
}

const stillOpen = (list: Socket[]) => list.filter((s) => !s.destroyed && !s.readableEnded).length;

/** A legitimate agent request over a fresh connection, from the default loopback address. */
async function legitimate(port: number): Promise<{ status: number; body: { status?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/actions/get_balance`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ account: 'paper' }),
  });
  return { status: res.status, body: (await res.json()) as { status?: string } };
}

describe('connection floods', () => {
  it('idle connections beyond the limit give way, so a legitimate request is served during the flood', async () => {
    // Long header timeout: the flood stays held while the legitimate request is made.
    const port = await serve({ max: 50, headersTimeoutMs: 60_000 });
    const held = await flood(port, FLOOD);
    const answer = await legitimate(port);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('executed');
    expect(await eventually(() => stillOpen(held) <= 50)).toBe(true);
  });

  it('caps connections per client address on non-loopback binds; other clients are served', async () => {
    expect(connectionOptionsFor(serverConfig('0.0.0.0')).maxPerIp).toBe(64);
    expect(connectionOptionsFor(serverConfig('127.0.0.1')).maxPerIp).toBeUndefined();
    expect(connectionOptionsFor(serverConfig('::1')).maxPerIp).toBeUndefined();

    // The cap is what a non-loopback bind gets; here it is set directly, and the flood comes from 127.0.0.2.
    const port = await serve({ maxPerIp: 20, headersTimeoutMs: 60_000 });
    const held = await flood(port, FLOOD, '127.0.0.2');
    const answer = await legitimate(port);
    expect(answer.status).toBe(200);
    expect(await eventually(() => stillOpen(held) <= 20)).toBe(true);
  });

  it('cuts off a slow sender before it finishes its headers', async () => {
    const port = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    let answered = '';
    socket.on('data', (chunk: Buffer) => {
      answered += chunk.toString('latin1');
    });
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        resolve();
      }),
    );
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/actions/get_balance HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    // At most 400 bytes, one every 50 ms (20 s): a sender still going after that was never cut off.
    let sent = 0;
    while (sent < 400 && !socket.destroyed && !socket.readableEnded) {
      socket.write('a');
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(sent).toBeLessThan(400);
    await closed;
    if (answered !== '') expect(answered).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection that never sends a request', async () => {
    const port = await serve({ headersTimeoutMs: 300 });
    const [silent] = await flood(port, 1);
    expect(await eventually(() => silent !== undefined && (silent.destroyed || silent.readableEnded))).toBe(
      true,
    );
  });
});

function serverConfig(host: string) {
  return {
    host,
    port: 0,
    bodyLimit: 65_536,
    connections: {
      max: 1024,
      maxPerIp: 64,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      idleTimeout: 60_000,
      maxRequestsPerSocket: 1000,
    },
  };
}
