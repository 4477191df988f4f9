// An event stream opened with a session is closed when that session ends (logout, idle, revoked operator), while
// another session's stream stays open.
import { type IncomingMessage, request as httpRequest } from 'node:http';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OperatorActions } from '../../src/broker/operator-actions.js';
import { createConsoleServer } from '../../src/surfaces/http/console/console-server.js';
import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import { type ConsoleLogin, consoleRequest, login } from './console-client.js';
import { startServedConsole } from './served-console.js';

let fx: ServedFixture;
let app: ReturnType<typeof createConsoleServer>;
let base: string;
let skew = 0;

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
  ]);
  app = createConsoleServer({
    config: { host: '127.0.0.1', port: 0, idleTimeout: 60_000, sessionLifetime: 300_000 },
    actions: new OperatorActions({ store: fx.server.runtime.state, broker: fx.server.runtime.broker }),
    store: fx.server.runtime.state,
    audit: undefined,
    logger: pino({ level: 'silent' }),
    now: () => new Date(Date.now() + skew),
    streamCheckMs: 50,
  });
  // A stand-in for the operator API's live events: a stream that stays open until the connection closes.
  app.get('/test/events', (_request, reply) => {
    void reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write(': open\n\n');
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await fx.close();
});

/** Opens the stream with a session's cookie; resolves once its first bytes arrived. */
function openStream(session: ConsoleLogin): Promise<{ ended: Promise<void>; open: () => boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}/test/events`,
      { agent: false, headers: { cookie: session.cookie, accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        let closed = false;
        const ended = new Promise<void>((done) => {
          res.on('close', () => {
            closed = true;
            done();
          });
        });
        res.once('data', () => {
          resolve({ ended, open: () => !closed });
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('event streams end with their session', () => {
  it('closes the stream of a session that logged out, and keeps the other', async () => {
    const token = await fx.operatorToken('alice');
    const leaving = await login(base, token);
    const staying = await login(base, token);
    const closing = await openStream(leaving);
    const kept = await openStream(staying);
    const out = await consoleRequest(base, 'POST', '/console/logout', {
      headers: { cookie: leaving.cookie, 'x-cofre-csrf': leaving.csrf, origin: base },
    });
    expect(out.status).toBe(204);
    await closing.ended;
    // Several checks later, the live session's stream is still open.
    await new Promise((done) => setTimeout(done, 200));
    expect(kept.open()).toBe(true);
  });

  it('closes the stream of a session that went idle, or whose operator was revoked', async () => {
    const idle = await openStream(await login(base, await fx.operatorToken('bob')));
    skew += 61_000;
    await idle.ended;
    // Logged in after the clock moved, so only the revocation can end it.
    const revoked = await openStream(await login(base, await fx.operatorToken('carol')));
    await fx.server.runtime.state.revokeOperator('carol', new Date());
    await revoked.ended;
  });
});

describe("the operator API's live events on the console", () => {
  it('streams to a session, and stops when it logs out', async () => {
    const served = await startServedConsole();
    try {
      const session = await login(served.consoleUrl, await served.operatorToken('dave'));
      const stream = await new Promise<{ first: string; ended: Promise<void> }>((resolve, reject) => {
        httpRequest(
          `${served.consoleUrl}/v1/operator/events`,
          { agent: false, headers: { cookie: session.cookie, accept: 'text/event-stream' } },
          (res) => {
            const ended = new Promise<void>((done) => res.on('close', done));
            res.once('data', (chunk: Buffer) => {
              resolve({ first: chunk.toString('utf8'), ended });
            });
            res.on('error', () => undefined);
          },
        )
          .on('error', reject)
          .end();
      });
      expect(stream.first).toMatch(/^(event: |: )/m);
      const out = await consoleRequest(served.consoleUrl, 'POST', '/console/logout', {
        headers: { cookie: session.cookie, 'x-cofre-csrf': session.csrf, origin: served.consoleUrl },
      });
      expect(out.status).toBe(204);
      await stream.ended;
    } finally {
      await served.close();
    }
  });
});
