// Issue 15, the service proxy end to end: `http_request` through `cofre serve`'s wiring against a real HTTPS API
// (https-upstream.ts) that records what it receives. The credential is a canary: it must arrive where `inject` says
// and nowhere else — not in the agent's answer, the server log or the audit log, in any encoding.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type HttpsUpstream, startHttpsUpstream } from './https-upstream.js';
import { errorCodeOf, type HttpAnswer, type ServedFixture, startServedBroker } from './served-broker.js';

// `+`, `/` and `=` so that raw, base64 and URL-encoded forms all differ.
const CANARY = `cpCanary+${randomBytes(12).toString('hex')}/==`;

let fx: ServedFixture;
let upstream: HttpsUpstream;
let away: HttpsUpstream;
let deadPort: number;
const tokens: Record<string, string> = {};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

beforeAll(async () => {
  away = await startHttpsUpstream();
  upstream = await startHttpsUpstream({
    away: away.origin,
    secretOf: (r) => r.query['auth_token'] ?? r.headers['x-api-key']?.toString().replace(/^Token /, '') ?? '',
  });
  deadPort = await closedPort();
  const base = upstream.origin;
  const service = (name: string, rest: string): string =>
    `  ${name}: { baseUrl: "${base}/api", secret: "local:services/news", local: true, ${rest} }`;
  fx = await startServedBroker(
    () => [
      'services:',
      service('news', 'inject: { type: query, name: auth_token }, methods: [GET, POST], paths: ["/**"]'),
      service('hdr', 'inject: { type: header, name: X-Api-Key, template: "Token {secret}" }'),
      service('basic', 'inject: { type: basic, username: bot }, paths: ["/**"]'),
      service('limited', 'inject: { type: query, name: auth_token }, paths: ["/posts/*"]'),
      service('slow', 'inject: { type: query, name: auth_token }, paths: ["/**"], timeout: 300ms'),
      service(
        'rated',
        'inject: { type: query, name: auth_token }, paths: ["/**"], rateLimit: { requestsPerSecond: 0.001, burst: 2 }',
      ),
      service('small', 'inject: { type: query, name: auth_token }, paths: ["/**"], maxResponseSize: 1KiB'),
      // Not local: its name resolves to 127.0.0.1, which it may not reach.
      `  remote: { baseUrl: "https://localhost:${upstream.port}/api", secret: "local:services/news", inject: { type: query, name: auth_token }, paths: ["/**"] }`,
      `  down: { baseUrl: "https://127.0.0.1:${deadPort}", secret: "local:services/news", local: true, inject: { type: query, name: auth_token }, paths: ["/**"] }`,
      'policies:',
      '  reader:',
      '    rules:',
      '      - allow: [http_request]',
      '        services: [news, hdr, basic, limited, small, remote, down, slow, rated]',
      '  narrow:',
      '    rules:',
      '      - { allow: [http_request], services: [news], methods: [GET], paths: ["/posts/*"] }',
      '  every:',
      '    rules:',
      '      - { allow: [http_request], services: ["*"] }',
      '  trader:',
      '    rules:',
      '      - { allow: [get_limits] }',
    ],
    {},
    { secrets: { 'services/news': CANARY } },
  );
  for (const policy of ['reader', 'narrow', 'every', 'trader'])
    tokens[policy] = await fx.agentToken(`${policy}-1`, policy);
});

afterAll(async () => {
  await fx.close();
  await upstream.stop();
  await away.stop();
});

function http(policy: string, input: Record<string, unknown>): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/http_request', tokens[policy], input);
}

function responseOf(answer: HttpAnswer): {
  status: number;
  headers: Record<string, string>;
  body: string;
  encoding: string;
} {
  expect(answer.body['status'], JSON.stringify(answer.body)).toBe('executed');
  return (answer.body['result'] as { response: ReturnType<typeof responseOf> }).response;
}

/** Every encoding of the canary a leak could take. */
function traces(secret: string): string[] {
  const b = Buffer.from(secret, 'utf8');
  return [
    secret,
    'cpCanary',
    b.toString('base64'),
    b.toString('base64url'),
    b.toString('hex'),
    encodeURIComponent(secret),
    Buffer.from(`bot:${secret}`).toString('base64'),
  ];
}

function expectNoCanary(text: string, where: string): void {
  for (const trace of traces(CANARY)) expect(text.includes(trace), `${where} holds ${trace}`).toBe(false);
}

describe('the credential arrives where inject says', () => {
  it('as a query parameter (CryptoPanic auth_token), next to the agent’s own', async () => {
    const before = upstream.received.length;
    const answer = await http('reader', {
      service: 'news',
      method: 'GET',
      path: '/posts/',
      query: { currencies: 'BTC', public: 'true' },
    });
    expect(responseOf(answer).status).toBe(200);
    const got = upstream.received[before];
    expect(got?.path).toBe('/api/posts/');
    expect(got?.query).toEqual({ currencies: 'BTC', public: 'true', auth_token: CANARY });
    expect(got?.headers['authorization']).toBeUndefined();
  });

  it('in a header from its template', async () => {
    const before = upstream.received.length;
    responseOf(await http('reader', { service: 'hdr', method: 'GET', path: '/anything' }));
    expect(upstream.received[before]?.headers['x-api-key']).toBe(`Token ${CANARY}`);
    expect(upstream.received[before]?.query).toEqual({});
  });

  it('as HTTP basic authentication', async () => {
    const before = upstream.received.length;
    responseOf(await http('reader', { service: 'basic', method: 'GET', path: '/x' }));
    expect(upstream.received[before]?.headers['authorization']).toBe(
      `Basic ${Buffer.from(`bot:${CANARY}`).toString('base64')}`,
    );
  });

  it('a JSON body is sent as JSON', async () => {
    const before = upstream.received.length;
    responseOf(
      await http('reader', { service: 'news', method: 'POST', path: '/votes', body: { kind: 'bullish' } }),
    );
    expect(upstream.received[before]?.body).toBe('{"kind":"bullish"}');
    expect(upstream.received[before]?.headers['content-type']).toBe('application/json');
  });
});

describe('the canary never comes back', () => {
  it('an API echoing the key in every encoding answers the agent with it redacted; only safe headers pass', async () => {
    for (const service of ['news', 'hdr']) {
      const answer = await http('reader', { service, method: 'GET', path: '/echo' });
      const response = responseOf(answer);
      expectNoCanary(JSON.stringify(answer.body), `the answer of ${service}`);
      expect(response.body).toContain('[REDACTED]');
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.headers['x-ratelimit-remaining']).toBe('9');
      expect(response.headers['content-type']).toBe('application/json');
    }
  });

  it('nor is it in get_request’s stored answer, the server log or the audit log', async () => {
    const answer = await http('reader', { service: 'news', method: 'GET', path: '/echo' });
    const stored = await fx.call('GET', `/v1/requests/${String(answer.body['requestId'])}`, tokens['reader']);
    expectNoCanary(JSON.stringify(stored.body), 'the stored answer');
    expectNoCanary(fx.logLines.join(''), 'the server log');
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    expectNoCanary(audit, 'the audit log');
    // Audited like every action: the intent names service, method and path; the read is on record, HMAC'd.
    const lines = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = lines.filter((l) => l['requestId'] === answer.body['requestId']);
    expect(mine.find((l) => l['kind'] === 'intent')?.['detail']).toEqual({
      service: 'news',
      method: 'GET',
      path: '/echo',
    });
    const read = mine.find((l) => l['kind'] === 'secret-access');
    expect(read?.['purpose']).toBe('service-credential');
    expect(String(read?.['reference'])).not.toContain('services/news');
    expect(mine.find((l) => l['kind'] === 'outcome')?.['status']).toBe('executed');
  });
});

describe('SSRF', () => {
  it('a service not marked local whose name resolves to 127.0.0.1 is refused before any byte is sent', async () => {
    const before = upstream.received.length;
    const answer = await http('reader', { service: 'remote', method: 'GET', path: '/posts/' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_DESTINATION_REFUSED');
    expect(upstream.received.length).toBe(before);
  });

  it('proxy environment variables are never honoured', async () => {
    const saved = { https: process.env['HTTPS_PROXY'], http: process.env['HTTP_PROXY'] };
    // A proxy that would see the credential if it were used; nothing listens there, so using it would fail.
    process.env['HTTPS_PROXY'] = `http://127.0.0.1:${deadPort}`;
    process.env['HTTP_PROXY'] = `http://127.0.0.1:${deadPort}`;
    try {
      expect(
        responseOf(await http('reader', { service: 'news', method: 'GET', path: '/posts/' })).status,
      ).toBe(200);
    } finally {
      if (saved.https === undefined) delete process.env['HTTPS_PROXY'];
      else process.env['HTTPS_PROXY'] = saved.https;
      if (saved.http === undefined) delete process.env['HTTP_PROXY'];
      else process.env['HTTP_PROXY'] = saved.http;
    }
  });

  it('a redirect to another origin is not followed, and its Location is not shown', async () => {
    const answer = await http('reader', { service: 'news', method: 'GET', path: '/redirect-away' });
    const response = responseOf(answer);
    expect(response.status).toBe(302);
    expect(response.headers['location']).toBeUndefined();
    expect(away.received).toEqual([]);
    const here = responseOf(await http('reader', { service: 'news', method: 'GET', path: '/redirect-here' }));
    expect(here.status).toBe(302);
    expect(here.headers['location']).toBe('/api/echo');
  });

  it.each([
    '//evil.com/x',
    '/a//b',
    '/../x',
    '/a/./b',
    '/%2e%2e/x',
    '/a%2fb',
    'https://evil.com/x',
    'evil.com',
    '/a?auth_token=x',
    '/a#frag',
    '/a\\b',
    '/a b',
  ])('the path %j is refused as invalid input', async (path) => {
    const before = upstream.received.length;
    const answer = await http('reader', { service: 'news', method: 'GET', path });
    expect(answer.status).toBe(400);
    expect(errorCodeOf(answer)).toBe('COFRE_INPUT_INVALID');
    expect(upstream.received.length).toBe(before);
  });

  it.each(['Authorization', 'cookie', 'Host', 'Proxy-Authorization', 'Content-Length'])(
    'the agent may not set the header %s',
    async (name) => {
      const answer = await http('reader', {
        service: 'news',
        method: 'GET',
        path: '/x',
        headers: { [name]: 'v' },
      });
      expect(errorCodeOf(answer)).toBe('COFRE_INPUT_INVALID');
    },
  );

  it('nor the injected header or query parameter', async () => {
    const before = upstream.received.length;
    const query = await http('reader', {
      service: 'news',
      method: 'GET',
      path: '/x',
      query: { AUTH_TOKEN: 'mine' },
    });
    expect(errorCodeOf(query)).toBe('COFRE_INPUT_INVALID');
    const header = await http('reader', {
      service: 'hdr',
      method: 'GET',
      path: '/x',
      headers: { 'x-api-key': 'mine' },
    });
    expect(errorCodeOf(header)).toBe('COFRE_INPUT_INVALID');
    expect(upstream.received.length).toBe(before);
  });
});

describe('policy and the service allowlist', () => {
  it('an agent without http_request is denied', async () => {
    const answer = await http('trader', { service: 'news', method: 'GET', path: '/posts/1' });
    expect(answer.body['status']).toBe('denied');
  });

  it('a rule restricted to other services, methods or paths denies, with the same words for an unknown service', async () => {
    expect(
      responseOf(await http('narrow', { service: 'news', method: 'GET', path: '/posts/1' })).status,
    ).toBe(200);
    for (const input of [
      { service: 'news', method: 'GET', path: '/posts/1/votes' },
      { service: 'news', method: 'POST', path: '/posts/1' },
      { service: 'hdr', method: 'GET', path: '/posts/1' },
    ]) {
      expect((await http('narrow', input)).body['status'], JSON.stringify(input)).toBe('denied');
    }
    const known = await http('narrow', { service: 'hdr', method: 'GET', path: '/posts/1' });
    const unknown = await http('narrow', { service: 'nope', method: 'GET', path: '/posts/1' });
    expect(unknown.body['status']).toBe('denied');
    expect(String(unknown.body['reason']).replace('nope', 'hdr')).toBe(known.body['reason']);
  });

  it('an agent allowed every service learns an unknown one does not exist', async () => {
    const answer = await http('every', { service: 'nope', method: 'GET', path: '/x' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_NOT_FOUND');
  });

  it("the service's own paths and methods bound what policy allows", async () => {
    const before = upstream.received.length;
    expect(errorCodeOf(await http('reader', { service: 'limited', method: 'GET', path: '/other' }))).toBe(
      'COFRE_SERVICE_DESTINATION_REFUSED',
    );
    expect(errorCodeOf(await http('reader', { service: 'hdr', method: 'DELETE', path: '/x' }))).toBe(
      'COFRE_SERVICE_DESTINATION_REFUSED',
    );
    expect(upstream.received.length).toBe(before);
  });
});

describe('limits and failures', () => {
  it('a response over maxResponseSize is dropped', async () => {
    const answer = await http('reader', { service: 'small', method: 'GET', path: '/big' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_RESPONSE_TOO_LARGE');
  });

  it('a service that is down is COFRE_SERVICE_UNAVAILABLE', async () => {
    const answer = await http('reader', { service: 'down', method: 'GET', path: '/x' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_UNAVAILABLE');
    expect(answer.body['error']).toMatchObject({ retryable: true });
  });

  it('a binary body comes back as base64', async () => {
    const response = responseOf(await http('reader', { service: 'news', method: 'GET', path: '/binary' }));
    expect(response.encoding).toBe('base64');
    expect(Buffer.from(response.body, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]));
  });

  it('GET takes no body', async () => {
    const answer = await http('reader', { service: 'news', method: 'GET', path: '/x', body: 'hello' });
    expect(errorCodeOf(answer)).toBe('COFRE_INPUT_INVALID');
  });
});

describe('timeouts, rate limits and the kill switch', () => {
  it('a service that does not answer within its timeout is COFRE_SERVICE_UNAVAILABLE', async () => {
    const answer = await http('reader', { service: 'slow', method: 'GET', path: '/slow' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_UNAVAILABLE');
    expect((answer.body['error'] as { message: string }).message).toContain('did not answer in time');
  });

  it("past the service's rateLimit burst, requests are refused and not sent", async () => {
    responseOf(await http('reader', { service: 'rated', method: 'GET', path: '/x' }));
    responseOf(await http('reader', { service: 'rated', method: 'GET', path: '/x' }));
    const before = upstream.received.length;
    const answer = await http('reader', { service: 'rated', method: 'GET', path: '/x' });
    expect(errorCodeOf(answer)).toBe('COFRE_SERVICE_RATE_LIMITED');
    expect(upstream.received.length).toBe(before);
  });

  it('the kill switch halts trading, not http_request', async () => {
    const operator = await fx.operatorToken('halt-op');
    expect((await fx.call('POST', '/v1/operator/halt', operator, { reason: 'drill' })).status).toBe(200);
    try {
      expect(errorCodeOf(await fx.call('POST', '/v1/actions/get_limits', tokens['trader'], {}))).toBe(
        'COFRE_HALTED',
      );
      expect(
        responseOf(await http('reader', { service: 'news', method: 'GET', path: '/posts/' })).status,
      ).toBe(200);
    } finally {
      await fx.call('POST', '/v1/operator/resume', operator, {});
    }
  });
});
