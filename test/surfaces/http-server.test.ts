// The HTTP API end to end against a real broker and the paper exchange: auth, bad input, error shapes, status codes,
// the OpenAPI document, and that no token, body or credential reaches a log line or a response.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACTION_NAMES, actionDescriptions } from '../../src/broker/actions.js';
import type { Broker } from '../../src/broker/broker.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';
import { leaks } from '../invariants/canary.js';
import { readAudit, startSurfaceFixture, type SurfaceFixture } from './surface-fixture.js';

const BODY_LIMIT = 4096;

let fx: SurfaceFixture;
let app: FastifyInstance;
let clockOffsetMs = 0;
let trader: string;
let reader: string;
let revoked: string;
let shortLived: string;
const responses: string[] = [];

beforeAll(async () => {
  fx = await startSurfaceFixture();
  trader = (await fx.issue('trader-1', 'trader')).token;
  reader = (await fx.issue('reader-1', 'reader')).token;
  revoked = (await fx.issue('revoked-1', 'trader')).token;
  fx.state.revokeAgent('revoked-1', new Date());
  shortLived = (await fx.issue('short-1', 'trader', 60_000)).token;
  app = createHttpServer({
    broker: fx.broker,
    state: fx.state,
    logger: fx.logger,
    bodyLimit: BODY_LIMIT,
    now: () => new Date(Date.now() + clockOffsetMs),
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await fx.close();
});

interface Call {
  method?: 'GET' | 'POST' | 'DELETE';
  url: string;
  token?: string | undefined;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

async function call(c: Call): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.token !== undefined) headers['authorization'] = `Bearer ${c.token}`;
  let payload: string | undefined;
  if (c.rawBody !== undefined) payload = c.rawBody;
  else if (c.body !== undefined) {
    payload = JSON.stringify(c.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await app.inject({
    method: c.method ?? (payload === undefined ? 'GET' : 'POST'),
    url: c.url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
  responses.push(JSON.stringify(response.headers), response.body);
  return response;
}

function action(name: string, body: unknown, token: string | undefined = trader) {
  return call({ method: 'POST', url: `/v1/actions/${name}`, token, body });
}

describe('public endpoints', () => {
  it('GET /v1/health answers ok without auth and without version details', async () => {
    const r = await call({ url: '/v1/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
    expect(r.headers['server']).toBeUndefined();
    expect(r.headers['x-powered-by']).toBeUndefined();
  });

  // Regression (issue 8, item 14): health answered under any Host, so a rebinding page could probe for cofre.
  it('GET /v1/health follows the Host guard: refused under a foreign Host, served once it is allowed', async () => {
    const r = await call({ url: '/v1/health', headers: { host: '10.1.2.3:8787' } });
    expect(r.statusCode).toBe(403);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('COFRE_ORIGIN_REFUSED');
    const fromPage = await call({ url: '/v1/health', headers: { origin: 'http://evil.example' } });
    expect(fromPage.statusCode).toBe(403);

    const probed = createHttpServer({
      broker: fx.broker,
      state: fx.state,
      logger: fx.logger,
      bodyLimit: BODY_LIMIT,
      allowedHosts: ['localhost', '10.1.2.3'],
    });
    try {
      const ok = await probed.inject({ url: '/v1/health', headers: { host: '10.1.2.3:8787' } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await probed.close();
    }
  });

  it('GET /v1/openapi.json is an OpenAPI 3.1 document with every action', async () => {
    const r = await call({ url: '/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<
        string,
        Record<
          string,
          { description?: string; requestBody?: { content: Record<string, { schema: { type: string } }> } }
        >
      >;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('cofre');
    expect(doc.components.securitySchemes['agentToken']).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const name of ACTION_NAMES) {
      const op = doc.paths[`/v1/actions/${name}`]?.['post'];
      expect(op, name).toBeDefined();
      expect(op?.description).toBe(actionDescriptions[name]);
      const schema = op?.requestBody?.content['application/json']?.schema;
      expect(schema?.type).toBe('object');
      expect(schema).not.toHaveProperty('$schema');
    }
    expect(doc.paths['/v1/requests/{requestId}']?.['get']).toBeDefined();
    expect(doc.paths['/v1/health']?.['get']).toBeDefined();
    // Each action's executed answer names its result's schema, generated from action-results.ts.
    const components = (doc.components as unknown as { schemas: Record<string, unknown> }).schemas;
    const placed = JSON.stringify(doc.paths['/v1/actions/place_order']?.['post']);
    expect(placed).toContain('"$ref":"#/components/schemas/PlaceOrderResult"');
    expect(components['PlaceOrderResult']).toMatchObject({
      required: ['order'],
      properties: { order: { required: expect.arrayContaining(['id', 'status', 'amount', 'filled']) } },
    });
    expect(Object.keys(components).filter((k) => k.endsWith('Result'))).toHaveLength(ACTION_NAMES.length);
    expect(JSON.stringify(doc.paths['/v1/actions/withdraw'])).toContain('"x-cofre-write":true');
    expect(JSON.stringify(doc.paths['/v1/actions/get_order'])).toContain('"x-cofre-write":false');
    // The place_order body documents the idempotency key as required.
    const place = doc.paths['/v1/actions/place_order']?.['post']?.requestBody?.content['application/json']
      ?.schema as unknown as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(place.required).toContain('clientOrderId');
    expect(place.additionalProperties).toBe(false);
  });

  it('answers an unknown route with 404 COFRE_ROUTE_NOT_FOUND in the cofre error shape', async () => {
    const r = await call({ url: '/v1/nothing' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({
      error: { code: 'COFRE_ROUTE_NOT_FOUND', message: expect.any(String), retryable: false },
    });
    const wrongMethod = await call({ method: 'GET', url: '/v1/actions/list_accounts', token: trader });
    expect(wrongMethod.statusCode).toBe(404);
  });

  it('sends no-store and a request id on every answer', async () => {
    const r = await action('list_accounts', {});
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-request-id']).toMatch(/^http_/);
  });
});

describe('authentication', () => {
  const cases: [string, () => Record<string, string>][] = [
    ['no Authorization header', () => ({})],
    ['a non-bearer scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['a malformed token', () => ({ authorization: 'Bearer nope' })],
    ['a wrong secret for a real token id', () => ({ authorization: `Bearer ${trader.slice(0, -4)}AAAA` })],
    ['a revoked token', () => ({ authorization: `Bearer ${revoked}` })],
  ];
  let reference: unknown;

  it.each(cases)('answers %s with 401 and one same body', async (_label, headers) => {
    const r = await call({ method: 'POST', url: '/v1/actions/list_accounts', headers: headers(), body: {} });
    expect(r.statusCode).toBe(401);
    // RFC 6750 §3: a refused token is `invalid_token`, with one same description whatever was wrong with it (no
    // oracle); a request without a bearer token gets no error code.
    const presented = headers()['authorization']?.startsWith('Bearer ') === true;
    expect(r.headers['www-authenticate']).toBe(
      presented
        ? 'Bearer realm="cofre", error="invalid_token", error_description="invalid, expired or revoked agent token"'
        : 'Bearer realm="cofre"',
    );
    reference ??= r.json();
    expect(r.json()).toEqual(reference);
    expect(r.json()).toEqual({
      error: { code: 'COFRE_UNAUTHENTICATED', message: expect.any(String), retryable: false },
    });
  });

  it('answers an expired token with the same 401', async () => {
    expect((await action('list_accounts', {}, shortLived)).statusCode).toBe(200);
    clockOffsetMs = 120_000;
    try {
      const r = await action('list_accounts', {}, shortLived);
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual(reference);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('checks the token before reading the body, and on every agent route', async () => {
    // Malformed JSON from an unauthenticated caller is not even parsed.
    const r = await call({
      method: 'POST',
      url: '/v1/actions/place_order',
      rawBody: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.statusCode).toBe(401);
    expect((await call({ url: '/v1/requests/req_abc' })).statusCode).toBe(401);
    expect((await call({ method: 'POST', url: '/v1/actions/no_such_action', body: {} })).statusCode).toBe(
      401,
    );
    expect((await call({ method: 'POST', url: '/mcp', body: {} })).statusCode).toBe(401);
  });
});

describe('bad input', () => {
  it('answers an unknown action with 400 COFRE_ACTION_UNKNOWN, without echoing the name', async () => {
    const r = await action('withdraw_everything', {});
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: { code: string; message: string } }>().error.code).toBe('COFRE_ACTION_UNKNOWN');
    const encoded = await call({
      method: 'POST',
      url: '/v1/actions/qqzz%0Aqqzz%00',
      token: trader,
      body: {},
    });
    expect(encoded.statusCode).toBe(400);
    expect(encoded.body).not.toContain('qqzz');
  });

  it('answers malformed JSON with 400 COFRE_INPUT_INVALID without quoting the body', async () => {
    const r = await call({
      method: 'POST',
      url: '/v1/actions/get_balance',
      token: trader,
      rawBody: '{"account": "paper", MARKER_IN_BODY',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: { code: 'COFRE_INPUT_INVALID', message: 'the body is not valid JSON', retryable: false },
    });
    expect(r.body).not.toContain('MARKER_IN_BODY');
  });

  it('answers a prototype-poisoning body with 400', async () => {
    const r = await call({
      method: 'POST',
      url: '/v1/actions/list_accounts',
      token: trader,
      rawBody: '{"__proto__": {"admin": true}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.statusCode).toBe(400);
  });

  it('answers an oversized body with 413 COFRE_BODY_TOO_LARGE', async () => {
    const r = await action('get_balance', { account: 'paper', pad: 'x'.repeat(BODY_LIMIT * 2) });
    expect(r.statusCode).toBe(413);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('COFRE_BODY_TOO_LARGE');
  });

  it('answers a non-JSON media type with 415', async () => {
    const r = await call({
      method: 'POST',
      url: '/v1/actions/list_accounts',
      token: trader,
      rawBody: 'account=paper',
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.statusCode).toBe(415);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('COFRE_MEDIA_TYPE_UNSUPPORTED');
  });

  const order = {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    amount: '0.01',
    price: '50000',
  };
  it.each([
    ['LF in account', { account: 'paper\n' }],
    ['CR in symbol', { symbol: 'BTC/USDT\r' }],
    ['NUL in clientOrderId', { clientOrderId: 'abc\u0000def' }],
    ['CRLF header injection in clientOrderId', { clientOrderId: 'a\r\nX-Evil: 1' }],
    ['a negative amount', { amount: '-1' }],
    ['a negative number amount', { amount: -1 }],
    ['a zero amount', { amount: '0' }],
    ['an absurd amount', { amount: '1e30' }],
    ['an absurd number amount', { amount: 1e30 }],
    ['an amount that is not a number', { amount: 'lots' }],
    ['a negative price', { price: '-50000' }],
    ['an unknown field', { leverage: 100 }],
    ['a missing clientOrderId', { clientOrderId: undefined }],
  ])('answers place_order with %s with 400 COFRE_INPUT_INVALID', async (_label, change) => {
    const body: Record<string, unknown> = { ...order, clientOrderId: 'bad-input-1', ...change };
    const r = await action('place_order', body);
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('COFRE_INPUT_INVALID');
  });

  it('answers a request id with control characters with 400', async () => {
    const r = await call({ url: '/v1/requests/req_a%0D%0Ab', token: trader });
    expect(r.statusCode).toBe(400);
  });

  it('sent nothing to the exchange for any of it', () => {
    expect(fx.paper.orders()).toEqual([]);
  });
});

describe('actions', () => {
  it('list_accounts answers the accounts the agent may use', async () => {
    const r = await action('list_accounts', {});
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      requestId: expect.stringMatching(/^req_/),
      status: 'executed',
      result: { accounts: [{ account: 'paper', venue: 'binance', mode: 'paper' }] },
    });
  });

  it('list_accounts takes an empty body too', async () => {
    const r = await call({ method: 'POST', url: '/v1/actions/list_accounts', token: trader });
    expect(r.statusCode).toBe(200);
  });

  it('denies an account the policy does not list with 403 and rule default-deny', async () => {
    const r = await action('get_balance', { account: 'other' });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ status: 'denied', rule: 'default-deny', reason: expect.any(String) });
    const unknown = await action('get_balance', { account: 'nowhere' });
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json()).toMatchObject({ status: 'denied', rule: 'default-deny' });
  });

  it('denies an action the policy does not list', async () => {
    const r = await action('get_ticker', { account: 'paper', symbol: 'BTC/USDT' }, reader);
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ status: 'denied', rule: 'default-deny' });
  });

  it('GET /v1/requests/<id> answers the agent its own request, and 404 to another agent', async () => {
    const mine = (await action('list_accounts', {})).json<{ requestId: string }>();
    const own = await call({ url: `/v1/requests/${mine.requestId}`, token: trader });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ requestId: mine.requestId, status: 'executed' });

    const theirs = await call({ url: `/v1/requests/${mine.requestId}`, token: reader });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json<{ error: { code: string } }>().error.code).toBe('COFRE_REQUEST_NOT_FOUND');
    const none = await call({ url: '/v1/requests/req_doesnotexist', token: trader });
    // Another agent's request looks exactly like a missing one.
    expect(none.statusCode).toBe(404);
    expect(none.json<{ error: { message: string } }>().error.message).toBe(
      theirs.json<{ error: { message: string } }>().error.message.replace(mine.requestId, 'req_doesnotexist'),
    );
  });

  it('get_request of a denied request answers 200 with the stored denial', async () => {
    const denied = (await action('get_balance', { account: 'other' })).json<{ requestId: string }>();
    const r = await action('get_request', { requestId: denied.requestId });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'denied', rule: 'default-deny' });
  });

  it('balance, place, query and cancel on the paper exchange, signed correctly', async () => {
    const balance = await action('get_balance', { account: 'paper' });
    expect(balance.statusCode).toBe(200);
    expect(balance.json()).toMatchObject({
      status: 'executed',
      result: { balance: { assets: { USDT: { free: '100000' } } } },
    });

    const ticker = await action('get_ticker', { account: 'paper', symbol: 'BTC/USDT' });
    expect(ticker.json()).toMatchObject({ status: 'executed', result: { ticker: { symbol: 'BTC/USDT' } } });

    const preview = await action('preview_order', { ...orderOf('0.01'), type: 'limit', price: '50000' });
    expect(preview.json()).toMatchObject({ status: 'executed', result: { sent: false } });
    expect(fx.paper.orders()).toHaveLength(0);

    const body = { ...orderOf('0.01'), type: 'limit', price: '50000', clientOrderId: 'http-e2e-1' };
    const placed = await action('place_order', body);
    expect(placed.statusCode).toBe(200);
    expect(placed.json()).toMatchObject({
      status: 'executed',
      result: { order: { clientOrderId: 'http-e2e-1', status: 'open' } },
    });

    // Same clientOrderId twice = one order, and the same answer.
    const again = await action('place_order', body);
    expect(again.json()).toEqual({ ...placed.json(), replayed: true });
    expect(fx.paper.orders().filter((o) => o.clientOrderId === 'http-e2e-1')).toHaveLength(1);

    const got = await action('get_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'http-e2e-1',
    });
    expect(got.json()).toMatchObject({
      status: 'executed',
      result: { order: { status: 'open', amount: '0.01' } },
    });

    const open = await action('get_open_orders', { account: 'paper', symbol: 'BTC/USDT' });
    expect(open.json<{ result: { orders: unknown[] } }>().result.orders).toHaveLength(1);

    const cancelled = await action('cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'http-e2e-1',
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'executed', result: { order: { status: 'canceled' } } });
    expect(fx.paper.orders().find((o) => o.clientOrderId === 'http-e2e-1')?.status).toBe('CANCELED');

    // Every signed request the exchange received verified (HMAC, timestamp, recvWindow).
    const signed = fx.paper.requests().filter((r) => r.signed);
    expect(signed.length).toBeGreaterThan(0);
    expect(signed.every((r) => r.verified)).toBe(true);
  });

  it('answers an order the exchange refuses with 502 and status failed', async () => {
    const r = await action('place_order', {
      ...orderOf('1000'),
      type: 'limit',
      price: '50000',
      clientOrderId: 'http-too-big-1',
    });
    expect(r.statusCode).toBe(502);
    expect(r.json()).toMatchObject({
      status: 'failed',
      error: { code: expect.stringMatching(/^COFRE_VENUE_/) },
    });
  });
});

describe('DNS rebinding and browsers', () => {
  it('refuses a Host that is not loopback with 403 COFRE_ORIGIN_REFUSED', async () => {
    const r = await call({
      method: 'POST',
      url: '/v1/actions/list_accounts',
      token: trader,
      body: {},
      headers: { host: 'attacker.example:8787' },
    });
    expect(r.statusCode).toBe(403);
    // Checked before the token: a rebinding page learns nothing about tokens.
    const noToken = await call({ url: '/v1/requests/req_x', headers: { host: 'attacker.example' } });
    expect(noToken.statusCode).toBe(403);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('COFRE_ORIGIN_REFUSED');
  });

  it('accepts loopback names with any port, IPv6 included', async () => {
    for (const host of ['127.0.0.1:8787', 'localhost', '[::1]:9000', 'LOCALHOST:1']) {
      const r = await call({
        method: 'POST',
        url: '/v1/actions/list_accounts',
        token: trader,
        body: {},
        headers: { host },
      });
      expect(r.statusCode, host).toBe(200);
    }
  });

  it('refuses any request from a browser page (an Origin header)', async () => {
    const r = await call({
      method: 'POST',
      url: '/v1/actions/list_accounts',
      token: trader,
      body: {},
      headers: { origin: 'http://localhost:3000' },
    });
    expect(r.statusCode).toBe(403);
  });

  it('accepts configured hosts and origins', async () => {
    const other = createHttpServer({
      broker: fx.broker,
      state: fx.state,
      logger: fx.logger,
      bodyLimit: BODY_LIMIT,
      allowedHosts: ['cofre.internal'],
      allowedOrigins: ['https://console.internal'],
    });
    try {
      const r = await other.inject({
        method: 'POST',
        url: '/v1/actions/list_accounts',
        headers: {
          host: 'cofre.internal:8787',
          origin: 'https://console.internal',
          authorization: `Bearer ${trader}`,
        },
        payload: {},
      });
      expect(r.statusCode).toBe(200);
      const local = await other.inject({
        method: 'GET',
        url: '/v1/openapi.json',
        headers: { host: 'localhost' },
      });
      expect(local.statusCode).toBe(403);
    } finally {
      await other.close();
    }
  });
});

describe('errors the broker did not expect', () => {
  it('answers 500 with a generic message and the request id, and logs the error in full', async () => {
    const broken = {
      execute: () => Promise.reject(new Error('boom: database file is gone')),
    } as unknown as Broker;
    const server = createHttpServer({
      broker: broken,
      state: fx.state,
      logger: fx.logger,
      bodyLimit: BODY_LIMIT,
    });
    try {
      const r = await server.inject({
        method: 'POST',
        url: '/v1/actions/list_accounts',
        headers: { authorization: `Bearer ${trader}` },
        payload: {},
      });
      expect(r.statusCode).toBe(500);
      const body = r.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe('COFRE_INTERNAL');
      expect(body.error.message).toContain(String(r.headers['x-request-id']));
      expect(r.body).not.toContain('boom');
      expect(r.body).not.toContain('stack');
      expect(fx.logLines.some((l) => l.includes('boom: database file is gone'))).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('logs and leaks', () => {
  it('logs one line per request with method, route, status, request id and duration only', () => {
    const lines = fx.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'request');
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(line).toMatchObject({
        reqId: expect.stringMatching(/^http_/),
        method: expect.any(String),
        route: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
      expect(line).not.toHaveProperty('req');
      expect(line).not.toHaveProperty('url');
    }
    expect(lines.some((l) => l['route'] === '/v1/actions/place_order' && l['status'] === 200)).toBe(true);
  });

  it('never logs an Authorization header, a token or a body', () => {
    const log = fx.logLines.join('\n');
    for (const token of [trader, reader, revoked, shortLived]) {
      expect(leaks(log, fx.forbidden([token]))).toEqual([]);
    }
    expect(log).not.toMatch(/authorization/i);
    expect(log).not.toContain('Bearer');
    expect(log).not.toContain('MARKER_IN_BODY');
    expect(log).not.toContain('http-e2e-1');
    expect(log).not.toContain('X-Evil');
  });

  it('never shows an exchange credential in a response or the audit log', async () => {
    const all = responses.join('\n');
    expect(leaks(all, fx.forbidden())).toEqual([]);
    expect(leaks(await readAudit(fx), fx.forbidden())).toEqual([]);
    expect(leaks(fx.logLines.join('\n'), fx.forbidden())).toEqual([]);
  });
});

function orderOf(amount: string) {
  return { account: 'paper', symbol: 'BTC/USDT', side: 'buy', amount };
}
