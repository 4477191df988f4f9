import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../config/load-config.js';
import { consoleFindings } from './doctor-console.js';
import { privateFilesOf } from './doctor-private-files.js';

const BACKENDS = { local: { type: 'embedded', path: '/tmp/s.enc', keyFile: '/tmp/s.key' } };
const dir = mkdtempSync(join(tmpdir(), 'cofre-doctor-console-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cofre doctor: the console', () => {
  it('says nothing without a console', () => {
    expect(consoleFindings(validateConfig({ backends: BACKENDS }), dir)).toEqual([]);
  });

  it('says where operators open it when the page is built, and warns with the fix when it is not', () => {
    const config = validateConfig({ backends: BACKENDS, server: { console: { port: 8790 } } });
    const missing = consoleFindings(config, join(dir, 'no-dist'));
    expect(missing).toMatchObject([{ check: 'console', status: 'warn' }]);
    expect(missing[0]?.message).toContain('npm run build');
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html>');
    expect(consoleFindings(config, join(dir, 'dist'))).toMatchObject([
      { status: 'ok', message: expect.stringContaining('served at http://127.0.0.1:8790') as string },
    ]);
  });

  it('fails a missing TLS file, and holds the TLS key to mode 600 like the other keys', () => {
    const keyFile = join(dir, 'console.key');
    writeFileSync(keyFile, 'key');
    chmodSync(keyFile, 0o644);
    const config = validateConfig({
      backends: BACKENDS,
      server: { console: { tls: { certFile: join(dir, 'missing.crt'), keyFile } } },
    });
    const findings = consoleFindings(config, dir);
    expect(findings.filter((f) => f.status === 'fail').map((f) => f.subject)).toEqual([
      'server.console.tls.certFile',
    ]);
    expect(findings.find((f) => f.subject === 'server.console')?.message).toContain('https://127.0.0.1:8789');
    expect(privateFilesOf(config)).toContainEqual({
      what: "the console's TLS key",
      path: keyFile,
      whenLoose: 'fail',
    });
  });
});
