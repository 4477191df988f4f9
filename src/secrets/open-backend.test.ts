import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import { cachePolicyOf } from './open-backend.js';

function cacheOf(cache: string) {
  const config = parseConfig(
    `backends:\n  local: { type: embedded, path: s.enc, keyFile: k, cache: ${cache} }\n`,
    { sourcePath: '/x/cofre.yaml' },
  );
  return config.backends['local']!.cache;
}

describe('cachePolicyOf', () => {
  it('passes a configured refresh-ahead window, 0 included, to the resolver', () => {
    expect(cachePolicyOf(cacheOf('{ ttl: 5m, staleIfError: 30s, refreshAhead: 45s }'))).toEqual({
      ttlMs: 300_000,
      staleIfErrorMs: 30_000,
      refreshAheadMs: 45_000,
    });
    expect(cachePolicyOf(cacheOf('{ refreshAhead: 0 }')).refreshAheadMs).toBe(0);
  });

  it("leaves refreshAheadMs unset when the config has none, so the resolver's default (a fifth of ttl) applies", () => {
    expect(cachePolicyOf(cacheOf('{}'))).toStrictEqual({ ttlMs: 300_000, staleIfErrorMs: 60_000 });
  });
});
