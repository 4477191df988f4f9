// The console over HTTPS (`tls`) and behind a TLS proxy (`publicUrl`): Secure cookie, HSTS, the key file's mode,
// and which origins count as the console's own.
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OperatorActions } from '../../src/broker/operator-actions.js';
import { isCofreError } from '../../src/errors.js';
import { DEFAULT_CONNECTION_OPTIONS } from '../../src/surfaces/http/connection-guard.js';
import { createConsoleServer } from '../../src/surfaces/http/console/console-server.js';
import { readConsoleTls } from '../../src/surfaces/http/console/console-tls.js';
import { ensureStandInTls } from '../key-vault-standin/certificate.js';
import { codeOf, consoleRequest, login } from './console-client.js';
import { type ServedConsole, startServedConsole } from './served-console.js';

let dir: string;
let tlsConsole: ServedConsole;
let proxied: ServedConsole;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-console-tls-'));
  // The Key Vault stand-in's certificate (127.0.0.1 and localhost), which every test process trusts.
  const tls = ensureStandInTls();
  copyFileSync(tls.certFile, join(dir, 'console.crt'));
  copyFileSync(tls.keyFile, join(dir, 'console.key'));
  chmodSync(join(dir, 'console.key'), 0o644);
  tlsConsole = await startServedConsole([
    `tls: { certFile: "${join(dir, 'console.crt')}", keyFile: "${join(dir, 'console.key')}" }`,
  ]);
  proxied = await startServedConsole(['publicUrl: "https://console.example.com"']);
  token = await tlsConsole.operatorToken('alice');
}, 60_000);
afterAll(async () => {
  await tlsConsole.close();
  await proxied.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the console over HTTPS', () => {
  it('serves HTTPS, restricts its key file to 600, marks the cookie Secure and sends HSTS', async () => {
    expect(tlsConsole.consoleUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(join(dir, 'console.key')).mode & 0o777).toBe(0o600);
    const { answer } = await login(tlsConsole.consoleUrl, token);
    expect([answer.headers['set-cookie']].flat()[0]).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('takes only its https origin as its own', async () => {
    const plain = tlsConsole.consoleUrl.replace('https://', 'http://');
    const answer = await consoleRequest(tlsConsole.consoleUrl, 'POST', '/console/login', {
      headers: { origin: plain },
      body: { token },
    });
    expect(answer.status).toBe(403);
    expect(codeOf(answer)).toBe('COFRE_CSRF_REJECTED');
  });

  it('refuses to start with a certificate or key it cannot read, naming the file', () => {
    const missing = join(dir, 'missing.crt');
    let caught: unknown;
    try {
      readConsoleTls({ certFile: missing, keyFile: join(dir, 'console.key') });
    } catch (err) {
      caught = err;
    }
    expect(isCofreError(caught, 'COFRE_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(`server.console.tls.certFile: cannot read ${missing}`);
  });
});

describe('the connection limits over TLS', () => {
  // The connection guard must track the TLS socket, the one requests carry: tracking the raw one, it would close
  // every HTTPS connection once headersTimeout passed, in use or not (live event streams included).
  it('keeps a busy HTTPS connection open past headersTimeout', async () => {
    const app = createConsoleServer({
      config: {
        host: '127.0.0.1',
        port: 0,
        idleTimeout: 60_000,
        sessionLifetime: 300_000,
        tls: { certFile: join(dir, 'console.crt'), keyFile: join(dir, 'console.key') },
      },
      actions: new OperatorActions({
        store: tlsConsole.server.runtime.state,
        broker: tlsConsole.server.runtime.broker,
      }),
      store: tlsConsole.server.runtime.state,
      audit: undefined,
      logger: pino({ level: 'silent' }),
      connections: { ...DEFAULT_CONNECTION_OPTIONS, headersTimeoutMs: 200 },
    });
    let connections = 0;
    app.server.on('secureConnection', () => connections++);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = (): Promise<number> =>
        new Promise((resolve, reject) => {
          httpsGet(`${base}/console/session`, { agent }, (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
          }).on('error', reject);
        });
      expect(await get()).toBe(401);
      await new Promise((done) => setTimeout(done, 600));
      expect(await get()).toBe(401);
      expect(connections).toBe(1);
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});

describe('the console behind a TLS proxy (publicUrl)', () => {
  it('takes the publicUrl as its origin and Host, marks the cookie Secure and sends HSTS', async () => {
    const operator = await proxied.operatorToken('alice');
    const answer = await consoleRequest(proxied.consoleUrl, 'POST', '/console/login', {
      headers: { host: 'console.example.com', origin: 'https://console.example.com' },
      body: { token: operator },
    });
    expect(answer.status).toBe(200);
    expect([answer.headers['set-cookie']].flat()[0]).toMatch(/; Secure$/);
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000');
    const other = await consoleRequest(proxied.consoleUrl, 'POST', '/console/login', {
      headers: { host: 'console.example.com', origin: 'https://evil.example.com' },
      body: { token: operator },
    });
    expect(other.status).toBe(403);
    expect(codeOf(other)).toBe('COFRE_CSRF_REJECTED');
    const elsewhere = await consoleRequest(proxied.consoleUrl, 'GET', '/', {
      headers: { host: 'evil.example.com' },
    });
    expect(elsewhere.status).toBe(403);
  });
});
