import { describe, expect, it } from 'vitest';

import { AllowListPolicy } from './policy-engine.js';

const policy = new AllowListPolicy({
  trader: { accounts: ['paper'], actions: ['get_balance', 'place_order', 'list_accounts'] },
});
const ask = (
  p: string,
  action: 'get_balance' | 'place_order' | 'cancel_order' | 'list_accounts',
  account?: string,
) => policy.decide({ agentId: 'a', policy: p, action, account });

describe('AllowListPolicy', () => {
  it('allows only listed actions on listed accounts, naming the rule', () => {
    expect(ask('trader', 'get_balance', 'paper')).toMatchObject({
      decision: 'allow',
      rule: 'policies.trader',
    });
    expect(ask('trader', 'list_accounts')).toMatchObject({ decision: 'allow' });
  });

  it('denies by default: unlisted action, unlisted or unknown account, unknown policy', () => {
    expect(ask('trader', 'cancel_order', 'paper')).toMatchObject({ decision: 'deny', rule: 'default-deny' });
    expect(ask('trader', 'get_balance', 'live')).toMatchObject({ decision: 'deny', rule: 'default-deny' });
    expect(ask('ghost', 'get_balance', 'paper')).toMatchObject({ decision: 'deny', rule: 'default-deny' });
  });

  it('lets `*` stand for every configured account', () => {
    const any = new AllowListPolicy({ all: { accounts: ['*'], actions: ['get_balance'] } }, [
      'paper',
      'live',
    ]);
    expect(any.decide({ agentId: 'a', policy: 'all', action: 'get_balance', account: 'live' }).decision).toBe(
      'allow',
    );
    expect(
      any.decide({ agentId: 'a', policy: 'all', action: 'get_balance', account: 'ghost' }).decision,
    ).toBe('allow');
    expect(any.accountsFor('all')).toEqual(['paper', 'live']);
  });

  it('lists the accounts a policy may use', () => {
    expect(policy.accountsFor('trader')).toEqual(['paper']);
    expect(policy.accountsFor('ghost')).toEqual([]);
  });
});
