import { describe, expect, it } from 'vitest';

import { randomId } from './random-id.js';

describe('randomId', () => {
  it('gives ids of the asked length, never the same one twice, across pool refills', () => {
    const seen = new Set<string>();
    // 12 bytes each: 4096 / 12 ids fit a pool, so this crosses many refills, including a partial last one.
    for (let i = 0; i < 5000; i++) {
      const id = randomId(12);
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
    expect(randomId(9)).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('serves a request larger than the pool', () => {
    expect(randomId(5000)).toHaveLength(Math.ceil((5000 * 4) / 3));
  });
});
