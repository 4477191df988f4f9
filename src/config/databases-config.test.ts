import { describe, expect, it } from 'vitest';

import { isLoopback } from './databases-config.js';
import { validateConfig } from './load-config.js';

const BACKENDS = { local: { type: 'embedded', path: 's.enc', keyFile: 's.key' } };

const database = (host: string) => ({
  type: 'postgres',
  host: 'db.internal',
  database: 'app',
  credentials: {
    username: 'local:db#username',
    password: 'local:db#password',
  },
  listen: { host, port: 6432 },
});

describe('databases config', () => {
  it('accepts a loopback listener, with 127.0.0.1 by default', () => {
    const config = validateConfig({
      backends: BACKENDS,
      databases: { app: { ...database('::1'), listen: { port: 0 } } },
    });
    expect(config.databases['app']?.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config.databases['app']?.port).toBe(5432);
  });

  it('refuses a listener off loopback: tokens travel in cleartext', () => {
    for (const host of ['0.0.0.0', '10.0.0.5', '::', 'db.example.com']) {
      expect(() => validateConfig({ backends: BACKENDS, databases: { app: database(host) } })).toThrow(
        /must be on loopback/,
      );
    }
  });

  it('refuses credentials in a backend that is not configured', () => {
    const bad = { ...database('127.0.0.1'), credentials: { username: 'nope:a#u', password: 'nope:a#p' } };
    expect(() => validateConfig({ backends: BACKENDS, databases: { app: bad } })).toThrow(/nope/);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.0.0.2', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['128.0.0.1', '0.0.0.0', '::', '127.0.0.1.nip.io'].some(isLoopback)).toBe(false);
  });
});
