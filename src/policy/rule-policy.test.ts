import { describe, expect, it } from 'vitest';

import type { CofreConfig } from '../config/config-schema.js';
import { parseConfig } from '../config/load-config.js';
import type { PolicyQuestion, ResolvedOrder, ResolvedWithdrawal } from './policy-types.js';
import { RulePolicy } from './rule-policy.js';
import { ISSUE_9_CONFIG } from './testdata/issue-9-policy.js';

// Monday 2026-06-01 12:00 in Lisbon (WEST, UTC+1): inside the example's trading hours.
const MONDAY_NOON_LISBON = new Date('2026-06-01T11:00:00Z');

const ACCOUNTS = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  paper: { venue: binance, mode: paper, baseUrl: 'http://127.0.0.1:1', credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
  live: { venue: kraken, mode: live, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
addressBook:
  cold: { asset: USDT, network: TRX, address: T1 }
  warm: { asset: BTC, network: BTC, address: bc1 }
`;

function engine(
  policies: string,
  now: Date = MONDAY_NOON_LISBON,
): { policy: RulePolicy; config: CofreConfig } {
  const config = parseConfig(`${ACCOUNTS}policies:\n${policies}`, { sourcePath: 'c.yaml' });
  return { config, policy: fromConfig(config, now) };
}

function fromConfig(config: CofreConfig, now: Date = MONDAY_NOON_LISBON): RulePolicy {
  return new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    now: () => now,
  });
}

function order(fields: Partial<ResolvedOrder> = {}): ResolvedOrder {
  const symbol = fields.symbol ?? 'BTC/USDT';
  const [base = '', quote = ''] = symbol.split('/');
  return {
    symbol,
    base,
    quote,
    side: 'buy',
    type: 'limit',
    amount: '0.001',
    price: '60000',
    referencePrice: '60000',
    notional: '60',
    ...fields,
  };
}

function ask(policy: RulePolicy, q: Partial<PolicyQuestion> & Pick<PolicyQuestion, 'action'>) {
  return policy.decide({ agentId: 'bot', policy: 'p', account: 'paper', ...q });
}

const placeOrder = (o: Partial<ResolvedOrder> = {}) => ({ action: 'place_order' as const, order: order(o) });
const withdrawal = (w: Partial<ResolvedWithdrawal> = {}): ResolvedWithdrawal => ({
  asset: 'USDT',
  amount: '100',
  destination: 'cold',
  network: 'TRX',
  ...w,
});

describe('RulePolicy: the shorthand { accounts, actions }', () => {
  const { policy } = engine(`  p: { accounts: [paper], actions: [get_balance, place_order, list_accounts] }
  all: { accounts: ['*'], actions: [get_balance] }
`);

  it('allows only listed actions on listed accounts, naming the policy as before', () => {
    expect(ask(policy, { action: 'get_balance' })).toMatchObject({ decision: 'allow', rule: 'policies.p' });
    expect(ask(policy, { action: 'list_accounts', account: undefined })).toMatchObject({ decision: 'allow' });
    expect(ask(policy, placeOrder({ notional: '99999999' }))).toMatchObject({ decision: 'allow' });
  });

  it('denies by default: unlisted action, unlisted or unknown account, unknown policy', () => {
    expect(ask(policy, { action: 'cancel_order' })).toMatchObject({
      decision: 'deny',
      rule: 'default-deny',
      reason: 'policy "p" does not allow cancel_order',
    });
    expect(ask(policy, { action: 'get_balance', account: 'live' })).toMatchObject({
      decision: 'deny',
      rule: 'default-deny',
    });
    expect(ask(policy, { action: 'get_balance', policy: 'ghost' })).toMatchObject({
      decision: 'deny',
      rule: 'default-deny',
      reason: 'agent policy "ghost" is not configured',
    });
  });

  it('refuses an account that exists and one that does not in the same words', () => {
    const known = ask(policy, { action: 'get_balance', account: 'live' }).reason;
    const unknown = ask(policy, { action: 'get_balance', account: 'nope' }).reason;
    expect(known).toBe('policy "p" does not allow get_balance on account "live"');
    expect(unknown.replaceAll('nope', 'live')).toBe(known);
  });

  it('lets `*` stand for every configured account, and an unknown one', () => {
    expect(ask(policy, { policy: 'all', action: 'get_balance', account: 'live' }).decision).toBe('allow');
    expect(ask(policy, { policy: 'all', action: 'get_balance', account: 'ghost' }).decision).toBe('allow');
    expect(policy.accountsFor('all')).toEqual(['paper', 'live']);
    expect(policy.accountsFor('p')).toEqual(['paper']);
    expect(policy.accountsFor('ghost')).toEqual([]);
  });

  it('lists the actions a policy can ever get', () => {
    expect([...policy.actionsFor('p')].sort()).toEqual(['get_balance', 'list_accounts', 'place_order']);
    expect([...policy.actionsFor('ghost')]).toEqual([]);
  });
});

describe("RulePolicy: issue 9's example", () => {
  const config = parseConfig(ISSUE_9_CONFIG, { sourcePath: 'c.yaml' });
  const policy = fromConfig(config);
  const q = (fields: Partial<PolicyQuestion> & Pick<PolicyQuestion, 'action'>) =>
    policy.decide({ agentId: 'bot', policy: 'paper-trader', account: 'paper-binance', ...fields });

  // Precedence is strict (issue 9: approve over allow): as written, the example's approve rule (maxNotional 5000)
  // also catches the orders its allow rule (maxNotional 500) allows. `minNotional` on the approve rule keeps small
  // orders automatic.
  it('sends every order up to 5000 to approval as written, since approve wins over allow', () => {
    expect(q(placeOrder({ notional: '400' }))).toMatchObject({
      decision: 'approval',
      rule: 'policies.paper-trader.rules[2]',
    });
    const automatic = fromConfig(
      parseConfig(
        ISSUE_9_CONFIG.replace('maxNotional: 5000', 'maxNotional: 5000\n        minNotional: "500.000001"'),
        {
          sourcePath: 'c.yaml',
        },
      ),
    );
    expect(
      automatic.decide({
        agentId: 'bot',
        policy: 'paper-trader',
        account: 'paper-binance',
        ...placeOrder({ notional: '400' }),
      }),
    ).toMatchObject({ decision: 'allow', rule: 'policies.paper-trader.rules[1]' });
  });

  it('names the deciding rule and the limits the order draws on', () => {
    const decision = q(
      placeOrder({ notional: '400', amount: '0.01', price: '40000', referencePrice: '40000' }),
    );
    expect(decision).toMatchObject({ decision: 'approval', rule: 'policies.paper-trader.rules[2]' });
    expect(decision.limits).toEqual([
      {
        limit: 'policies.paper-trader.limits[0]',
        key: 'agent:bot|notional|USDT|86400000',
        measure: 'notional',
        windowMs: 86_400_000,
        cap: '10000',
        amount: '400',
      },
      {
        limit: 'policies.paper-trader.limits[1]',
        key: 'account:paper-binance|orders|count|60000',
        measure: 'orders',
        windowMs: 60_000,
        cap: '30',
        amount: '1',
      },
      {
        limit: 'policies.paper-trader.limits[2]',
        key: 'account:paper-binance|openOrders|count|-',
        measure: 'openOrders',
        windowMs: undefined,
        cap: '10',
        amount: '1',
      },
    ]);
    expect(decision.policyHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sends a bigger order to approval, and one above every cap is denied with the nearest miss', () => {
    expect(q(placeOrder({ notional: '800' }))).toMatchObject({
      decision: 'approval',
      rule: 'policies.paper-trader.rules[2]',
      approvers: undefined,
    });
    expect(q(placeOrder({ notional: '8000' }))).toMatchObject({
      decision: 'deny',
      rule: 'default-deny',
      reason:
        'place_order on paper-binance is allowed up to maxNotional 500 USDT by policies.paper-trader.rules[1]; this order is 8000 USDT',
      limits: [],
    });
  });

  it('denies any order on a BUSD market, whatever allows it', () => {
    expect(q(placeOrder({ symbol: 'ETH/BUSD', notional: '10' }))).toMatchObject({
      decision: 'deny',
      rule: 'policies.paper-trader.rules[4]',
      reason: 'place_order is denied by policies.paper-trader.rules[4] (for symbols */BUSD)',
    });
  });

  it('sends a withdrawal to a listed label to approval, with the withdrawal limit of its asset', () => {
    const decision = q({ action: 'withdraw', withdrawal: { ...withdrawal(), destination: 'cold-usdt' } });
    expect(decision).toMatchObject({ decision: 'approval', rule: 'policies.paper-trader.rules[3]' });
    expect(decision.limits).toEqual([
      expect.objectContaining({ key: 'account:paper-binance|withdrawals|USDT|86400000', amount: '100' }),
    ]);
    expect(q({ action: 'withdraw', withdrawal: withdrawal({ destination: 'elsewhere' }) }).decision).toBe(
      'deny',
    );
  });

  it('denies an order its notional limit cannot measure (fail closed), naming the limit', () => {
    expect(
      q(placeOrder({ symbol: 'ETH/USDC', notional: '10', price: '2000', referencePrice: '2000' })),
    ).toMatchObject({
      decision: 'deny',
      rule: 'policies.paper-trader.limits[0]',
      reason:
        'policies.paper-trader.limits[0] counts order value in USDT; an order in USDC cannot be measured against it',
      limits: [],
    });
  });

  it('offers every action of an enforced allow or approve rule, and lists limits per account', () => {
    expect([...policy.actionsFor('paper-trader')].sort()).toEqual(
      [
        'list_accounts',
        'get_limits',
        'get_balance',
        'get_ticker',
        'get_open_orders',
        'get_order',
        'preview_order',
        'place_order',
        'cancel_order',
        'cancel_all_orders',
        'withdraw',
      ].sort(),
    );
    // The withdraw rule names no account: every configured account.
    expect(policy.accountsFor('paper-trader')).toEqual(['paper-binance', 'live-kraken']);
    expect(policy.limitsFor('bot', 'paper-trader').map((l) => l.key)).toEqual([
      'agent:bot|notional|USDT|86400000',
      'account:paper-binance|orders|count|60000',
      'account:live-kraken|orders|count|60000',
      'account:paper-binance|openOrders|count|-',
      'account:live-kraken|openOrders|count|-',
      'account:paper-binance|withdrawals|USDT|86400000',
      'account:live-kraken|withdrawals|USDT|86400000',
    ]);
  });
});

describe('RulePolicy: each condition', () => {
  const rule = (conditions: string, action = 'place_order') =>
    engine(
      `  p:\n    rules:\n      - allow: [${action}]\n${conditions
        .split('\n')
        .map((l) => `        ${l}`)
        .join('\n')}\n`,
    ).policy;

  it('accounts, venues and modes', () => {
    expect(ask(rule('accounts: [live]', 'get_balance'), { action: 'get_balance' }).decision).toBe('deny');
    expect(ask(rule('venues: [binance]', 'get_balance'), { action: 'get_balance' }).decision).toBe('allow');
    expect(ask(rule('venues: [kraken]', 'get_balance'), { action: 'get_balance' }).decision).toBe('deny');
    expect(ask(rule('modes: [paper]', 'get_balance'), { action: 'get_balance' }).decision).toBe('allow');
    expect(ask(rule('modes: [live]', 'get_balance'), { action: 'get_balance' }).decision).toBe('deny');
    // An unknown account is on no venue, and refused in the words of a known one on another venue.
    const venues = rule('venues: [binance]', 'get_balance');
    const unknown = ask(venues, { action: 'get_balance', account: 'ghost' });
    const other = ask(venues, { action: 'get_balance', account: 'live' });
    expect(unknown.decision).toBe('deny');
    expect(unknown.reason.replaceAll('ghost', 'live')).toBe(other.reason);
    // Actions without an account (list_accounts, get_limits) are answered per allowed account: the rule holds.
    expect(
      ask(rule('accounts: [live]', 'list_accounts'), { action: 'list_accounts', account: undefined })
        .decision,
    ).toBe('allow');
  });

  it('symbols: exact and glob, never across the slash; absent symbol never matches', () => {
    const p = rule('symbols: ["BTC/USDT", "ETH/*", "*/BUSD"]');
    expect(ask(p, placeOrder({ symbol: 'BTC/USDT' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ symbol: 'ETH/BTC' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ symbol: 'DOGE/BUSD' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ symbol: 'BTC/USDC' })).decision).toBe('deny');
    expect(ask(p, placeOrder({ symbol: 'WETH/BTC' })).decision).toBe('deny');
    const ticker = rule('symbols: ["BTC/USDT"]', 'get_ticker');
    expect(ask(ticker, { action: 'get_ticker', symbol: 'BTC/USDT' }).decision).toBe('allow');
    expect(ask(ticker, { action: 'get_ticker' }).decision).toBe('deny');
  });

  it('sides and types', () => {
    expect(ask(rule('sides: [sell]'), placeOrder({ side: 'sell' })).decision).toBe('allow');
    expect(ask(rule('sides: [sell]'), placeOrder({ side: 'buy' })).reason).toContain('this order is buy');
    expect(ask(rule('types: [limit]'), placeOrder({ type: 'limit' })).decision).toBe('allow');
    expect(ask(rule('types: [limit]'), placeOrder({ type: 'market', price: undefined })).decision).toBe(
      'deny',
    );
  });

  it('minNotional and maxNotional, inclusive and exact', () => {
    const p = rule('minNotional: 10\nmaxNotional: "500.5"');
    expect(ask(p, placeOrder({ notional: '10' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ notional: '500.5' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ notional: '500.500000000000000001' })).decision).toBe('deny');
    expect(ask(p, placeOrder({ notional: '9.999999' })).reason).toBe(
      'place_order on paper is allowed from minNotional 10 USDT by policies.p.rules[0]; this order is 9.999999 USDT',
    );
  });

  it('minAmount and maxAmount, for orders and withdrawals', () => {
    const p = rule('minAmount: "0.001"\nmaxAmount: 2', 'place_order, withdraw');
    expect(ask(p, placeOrder({ amount: '0.001' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ amount: '0.0009' })).decision).toBe('deny');
    expect(ask(p, { action: 'withdraw', withdrawal: withdrawal({ amount: '2' }) }).decision).toBe('allow');
    expect(ask(p, { action: 'withdraw', withdrawal: withdrawal({ amount: '3' }) }).reason).toContain(
      'this withdrawal is 3 USDT',
    );
  });

  it('priceBand: a limit price within the band of the reference price; a market order needs a reference', () => {
    const p = rule('priceBand: 2%');
    expect(ask(p, placeOrder({ price: '98', referencePrice: '100' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ price: '102', referencePrice: '100' })).decision).toBe('allow');
    expect(ask(p, placeOrder({ price: '97.99', referencePrice: '100' })).decision).toBe('deny');
    expect(ask(p, placeOrder({ price: '102.01', referencePrice: '100' })).reason).toBe(
      'place_order on paper is allowed within priceBand 2% of the reference price 100 (98 to 102) by policies.p.rules[0]; the limit price is 102.01',
    );
    expect(ask(p, placeOrder({ price: '100', referencePrice: undefined })).decision).toBe('deny');
    expect(ask(p, placeOrder({ type: 'market', price: undefined, referencePrice: '100' })).decision).toBe(
      'allow',
    );
    expect(ask(p, placeOrder({ type: 'market', price: undefined, referencePrice: undefined })).decision).toBe(
      'deny',
    );
    expect(
      ask(rule('priceBand: "0.5%"'), placeOrder({ price: '100.5', referencePrice: '100' })).decision,
    ).toBe('allow');
    expect(
      ask(rule('priceBand: "0.5%"'), placeOrder({ price: '100.51', referencePrice: '100' })).decision,
    ).toBe('deny');
  });

  it('hours: local days and time in the zone, start included, end excluded', () => {
    const at = (iso: string) =>
      engine(
        `  p:\n    rules:\n      - allow: [get_balance]\n        hours: { days: mon-fri, time: "08:00-20:00", timeZone: Europe/Lisbon }\n`,
        new Date(iso),
      ).policy;
    expect(ask(at('2026-06-01T07:00:00Z'), { action: 'get_balance' }).decision).toBe('allow'); // Mon 08:00 WEST
    expect(ask(at('2026-06-01T06:59:00Z'), { action: 'get_balance' }).decision).toBe('deny'); // 07:59
    expect(ask(at('2026-06-01T19:00:00Z'), { action: 'get_balance' }).decision).toBe('deny'); // 20:00
    expect(ask(at('2026-06-06T11:00:00Z'), { action: 'get_balance' }).reason).toBe(
      'get_balance on paper is allowed only at mon-fri 08:00-20:00 Europe/Lisbon by policies.p.rules[0]; it is sat 12:00 Europe/Lisbon now',
    );
  });

  it('destinations and assets', () => {
    const p = rule('destinations: [cold]', 'withdraw');
    expect(ask(p, { action: 'withdraw', withdrawal: withdrawal() }).decision).toBe('allow');
    expect(ask(p, { action: 'withdraw', withdrawal: withdrawal({ destination: 'warm' }) }).decision).toBe(
      'deny',
    );
    const a = rule('assets: [USDT]', 'place_order, withdraw');
    expect(ask(a, placeOrder({ symbol: 'BTC/USDT' })).decision).toBe('allow');
    expect(ask(a, placeOrder({ symbol: 'ETH/BTC' })).decision).toBe('deny');
    expect(ask(a, { action: 'withdraw', withdrawal: withdrawal({ asset: 'BTC' }) }).decision).toBe('deny');
  });
});

describe('RulePolicy: precedence, shadow, approvers', () => {
  it('a matching deny wins over any allow; a deny condition on a missing field never matches', () => {
    const { policy } = engine(`  p:
    rules:
      - allow: [get_balance, place_order, list_accounts]
      - deny: [place_order, get_balance, list_accounts]
        symbols: ["BTC/*"]
`);
    expect(ask(policy, placeOrder()).decision).toBe('deny');
    expect(ask(policy, placeOrder({ symbol: 'ETH/USDT' })).decision).toBe('allow');
    expect(ask(policy, { action: 'get_balance' }).decision).toBe('allow');
    expect(ask(policy, { action: 'list_accounts', account: undefined }).decision).toBe('allow');
  });

  it('approve wins over confirm, confirm over allow; approvers travel with the decision', () => {
    const { policy } = engine(`  p:
    rules:
      - { allow: [place_order] }
      - { name: big, confirm: [place_order], minNotional: 100 }
      - { name: huge, approve: [place_order], minNotional: 1000, approvers: { count: 2, of: [alice, bob, carol] } }
`);
    expect(ask(policy, placeOrder({ notional: '50' }))).toMatchObject({
      decision: 'allow',
      rule: 'policies.p.rules[0]',
    });
    expect(ask(policy, placeOrder({ notional: '500' }))).toMatchObject({
      decision: 'confirm',
      rule: 'policies.p.rules[1] (big)',
    });
    expect(ask(policy, placeOrder({ notional: '5000' }))).toMatchObject({
      decision: 'approval',
      rule: 'policies.p.rules[2] (huge)',
      approvers: { count: 2, of: ['alice', 'bob', 'carol'] },
    });
  });

  it('a shadow rule is not enforced, and is reported only when it would change the decision', () => {
    const { policy } = engine(`  p:
    rules:
      - { allow: [place_order, get_balance] }
      - { name: tighter, deny: [place_order], minNotional: 100, mode: shadow }
      - { allow: [get_ticker], mode: shadow }
`);
    expect(ask(policy, placeOrder({ notional: '500' }))).toMatchObject({
      decision: 'allow',
      rule: 'policies.p.rules[0]',
      shadow: [
        {
          rule: 'policies.p.rules[1] (tighter)',
          decision: 'deny',
          reason: 'place_order is denied by policies.p.rules[1] (tighter) (from minNotional 100)',
        },
      ],
    });
    expect(ask(policy, placeOrder({ notional: '50' })).shadow).toEqual([]);
    expect(ask(policy, { action: 'get_balance' }).shadow).toEqual([]);
    expect(ask(policy, { action: 'get_ticker', symbol: 'BTC/USDT' })).toMatchObject({
      decision: 'deny',
      shadow: [{ rule: 'policies.p.rules[2]', decision: 'allow' }],
    });
    expect([...policy.actionsFor('p')].sort()).toEqual(['get_balance', 'place_order']);
  });

  it('an unconditional deny takes its actions off the list the agent sees', () => {
    const { policy } = engine(
      `  p:\n    rules:\n      - allow: [get_balance, withdraw]\n      - deny: [withdraw]\n`,
    );
    expect([...policy.actionsFor('p')]).toEqual(['get_balance']);
  });
});

describe('RulePolicy: limits', () => {
  const { policy } = engine(`  p:
    rules: [{ allow: [place_order, withdraw, get_balance] }]
    limits:
      - { name: daily, per: agent-account, window: 24h, notional: 1000, quote: [USDT, USDC] }
      - { per: global, window: 1h, orders: 100, accounts: [live] }
      - { per: agent, window: 1d, withdrawals: "0.5", asset: BTC }
`);

  it('keys each check by scope, measure, unit and window; counts only what the limit measures', () => {
    expect(ask(policy, placeOrder({ symbol: 'BTC/USDC', notional: '70' })).limits).toEqual([
      {
        limit: 'daily',
        key: 'agent-account:bot:paper|notional|USDC+USDT|86400000',
        measure: 'notional',
        windowMs: 86_400_000,
        cap: '1000',
        amount: '70',
      },
    ]);
    expect(ask(policy, { ...placeOrder(), account: 'live' }).limits.map((l) => l.key)).toEqual([
      'agent-account:bot:live|notional|USDC+USDT|86400000',
      'global|orders|count|3600000',
    ]);
    expect(
      ask(policy, { action: 'withdraw', withdrawal: withdrawal({ asset: 'BTC', amount: '0.1' }) }).limits,
    ).toEqual([
      expect.objectContaining({ key: 'agent:bot|withdrawals|BTC|86400000', amount: '0.1', cap: '0.5' }),
    ]);
    expect(ask(policy, { action: 'withdraw', withdrawal: withdrawal() }).limits).toEqual([]);
    expect(ask(policy, { action: 'get_balance' }).limits).toEqual([]);
  });

  it('lists every limit for get_limits, account-scoped ones per account', () => {
    expect(policy.limitsFor('bot', 'p')).toEqual([
      expect.objectContaining({
        key: 'agent-account:bot:paper|notional|USDC+USDT|86400000',
        scope: 'agent-account:bot:paper',
        unit: 'USDC+USDT',
      }),
      expect.objectContaining({ key: 'agent-account:bot:live|notional|USDC+USDT|86400000' }),
      expect.objectContaining({ key: 'global|orders|count|3600000', scope: 'global', unit: undefined }),
      expect.objectContaining({ key: 'agent:bot|withdrawals|BTC|86400000', unit: 'BTC', cap: '0.5' }),
    ]);
    expect(policy.limitsFor('bot', 'ghost')).toEqual([]);
  });
});

describe('RulePolicy: policy hash', () => {
  const text = `  p:\n    rules:\n      - { allow: [get_balance], accounts: [paper] }\n`;

  it('is the same for the same policy however it is written, and differs per policy', () => {
    const a = ask(engine(text).policy, { action: 'get_balance' }).policyHash;
    const b = ask(
      engine(`  p:\n    rules:\n      - { accounts: [paper], allow: [get_balance], mode: enforce }\n`).policy,
      {
        action: 'get_balance',
      },
    ).policyHash;
    expect(b).toBe(a);
    const other = engine(`${text}  q: { accounts: [live], actions: [get_balance] }\n`).policy;
    expect(ask(other, { action: 'get_balance' }).policyHash).toBe(a);
    expect(ask(other, { action: 'get_balance', policy: 'q' }).policyHash).not.toBe(a);
  });

  it('changes when a rule or the address book changes', () => {
    const a = ask(engine(text).policy, { action: 'get_balance' }).policyHash;
    const changed = engine(
      `  p:\n    rules:\n      - { allow: [get_balance], accounts: [paper, live] }\n`,
    ).policy;
    expect(ask(changed, { action: 'get_balance' }).policyHash).not.toBe(a);
    const { config } = engine(text);
    const moved = new RulePolicy({
      policies: config.policies,
      accounts: config.accounts,
      addressBook: { ...config.addressBook, cold: { asset: 'USDT', network: 'TRX', address: 'T2' } },
      now: () => MONDAY_NOON_LISBON,
    });
    expect(ask(moved, { action: 'get_balance' }).policyHash).not.toBe(a);
  });
});

describe('RulePolicy: explain', () => {
  it('lists every rule with whether it matched and why', () => {
    const { policy } = engine(`  p:
    rules:
      - { allow: [get_balance] }
      - { name: small, allow: [place_order], maxNotional: 100 }
      - { deny: [place_order], sides: [sell], mode: shadow }
`);
    const { decision, rules } = policy.explain({
      agentId: 'bot',
      policy: 'p',
      account: 'paper',
      ...placeOrder({ notional: '50' }),
    });
    expect(decision.decision).toBe('allow');
    expect(rules).toEqual([
      {
        rule: 'policies.p.rules[0]',
        effect: 'allow',
        mode: 'enforce',
        matched: false,
        why: 'does not list place_order',
      },
      {
        rule: 'policies.p.rules[1] (small)',
        effect: 'allow',
        mode: 'enforce',
        matched: true,
        why: 'holds: maxNotional',
      },
      {
        rule: 'policies.p.rules[2]',
        effect: 'deny',
        mode: 'shadow',
        matched: false,
        why: 'sides: only for sides sell; this order is buy',
      },
    ]);
  });
});
