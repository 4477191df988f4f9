import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import { isCofreError } from '../errors.js';
import { overlapWindowMs } from './overlap-window.js';

/** ccxt's timeout of one venue call, the last part of the longest request. */
const VENUE_TIMEOUT_MS = 10_000;

function config(lines: readonly string[]): ReturnType<typeof parseConfig> {
  return parseConfig(lines.join('\n'), { sourcePath: '/x/cofre.yaml' });
}

const account = (name: string, credentials: string): string =>
  `  ${name}: { venue: binance, mode: paper, baseUrl: "http://127.0.0.1:1", credentials: ${credentials} }`;

describe('overlapWindowMs', () => {
  it('is the poll interval, the cache TTL and stale-if-error, and the longest request (the defaults: 7 min)', () => {
    const c = config([
      'backends: { local: { type: embedded, path: s.enc, keyFile: k } }',
      'accounts:',
      account('paper', '{ apiKey: "local:x#apiKey", secret: "local:x#secret" }'),
    ]);
    // 30 s poll + (5 min TTL + 1 min stale-if-error) + 20 s request deadline + 10 s venue timeout.
    expect(overlapWindowMs(c, 'paper')).toBe(30_000 + 300_000 + 60_000 + 20_000 + VENUE_TIMEOUT_MS);
  });

  it("takes the largest cache of the account's backends, whichever field reads it", () => {
    const c = config([
      'backends:',
      '  fast: { type: embedded, path: s.enc, keyFile: k, cache: { ttl: 1s, staleIfError: 0 } }',
      '  slow: { type: embedded, path: t.enc, keyFile: k, cache: { ttl: 2m, staleIfError: 3m } }',
      '  unused: { type: embedded, path: u.enc, keyFile: k, cache: { ttl: 1h, staleIfError: 1h } }',
      'accounts:',
      account('a', '{ apiKey: "fast:x#apiKey", secret: "fast:x#secret", password: "slow:p" }'),
      account('b', '{ apiKey: "fast:y#apiKey", secret: "fast:y#secret" }'),
      'rotation: { pollInterval: 5s }',
      'agents: { requestDeadline: 2s }',
    ]);
    expect(overlapWindowMs(c, 'a')).toBe(5_000 + 300_000 + 2_000 + VENUE_TIMEOUT_MS);
    expect(overlapWindowMs(c, 'b')).toBe(5_000 + 1_000 + 2_000 + VENUE_TIMEOUT_MS);
  });

  it('without polling, rests on the TTL alone', () => {
    const c = config([
      'backends: { local: { type: embedded, path: s.enc, keyFile: k, cache: { ttl: 500ms, staleIfError: 0 } } }',
      'accounts:',
      account('paper', '{ apiKey: "local:x#apiKey", secret: "local:x#secret" }'),
      'rotation: { pollInterval: 0 }',
      'agents: { requestDeadline: 50ms }',
    ]);
    expect(overlapWindowMs(c, 'paper')).toBe(500 + 50 + VENUE_TIMEOUT_MS);
  });

  it('refuses an account that is not configured rather than answer a window without its cache', () => {
    const c = config(['backends: { local: { type: embedded, path: s.enc, keyFile: k } }']);
    let thrown: unknown;
    try {
      overlapWindowMs(c, 'nope');
    } catch (err) {
      thrown = err;
    }
    expect(isCofreError(thrown, 'COFRE_ACCOUNT_NOT_FOUND')).toBe(true);
    expect((thrown as Error).message).toContain('"nope"');
  });
});
