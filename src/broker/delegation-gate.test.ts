// Issue 17: how a delegated agent's grants narrow the policy's decision, one rule at a time.
import { describe, expect, it } from 'vitest';

import type { AccountConfig } from '../config/config-schema.js';
import { policySchema } from '../config/policy-config.js';
import type { DelegationGrant } from '../identity/delegation-types.js';
import type { PolicyQuestion } from '../policy/policy-types.js';
import { RulePolicy } from '../policy/rule-policy.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { decideFor, grantLimitViews } from './delegation-gate.js';

const ACCOUNT: AccountConfig = {
  venue: 'binance',
  mode: 'paper',
  credentials: { apiKey: 'local:k#a', secret: 'local:k#s' },
};
const policy = new RulePolicy({
  policies: {
    trader: policySchema.parse({
      rules: [
        {
          allow: [
            'place_order',
            'cancel_order',
            'cancel_all_orders',
            'get_open_orders',
            'get_balance',
            'withdraw',
          ],
        },
        { allow: ['connect_database'] },
      ],
      limits: [{ per: 'agent', window: '1h', notional: 1000, quote: ['USDT', 'USDC'] }],
    }),
  },
  accounts: { paper: ACCOUNT },
  now: () => new Date(0),
});

function child(...grants: Omit<DelegationGrant, 'tokenId'>[]): AuthenticatedAgent {
  return {
    id: 'root/child',
    policy: 'trader',
    onBehalfOf: ['root'],
    grants: grants.map((g, i) => ({ tokenId: `tok${i}`, ...g })),
  };
}

const base = { agentId: 'root', policy: 'trader', account: 'paper' } as const;
const order = (symbol: string, quote = 'USDT'): PolicyQuestion => ({
  ...base,
  action: 'place_order',
  symbol,
  order: {
    symbol,
    base: 'BTC',
    quote,
    side: 'buy',
    type: 'limit',
    amount: '0.01',
    price: '60000',
    referencePrice: '60000',
    notional: '600',
  },
});

describe('decideFor', () => {
  it('leaves an agent without grants to its policy alone', () => {
    const q = order('BTC/USDT');
    expect(decideFor(policy, { id: 'root', policy: 'trader' }, q)).toEqual(policy.decide(q));
  });

  it('adds each grant limit as a check keyed by its token, after the policy limits', () => {
    const agent = child(
      { limits: [{ measure: 'notional', unit: 'USDT', windowMs: 60_000, cap: '700' }] },
      { limits: [{ measure: 'orders', windowMs: 3_600_000, cap: '3' }] },
    );
    const decision = decideFor(policy, agent, order('BTC/USDT'));
    expect(decision.decision).toBe('allow');
    expect(decision.limits.map((c) => [c.key, c.amount])).toEqual([
      ['agent:root|notional|USDC+USDT|3600000', '600'],
      ['delegation:tok0|notional|USDT|60000', '600'],
      ['delegation:tok1|orders|count|3600000', '1'],
    ]);
    expect(grantLimitViews(agent).map((v) => v.key)).toEqual([
      'delegation:tok0|notional|USDT|60000',
      'delegation:tok1|orders|count|3600000',
    ]);
  });

  it('denies an order its notional limit cannot measure (another quote), fail closed', () => {
    const agent = child({ limits: [{ measure: 'notional', unit: 'USDT', windowMs: 60_000, cap: '700' }] });
    expect(decideFor(policy, agent, order('BTC/USDC', 'USDC'))).toMatchObject({
      decision: 'deny',
      rule: 'delegation',
      reason:
        "your delegated token's limit counts order value in USDT; an order in USDC cannot be measured against it",
      limits: [],
    });
  });

  it('holds every market action to the grant symbols, a cancel of all orders included', () => {
    const agent = child({}, { symbols: ['BTC/USDT'] });
    const cancelAll: PolicyQuestion = { ...base, action: 'cancel_all_orders' };
    expect(decideFor(policy, agent, cancelAll)).toMatchObject({
      decision: 'deny',
      reason: 'your delegated token is held to BTC/USDT: name one of those markets in symbol',
    });
    expect(decideFor(policy, agent, { ...cancelAll, symbol: 'BTC/USDT' }).decision).toBe('allow');
    expect(decideFor(policy, agent, { ...base, action: 'cancel_order', symbol: 'ETH/USDT' })).toMatchObject({
      decision: 'deny',
      reason: 'your delegated token may not use market ETH/USDT (it may: BTC/USDT)',
    });
    // Symbols hold markets only: a balance or a withdrawal names none.
    expect(decideFor(policy, agent, { ...base, action: 'get_balance' }).decision).toBe('allow');
  });

  it('lets a database connection through only a chain that never restricted actions', () => {
    const question: PolicyQuestion = {
      ...base,
      account: undefined,
      action: 'connect_database',
      database: 'db',
    };
    expect(decideFor(policy, child({ accounts: ['paper'] }), question).decision).toBe('allow');
    expect(decideFor(policy, child({}, { actions: ['get_balance'] }), question)).toMatchObject({
      decision: 'deny',
      rule: 'delegation',
      reason: 'your delegated token may not ask for connect_database (it may: get_balance)',
    });
  });
});
