import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { loadConfig, validateConfig } from './load-config.js';

const BACKENDS = { local: { type: 'embedded', path: 's.enc', keyFile: 's.key' } };

/** The problems `validateConfig` reports for this `server` section, as `path: message`. */
function problems(server: Record<string, unknown>): string[] {
  try {
    validateConfig({ backends: BACKENDS, server });
  } catch (err) {
    if (!(err instanceof CofreError)) throw err;
    const issues = (err.details?.['issues'] ?? []) as { path: string[]; message: string }[];
    return issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  return [];
}

describe('server.console', () => {
  it('is absent by default, and has loopback, 8789, 15 minutes idle and 12 hours of life when present', () => {
    expect(validateConfig({ backends: BACKENDS }).server.console).toBeUndefined();
    expect(validateConfig({ backends: BACKENDS, server: { console: {} } }).server.console).toEqual({
      host: '127.0.0.1',
      port: 8789,
      idleTimeout: 15 * 60_000,
      sessionLifetime: 12 * 3_600_000,
    });
  });

  it('reports every problem at once, each with its path', () => {
    expect(
      problems({
        port: 8787,
        console: {
          host: '0.0.0.0',
          port: 8787,
          publicUrl: 'http://console.example.com',
          idleTimeout: '2h',
          sessionLifetime: '1h',
        },
      }),
    ).toEqual([
      'server.console.publicUrl: the console publicUrl must be https (http only on loopback)',
      expect.stringMatching(/^server\.console\.host: a console bound beyond loopback needs `tls`/),
      'server.console.idleTimeout: idleTimeout must not exceed sessionLifetime',
      'server.console.port: the console needs a port of its own, not the agent port 8787',
    ]);
  });

  it('refuses a publicUrl that is not an origin, or not a URL', () => {
    for (const publicUrl of [
      'https://console.example.com/console',
      'https://console.example.com?x=1',
      'ftp://console.example.com',
      'console.example.com',
    ]) {
      const found = problems({ console: { publicUrl } });
      expect(found.length, publicUrl).toBeGreaterThan(0);
      expect(
        found.every((p) => p.startsWith('server.console.publicUrl: ')),
        publicUrl,
      ).toBe(true);
    }
  });

  it('allows beyond loopback with tls or behind an https proxy, and trims the publicUrl to its origin', () => {
    const proxied = validateConfig({
      backends: BACKENDS,
      server: { console: { host: '0.0.0.0', publicUrl: 'https://console.example.com/' } },
    });
    expect(proxied.server.console?.publicUrl).toBe('https://console.example.com');
    const tls = { certFile: '/etc/cofre/console.crt', keyFile: '/etc/cofre/console.key' };
    expect(problems({ console: { host: '10.0.0.5', tls } })).toEqual([]);
    // Port 0 (any free port) never equals the agent port.
    expect(problems({ port: 0, console: { port: 0 } })).toEqual([]);
  });

  it('refuses durations below their floors and unknown fields', () => {
    expect(problems({ console: { idleTimeout: '10s', sessionLifetime: '1m', colour: 'red' } })).toEqual([
      'server.console.idleTimeout: duration must be at least 1m',
      'server.console.sessionLifetime: duration must be at least 5m',
      'server.console.colour: unknown key "colour"',
    ]);
  });

  it("resolves the tls files against the config file's folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cofre-console-config-'));
    try {
      const path = join(dir, 'cofre.yaml');
      await writeFile(
        path,
        [
          'backends: { local: { type: embedded, path: s.enc, keyFile: s.key } }',
          'server:',
          '  console: { tls: { certFile: tls/console.crt, keyFile: /abs/console.key } }',
          '',
        ].join('\n'),
      );
      const config = await loadConfig(path);
      expect(config.server.console?.tls).toEqual({
        certFile: join(dir, 'tls/console.crt'),
        keyFile: '/abs/console.key',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
