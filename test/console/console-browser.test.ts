// The console in a real Chromium (issue 18): login and its cookie, an agent token refused, CSRF from another origin
// refused (a second local server plays the attacker's site), logout, idle timeout, and the CSP enforced.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chromiumOrSkip, type ServedConsole, startServedConsole } from './browser.js';

const chrome = await chromiumOrSkip();

/** What a `fetch` run inside the page answered. */
interface PageAnswer {
  readonly status: number;
  readonly json: Record<string, unknown> | null;
}

/** Runs `fetch(path)` inside the page (so with its origin and cookies), with a JSON body when given. */
function pageFetch(
  page: Page,
  path: string,
  init: { method?: string; csrf?: string; body?: unknown } = {},
): Promise<PageAnswer> {
  return page.evaluate(
    async ({ path, init }) => {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.csrf !== undefined) headers['x-cofre-csrf'] = init.csrf;
      const response = await fetch(path, {
        method: init.method ?? 'GET',
        headers,
        credentials: 'same-origin',
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = null;
      }
      return { status: response.status, json };
    },
    { path, init },
  );
}

const codeOf = (answer: PageAnswer): unknown =>
  (answer.json?.['error'] as { code?: unknown } | undefined)?.code;

/** The attacker's site: a page on another origin that tries to halt cofre through the operator's browser. */
async function startAttackerSite(consoleUrl: string): Promise<{ url: string; server: Server }> {
  const halt = `${consoleUrl}/v1/operator/halt`;
  const server = createServer((req, res) => {
    if (req.url === '/form') {
      res.writeHead(200, { 'content-type': 'text/html' });
      // A classic CSRF: a form that posts to the console, submitted by the page itself.
      res.end(`<!doctype html><form id="f" method="POST" action="${halt}" enctype="text/plain">
<input name='{"reason":"csrf","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><p>nothing to see</p>');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(chrome === undefined)('the console in Chromium', () => {
  let fx: ServedConsole;
  let attacker: { url: string; server: Server };
  let operatorToken: string;
  let agentToken: string;

  beforeAll(async () => {
    fx = await startServedConsole(['idleTimeout: 1m']);
    attacker = await startAttackerSite(fx.consoleUrl);
    operatorToken = await fx.operatorToken('alice');
    agentToken = await fx.agentToken('trader', 'trader');
  });
  afterAll(async () => {
    await chrome?.close();
    await new Promise((done) => attacker.server.close(done));
    await fx.close();
  });

  const halted = async (): Promise<unknown> =>
    (await fx.call('GET', '/v1/operator/halt', operatorToken)).body['halted'];

  /** A fresh context on the console page, logged in; returns the page and the session's CSRF token. */
  async function loggedIn(context: BrowserContext): Promise<{ page: Page; csrf: string }> {
    const page = await context.newPage();
    await page.goto(fx.consoleUrl);
    const login = await pageFetch(page, '/console/login', { method: 'POST', body: { token: operatorToken } });
    expect(login.status).toBe(200);
    return { page, csrf: String(login.json?.['csrfToken']) };
  }

  it('loads the page without a CSP violation, and refuses an injected inline script', async () => {
    const context = await chrome!.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) violations.push(message.text());
    });
    const response = await page.goto(fx.consoleUrl);
    expect(response?.status()).toBe(200);
    await page.waitForLoadState('load');
    // The bundle's module script ran under the CSP: it rendered into #app.
    await page.waitForFunction('document.getElementById("app").childElementCount > 0');
    expect(violations).toEqual([]);
    // Page code as text: the tests are type-checked without the DOM library.
    const ran = await page.evaluate(`(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true';
      document.body.append(script);
      return window.__injected === true;
    })()`);
    expect(ran).toBe(false);
    expect(violations.length).toBeGreaterThan(0);
  });

  it('logs in with an operator token; the cookie is HttpOnly and SameSite=Strict, the API works with the CSRF token', async () => {
    const context = await chrome!.newContext();
    const { page, csrf } = await loggedIn(context);
    expect(await page.evaluate('document.cookie')).toBe('');
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: 'cofre_console',
      httpOnly: true,
      sameSite: 'Strict',
      secure: false,
    });
    expect((await pageFetch(page, '/console/session')).json?.['operator']).toBe('alice');
    const halt = await pageFetch(page, '/v1/operator/halt', {
      method: 'POST',
      csrf,
      body: { reason: 'browser' },
    });
    expect(halt.status).toBe(200);
    expect(await halted()).toBe(true);
    const resume = await pageFetch(page, '/v1/operator/resume', { method: 'POST', csrf, body: {} });
    expect(resume.status).toBe(200);
    expect(await halted()).toBe(false);
  });

  it('refuses an agent token at login, and sets no cookie', async () => {
    const context = await chrome!.newContext();
    const page = await context.newPage();
    await page.goto(fx.consoleUrl);
    const login = await pageFetch(page, '/console/login', { method: 'POST', body: { token: agentToken } });
    expect(login.status).toBe(403);
    expect(codeOf(login)).toBe('COFRE_OPERATOR_TOKEN_REQUIRED');
    expect(await context.cookies()).toEqual([]);
    expect((await pageFetch(page, '/v1/operator/halt')).status).toBe(401);
  });

  it('a page of another origin cannot change anything: its form POST and its fetch with credentials fail', async () => {
    const context = await chrome!.newContext();
    await loggedIn(context);
    // Same site (127.0.0.1, another port): SameSite=Strict does not stop the cookie here; the CSRF checks must.
    const evil = await context.newPage();
    const formAnswer = evil.waitForResponse((r) => r.url().endsWith('/v1/operator/halt'));
    await evil.goto(`${attacker.url}/form`);
    const answer = await formAnswer;
    expect(answer.status()).toBe(403);
    expect(await answer.text()).toContain('COFRE_CSRF_REJECTED');
    expect(await halted()).toBe(false);

    const page = await context.newPage();
    await page.goto(attacker.url);
    const results = await page.evaluate(async (halt) => {
      const tries: { method: string; headers: Record<string, string>; body: string }[] = [
        // A "simple" request: no preflight, the browser sends it with the cookie.
        { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"reason":"csrf"}' },
        // JSON with a guessed CSRF header: preflighted, and the preflight is refused.
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-cofre-csrf': 'guess' },
          body: '{"reason":"csrf"}',
        },
      ];
      const out: string[] = [];
      for (const t of tries) {
        try {
          const r = await fetch(halt, { ...t, credentials: 'include', mode: 'no-cors' });
          out.push(`answered ${r.type} ${r.status}`);
        } catch (err) {
          out.push(`failed ${String(err)}`);
        }
        try {
          const r = await fetch(halt, { ...t, credentials: 'include' });
          out.push(`answered ${r.status}`);
        } catch (err) {
          out.push(`failed ${String(err)}`);
        }
      }
      return out;
    }, `${fx.consoleUrl}/v1/operator/halt`);
    // No answer was readable by the page, and nothing changed on the server.
    expect(results.every((r) => r.startsWith('failed') || r === 'answered opaque 0')).toBe(true);
    expect(await halted()).toBe(false);
  });

  it('logs out: the session ends and the cookie is gone', async () => {
    const context = await chrome!.newContext();
    const { page, csrf } = await loggedIn(context);
    const out = await pageFetch(page, '/console/logout', { method: 'POST', csrf });
    expect(out.status).toBe(204);
    expect(await context.cookies()).toEqual([]);
    expect((await pageFetch(page, '/console/session')).status).toBe(401);
  });

  it('ends the session after the idle timeout', async () => {
    const context = await chrome!.newContext();
    const { page } = await loggedIn(context);
    expect((await pageFetch(page, '/v1/operator/halt')).status).toBe(200);
    fx.advance(61_000);
    const after = await pageFetch(page, '/v1/operator/halt');
    expect(after.status).toBe(401);
    expect(codeOf(after)).toBe('COFRE_UNAUTHENTICATED');
  });
});
