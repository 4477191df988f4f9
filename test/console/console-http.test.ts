import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { issueOperatorToken } from '../../src/broker/operator-tokens.js';
import { CONSOLE_CSP } from '../../src/surfaces/http/console/console-headers.js';
import { codeOf, consoleRequest, login } from './console-client.js';
import { type ServedConsole, startServedConsole } from './served-console.js';

let fx: ServedConsole;
let base: string;
let operatorToken: string;
let agentToken: string;

beforeAll(async () => {
  fx = await startServedConsole(['idleTimeout: 1m', 'sessionLifetime: 5m']);
  base = fx.consoleUrl;
  operatorToken = await fx.operatorToken('alice');
  agentToken = await fx.agentToken('trader', 'trader');
});
afterAll(async () => {
  await fx.close();
});

const halted = async (): Promise<boolean> =>
  (await fx.call('GET', '/v1/operator/halt', operatorToken)).body['halted'] === true;

describe('console listener', () => {
  it('serves the page and its assets with the CSP and security headers, on every answer', async () => {
    const page = await consoleRequest(base, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    const script = await consoleRequest(base, 'GET', '/assets/console.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('no-cache');
    const again = await consoleRequest(base, 'GET', '/assets/console.js', {
      headers: { 'if-none-match': String(script.headers['etag']) },
    });
    expect(again.status).toBe(304);
    // Browsers ask for it unprompted: an empty answer, not a 404 in the page's console.
    const favicon = await consoleRequest(base, 'GET', '/favicon.ico');
    expect(favicon.status).toBe(204);
    const missing = await consoleRequest(base, 'GET', '/assets/..%2f..%2fpackage.json');
    const unknownApi = await consoleRequest(base, 'GET', '/v1/nothing');
    for (const answer of [page, script, favicon, missing, unknownApi]) {
      expect(answer.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(answer.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(answer.headers['permissions-policy']).toContain('camera=()');
      // Plain HTTP on loopback: no HSTS.
      expect(answer.headers['strict-transport-security']).toBeUndefined();
    }
    expect(missing.status).toBe(404);
    expect(unknownApi.status).toBe(404);
    expect(CONSOLE_CSP).not.toContain('unsafe');
  });

  it('serves the page for a client-side route asked for as HTML, and never a file outside the bundle', async () => {
    const route = await consoleRequest(base, 'GET', '/approvals', { headers: { accept: 'text/html' } });
    expect(route.status).toBe(200);
    expect(route.text).toContain('<div id="app">');
    for (const path of ['/assets/../../package.json', '/assets/%2e%2e/index.html', '/../package.json']) {
      const answer = await consoleRequest(base, 'GET', path, { headers: { accept: 'application/json' } });
      expect(answer.text).not.toContain('"name": "cofre"');
    }
  });

  it('lets another site open the page, and nothing else, even where the cookie goes along (same site)', async () => {
    const { cookie } = await login(base, operatorToken);
    const navigation = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    for (const site of ['cross-site', 'same-site']) {
      const page = await consoleRequest(base, 'GET', '/', {
        headers: { cookie, 'sec-fetch-site': site, ...navigation },
      });
      expect(page.status).toBe(200);
      for (const path of ['/console/session', '/v1/operator/approvals', '/assets/console.js']) {
        const embedded = await consoleRequest(base, 'GET', path, {
          headers: { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
        });
        expect(embedded.status, `${site} ${path}`).toBe(403);
        expect(codeOf(embedded)).toBe('COFRE_ORIGIN_REFUSED');
      }
    }
    const own = await consoleRequest(base, 'GET', '/console/session', {
      headers: { cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
    });
    expect(own.status).toBe(200);
  });

  it('refuses a Host it does not answer to (DNS rebinding)', async () => {
    const answer = await consoleRequest(base, 'GET', '/', { headers: { host: 'evil.example' } });
    expect(answer.status).toBe(403);
    expect(codeOf(answer)).toBe('COFRE_ORIGIN_REFUSED');
  });

  it('logs an operator in with an HttpOnly, SameSite=Strict session cookie', async () => {
    const { answer } = await login(base, operatorToken);
    const cookie = [answer.headers['set-cookie'] ?? []].flat();
    expect(cookie).toHaveLength(1);
    expect(cookie[0]).toMatch(/^cofre_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(answer.json).toMatchObject({ operator: 'alice', idleTimeoutMs: 60_000 });
    expect(answer.json?.['csrfToken']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses an agent token at login with a message for a person, and a bad token with 401', async () => {
    const agent = await consoleRequest(base, 'POST', '/console/login', {
      headers: { origin: base },
      body: { token: agentToken },
    });
    expect(agent.status).toBe(403);
    expect(codeOf(agent)).toBe('COFRE_OPERATOR_TOKEN_REQUIRED');
    expect(agent.text).toContain('operator token');
    expect(agent.headers['set-cookie']).toBeUndefined();
    const bad = await consoleRequest(base, 'POST', '/console/login', {
      headers: { origin: base },
      body: { token: `${operatorToken.slice(0, -4)}AAAA` },
    });
    expect(bad.status).toBe(401);
    expect(codeOf(bad)).toBe('COFRE_UNAUTHENTICATED');
    expect(bad.headers['www-authenticate']).toBeUndefined();
    const empty = await consoleRequest(base, 'POST', '/console/login', {
      headers: { origin: base },
      body: {},
    });
    expect(empty.status).toBe(400);
    expect(codeOf(empty)).toBe('COFRE_INPUT_INVALID');
  });

  it('refuses a login from another origin, without an Origin, or cross-site (login CSRF)', async () => {
    const attempts = [
      { origin: 'http://evil.example' },
      {},
      { origin: base, 'sec-fetch-site': 'cross-site' },
      { origin: base, 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ];
    for (const headers of attempts) {
      const answer = await consoleRequest(base, 'POST', '/console/login', {
        headers,
        body: { token: operatorToken },
      });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(codeOf(answer)).toBe('COFRE_CSRF_REJECTED');
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
  });

  it('serves the operator API by session; without a session it is 401', async () => {
    const none = await consoleRequest(base, 'GET', '/v1/operator/halt');
    expect(none.status).toBe(401);
    expect(codeOf(none)).toBe('COFRE_UNAUTHENTICATED');
    const forged = await consoleRequest(base, 'GET', '/v1/operator/halt', {
      headers: { cookie: 'cofre_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(forged.status).toBe(401);
    // A bearer operator token is no session: the console takes cookies only.
    const bearer = await consoleRequest(base, 'GET', '/v1/operator/halt', {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    expect(bearer.status).toBe(401);
    const { cookie } = await login(base, operatorToken);
    const halt = await consoleRequest(base, 'GET', '/v1/operator/halt', { headers: { cookie } });
    expect(halt.status).toBe(200);
    expect(halt.json).toEqual({ halted: false });
  });

  it('refuses a state change without the CSRF token, with a wrong one, or from another origin; nothing changes', async () => {
    const { cookie, csrf } = await login(base, operatorToken);
    const body = { reason: 'csrf test' };
    const attempts: Record<string, string>[] = [
      { cookie },
      { cookie, 'x-cofre-csrf': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` },
      { cookie, 'x-cofre-csrf': '' },
      { cookie, 'x-cofre-csrf': csrf, origin: 'http://evil.example' },
      { cookie, 'x-cofre-csrf': csrf, 'sec-fetch-site': 'cross-site' },
      { cookie, 'x-cofre-csrf': csrf, origin: 'null' },
    ];
    for (const headers of attempts) {
      const answer = await consoleRequest(base, 'POST', '/v1/operator/halt', { headers, body });
      expect(answer.status, JSON.stringify(Object.keys(headers))).toBe(403);
      expect(codeOf(answer)).toBe('COFRE_CSRF_REJECTED');
      expect(await halted()).toBe(false);
    }
    // Another session's token is no good either.
    const other = await login(base, operatorToken);
    const crossed = await consoleRequest(base, 'POST', '/v1/operator/halt', {
      headers: { cookie, 'x-cofre-csrf': other.csrf },
      body,
    });
    expect(crossed.status).toBe(403);
    expect(await halted()).toBe(false);

    const done = await consoleRequest(base, 'POST', '/v1/operator/halt', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base, 'sec-fetch-site': 'same-origin' },
      body,
    });
    expect(done.status).toBe(200);
    expect(await halted()).toBe(true);
    const resumed = await consoleRequest(base, 'POST', '/v1/operator/resume', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base },
      body: {},
    });
    expect(resumed.status).toBe(200);
    expect(await halted()).toBe(false);
  });

  it("adds an agent as the session's operator, only with the CSRF token", async () => {
    const { cookie, csrf } = await login(base, operatorToken);
    const body = { id: 'console-added', policy: 'trader' };
    const forged = await consoleRequest(base, 'POST', '/v1/operator/agents', { headers: { cookie }, body });
    expect(forged.status).toBe(403);
    expect(codeOf(forged)).toBe('COFRE_CSRF_REJECTED');
    const listed = async (): Promise<unknown[]> =>
      ((await consoleRequest(base, 'GET', '/v1/operator/agents', { headers: { cookie } })).json?.['agents'] ??
        []) as unknown[];
    expect(JSON.stringify(await listed())).not.toContain('console-added');
    const added = await consoleRequest(base, 'POST', '/v1/operator/agents', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base },
      body,
    });
    expect(added.status).toBe(201);
    expect(JSON.stringify(await listed())).toContain('console-added');
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    const record = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((r) => r['action'] === 'agent-add' && JSON.stringify(r['detail']).includes('console-added'));
    expect(record?.['operator']).toBe('alice');
  });

  it('logs out (CSRF checked), clears the cookie, and the old cookie no longer works', async () => {
    const { cookie, csrf } = await login(base, operatorToken);
    const forged = await consoleRequest(base, 'POST', '/console/logout', { headers: { cookie } });
    expect(forged.status).toBe(403);
    expect((await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } })).status).toBe(200);
    const out = await consoleRequest(base, 'POST', '/console/logout', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base },
    });
    expect(out.status).toBe(204);
    expect([out.headers['set-cookie']].flat()[0]).toMatch(/^cofre_console=; .*Max-Age=0/);
    const after = await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('ends a session idle for idleTimeout; state changes and GET /console/session keep it alive, polls do not', async () => {
    const { cookie, csrf } = await login(base, operatorToken);
    fx.advance(50_000);
    // A poll is not the operator's activity.
    expect((await consoleRequest(base, 'GET', '/v1/operator/halt', { headers: { cookie } })).status).toBe(
      200,
    );
    fx.advance(5_000);
    expect((await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } })).status).toBe(200);
    fx.advance(50_000);
    const change = await consoleRequest(base, 'POST', '/v1/operator/resume', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base },
      body: {},
    });
    expect(change.status).toBe(200);
    fx.advance(50_000);
    expect((await consoleRequest(base, 'GET', '/v1/operator/halt', { headers: { cookie } })).status).toBe(
      200,
    );
    fx.advance(15_000);
    const idle = await consoleRequest(base, 'GET', '/v1/operator/halt', { headers: { cookie } });
    expect(idle.status).toBe(401);
    expect(codeOf(idle)).toBe('COFRE_UNAUTHENTICATED');
  });

  it('ends a session at its lifetime however it is used, and never after the operator token expires', async () => {
    const { cookie, answer } = await login(base, operatorToken);
    // The server's clock, from the session's end (its lifetime, 5 minutes, is sooner than the token's hour).
    const serverNow = Date.parse(String(answer.json?.['expiresAt'])) - 5 * 60_000;
    for (let i = 0; i < 5; i++) {
      fx.advance(50_000);
      expect((await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } })).status).toBe(
        200,
      );
    }
    fx.advance(60_000);
    expect((await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } })).status).toBe(401);

    // A token that expires in 2 minutes: the session ends then, not at its 5-minute lifetime.
    const { token } = await issueOperatorToken(fx.server.runtime.state, {
      id: 'carol',
      ttlMs: 2 * 60_000,
      now: new Date(serverNow + 5 * 60_000),
    });
    const carol = await login(base, token);
    expect(Date.parse(String(carol.answer.json?.['expiresAt']))).toBe(serverNow + 7 * 60_000);
    for (let i = 0; i < 2; i++) {
      fx.advance(50_000);
      const session = await consoleRequest(base, 'GET', '/console/session', {
        headers: { cookie: carol.cookie },
      });
      expect(session.status).toBe(200);
    }
    fx.advance(30_000);
    const ended = await consoleRequest(base, 'GET', '/console/session', {
      headers: { cookie: carol.cookie },
    });
    expect(ended.status).toBe(401);
  });

  it("ends a revoked operator's sessions at their next request", async () => {
    const bob = await fx.operatorToken('bob');
    const { cookie } = await login(base, bob);
    expect((await consoleRequest(base, 'GET', '/console/session', { headers: { cookie } })).status).toBe(200);
    await fx.server.runtime.state.revokeOperator('bob', new Date());
    const after = await consoleRequest(base, 'GET', '/v1/operator/approvals', { headers: { cookie } });
    expect(after.status).toBe(401);
    const relogin = await consoleRequest(base, 'POST', '/console/login', {
      headers: { origin: base },
      body: { token: bob },
    });
    expect(relogin.status).toBe(401);
  });

  it('rate limits logins per client address with 429 and Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 100; i++) {
      const answer = await consoleRequest(base, 'POST', '/console/login', {
        headers: { origin: base },
        body: { token: 'cofre_op_nope' },
      });
      answers.push(answer);
      if (answer.status === 429) break;
    }
    const limited = answers.at(-1);
    expect(limited?.status).toBe(429);
    expect(limited === undefined ? undefined : codeOf(limited)).toBe('COFRE_CONSOLE_LOGIN_RATE_LIMITED');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Recovers: one second later the bucket has room again.
    fx.advance(1_000);
    const later = await consoleRequest(base, 'POST', '/console/login', {
      headers: { origin: base },
      body: { token: operatorToken },
    });
    expect(later.status).toBe(200);
  });

  it('records logins, refused logins and logouts in the audit log, never a token, cookie or CSRF token', async () => {
    const { cookie, csrf, sessionId } = await login(base, operatorToken);
    await consoleRequest(base, 'POST', '/console/logout', {
      headers: { cookie, 'x-cofre-csrf': csrf, origin: base },
    });
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    const records = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const consoleRecords = records.filter((r) => String(r['action']).startsWith('console-'));
    expect(consoleRecords.some((r) => r['action'] === 'console-login' && r['operator'] === 'alice')).toBe(
      true,
    );
    expect(consoleRecords.some((r) => r['action'] === 'console-logout' && r['operator'] === 'alice')).toBe(
      true,
    );
    const refused = consoleRecords.filter((r) => r['action'] === 'console-login-refused');
    expect(refused.map((r) => (r['detail'] as { reason: string }).reason)).toEqual(
      expect.arrayContaining([
        'COFRE_OPERATOR_TOKEN_REQUIRED',
        'COFRE_UNAUTHENTICATED',
        'COFRE_CSRF_REJECTED',
      ]),
    );
    // The revoked operator's refused login names the operator.
    expect(refused.some((r) => r['operator'] === 'bob')).toBe(true);
    expect(consoleRecords.every((r) => r['kind'] === 'operator')).toBe(true);
    const secrets = [operatorToken, operatorToken.split('.')[1] ?? '', agentToken, sessionId, csrf];
    for (const text of [audit, fx.logLines.join('\n')]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
