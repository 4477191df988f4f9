// The shorthand { accounts, actions } keeps the meaning of the allow-list engine it replaced: allow exactly the listed
// actions on the listed accounts (any account for `*`; actions without an account when listed), deny the rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type AccountConfig, POLICY_ACTIONS } from '../config/config-schema.js';
import { RulePolicy } from './rule-policy.js';

const ACCOUNT: AccountConfig = {
  venue: 'binance',
  mode: 'paper',
  credentials: { apiKey: 'local:k#a', secret: 'local:k#s' },
};
const IDS = ['a', 'b', 'c'] as const;
const ACTIONS = POLICY_ACTIONS.filter((a) => a !== 'get_request');
const WITHOUT_ACCOUNT = new Set(['list_accounts', 'get_limits']);

describe('the shorthand policy', () => {
  it('allows exactly what the allow-list allowed', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom<string>(...IDS, '*'), { minLength: 1 }),
        fc.uniqueArray(fc.constantFrom(...ACTIONS), { minLength: 1 }),
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...IDS, 'ghost'),
        (accounts, actions, action, account) => {
          const policy = new RulePolicy({
            policies: { p: { accounts, actions } },
            accounts: { a: ACCOUNT, b: ACCOUNT, c: ACCOUNT },
            now: () => new Date(0),
          });
          const asked = WITHOUT_ACCOUNT.has(action) ? undefined : account;
          const decision = policy.decide({ agentId: 'x', policy: 'p', action, account: asked });
          const allowed =
            actions.includes(action) &&
            (asked === undefined || accounts.includes('*') || accounts.includes(asked));
          expect(decision.decision).toBe(allowed ? 'allow' : 'deny');
          expect(decision.rule).toBe(allowed ? 'policies.p' : 'default-deny');
          expect(decision.limits).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
