// The console's static files when the bundle is missing or unusual: a clear 503 at `/`, and only bundle files served.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

import { OperatorActions } from '../../src/broker/operator-actions.js';
import { loadConsoleBundle } from '../../src/surfaces/http/console/console-bundle.js';
import { CONSOLE_CSP } from '../../src/surfaces/http/console/console-headers.js';
import { createConsoleServer } from '../../src/surfaces/http/console/console-server.js';
import { startServedBroker } from '../e2e/served-broker.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-console-bundle-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the console bundle', () => {
  it('answers 503 at / saying to run npm run build when dist/console is missing', async () => {
    const fx = await startServedBroker((url, credentials) => [
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    ]);
    const lines: string[] = [];
    const app = createConsoleServer({
      config: { host: '127.0.0.1', port: 0, idleTimeout: 60_000, sessionLifetime: 300_000 },
      actions: new OperatorActions({ store: fx.server.runtime.state, broker: fx.server.runtime.broker }),
      store: fx.server.runtime.state,
      audit: undefined,
      logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }),
      bundleDir: join(tempDir(), 'no-such-dist'),
    });
    try {
      const page = await app.inject({ method: 'GET', url: '/', headers: { host: '127.0.0.1' } });
      expect(page.statusCode).toBe(503);
      expect(page.body).toContain('npm run build');
      expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(lines.join('')).toContain('the console is not built');
      const asset = await app.inject({
        method: 'GET',
        url: '/assets/console.js',
        headers: { host: '127.0.0.1' },
      });
      expect(asset.statusCode).toBe(404);
    } finally {
      await app.close();
      await fx.close();
    }
  });

  it('holds index.html and the known file types directly under assets/, nothing else', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'assets/nested'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'assets/console.js'), 'export {}');
    writeFileSync(join(dir, 'assets/console-style.css'), 'body{}');
    writeFileSync(join(dir, 'assets/notes.md'), '# not served');
    writeFileSync(join(dir, 'assets/nested/deep.js'), 'export {}');
    writeFileSync(join(dir, 'secret.txt'), 'outside assets/');
    const bundle = loadConsoleBundle(dir);
    expect([...(bundle?.assets.keys() ?? [])]).toEqual(['assets/console-style.css', 'assets/console.js']);
    expect(bundle?.assets.get('assets/console.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(loadConsoleBundle(join(dir, 'missing'))).toBeUndefined();
  });
});
