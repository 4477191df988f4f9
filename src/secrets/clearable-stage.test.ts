import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { assertClearableStage } from './clearable-stage.js';

describe('assertClearableStage', () => {
  it('accepts pending and previous', () => {
    expect(() => {
      assertClearableStage('pending');
    }).not.toThrow();
    expect(() => {
      assertClearableStage('previous');
    }).not.toThrow();
  });

  it('refuses current, saying how to move it instead', () => {
    let err: unknown;
    try {
      assertClearableStage('current');
    } catch (e) {
      err = e;
    }
    expect(isCofreError(err, 'COFRE_INPUT_INVALID')).toBe(true);
    expect((err as Error).message).toContain('moveStage');
  });

  it('refuses anything else without echoing it (a pasted key must not reach an error)', () => {
    const pasted = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    for (const stage of [pasted, 'PENDING', '', undefined, 1]) {
      let err: unknown;
      try {
        assertClearableStage(stage);
      } catch (e) {
        err = e;
      }
      expect(isCofreError(err, 'COFRE_INPUT_INVALID')).toBe(true);
      expect(inspect(err, { depth: 10 })).not.toContain(pasted);
    }
  });
});
