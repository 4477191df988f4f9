import { describe, expect, it } from 'vitest';

import { ACTION_NAMES } from '../broker/actions.js';
import { ACTION_CLASS } from './action-classes.js';
import { requireScope, scopeAllows } from './scope-check.js';

describe('scope check', () => {
  it("lets every action through for an agent without an access token's classes", () => {
    const agent = { id: 'bot', policy: 'p' };
    for (const action of ACTION_NAMES)
      expect(() => {
        requireScope(agent, action);
      }).not.toThrow();
  });

  it('allows exactly the actions of the granted classes, and names the missing class', () => {
    const agent = {
      id: 'bot',
      policy: 'p',
      via: 'oauth' as const,
      actionClasses: new Set(['read'] as const),
    };
    for (const action of ACTION_NAMES)
      expect(scopeAllows(agent, action)).toBe(ACTION_CLASS[action] === 'read');
    expect(() => {
      requireScope(agent, 'withdraw');
    }).toThrow(
      expect.objectContaining({
        code: 'COFRE_INSUFFICIENT_SCOPE',
        details: { actionClass: 'withdraw' },
        message: expect.stringMatching(/^withdraw is a withdraw action and this access token has no scope/),
      }),
    );
  });
});
