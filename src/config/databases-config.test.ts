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

describe('policy rules name services and databases that exist', () => {
  const service = {
    baseUrl: 'https://cryptopanic.com/api/developer/v2',
    secret: 'local:services/cryptopanic',
    inject: { type: 'query', name: 'auth_token' },
  };
  const withRule = (rule: Record<string, unknown>) => ({
    backends: BACKENDS,
    services: { cryptopanic: service },
    databases: { app: database('127.0.0.1') },
    policies: { p: { rules: [rule] } },
  });

  it('takes configured names and *', () => {
    expect(() =>
      validateConfig(withRule({ deny: ['http_request'], services: ['cryptopanic'] })),
    ).not.toThrow();
    expect(() => validateConfig(withRule({ allow: ['connect_database'], databases: ['*'] }))).not.toThrow();
  });

  // A misspelt name never matches: in a deny rule it would silently deny nothing.
  it('refuses a misspelt service or database, naming the configured ones', () => {
    expect(() => validateConfig(withRule({ deny: ['http_request'], services: ['cryptopanik'] }))).toThrow(
      /policies\.p\.rules\[0\]\.services\[0\]: service "cryptopanik" is not configured.*configured services: cryptopanic/s,
    );
    expect(() => validateConfig(withRule({ allow: ['connect_database'], databases: ['ap'] }))).toThrow(
      /policies\.p\.rules\[0\]\.databases\[0\]: database "ap" is not configured.*configured databases: app/s,
    );
  });
});
