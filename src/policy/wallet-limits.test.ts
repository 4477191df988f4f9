import { describe, expect, it } from 'vitest';

import {
  ethTransfer,
  sendQuestion,
  transaction,
  usdcApprove,
  usdcTransfer,
  walletEngine,
} from './testdata/wallet-policy.js';

// Issue 19: transactions and typed data under `transfers` and `notional` limits, `per: wallet` and `wallets:`.

const POLICY = `  p:
    rules:
      - allow: [send_transaction, sign_typed_data, get_wallet]
        wallets: [hot, treasury]
      - allow: [send_transaction]
        functions: [approve]
        maxAmount: 1000
        chains: [mainnet]
    limits:
      - { name: eth-per-tx-wallet, per: wallet, window: 24h, transfers: 2, asset: ETH }
      - { name: usdc-hot, per: agent, window: 1h, transfers: 5000, asset: USDC, wallets: [hot] }
      - { name: value, per: agent, window: 24h, notional: 10000, quote: [USDC, USDT] }
`;

describe('transaction limits', () => {
  const policy = walletEngine(POLICY);

  it('a native transfer draws on the wallet’s ETH budget and the agent’s notional', () => {
    const decision = policy.decide(sendQuestion(ethTransfer('0.5')));
    expect(decision.decision).toBe('allow');
    expect(decision.limits).toEqual([
      {
        limit: 'eth-per-tx-wallet',
        key: 'wallet:hot|transfers|ETH|86400000',
        measure: 'transfers',
        windowMs: 86_400_000,
        cap: '2',
        amount: '0.5',
      },
      {
        limit: 'value',
        key: 'agent:bot|notional|USDC+USDT|86400000',
        measure: 'notional',
        windowMs: 86_400_000,
        cap: '10000',
        amount: '1500',
      },
    ]);
  });

  it('sums every move of the limit’s asset, approvals included', () => {
    const tx = transaction([
      { kind: 'transfer', asset: 'USDC', amount: '10.5', to: 'cold' },
      { kind: 'approval', asset: 'USDC', amount: '20.25', to: 'router' },
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
    ]);
    const checks = policy.decide(sendQuestion(tx, { action: 'sign_typed_data' })).limits;
    expect(checks.find((c) => c.limit === 'usdc-hot')?.amount).toBe('30.75');
    expect(checks.find((c) => c.limit === 'eth-per-tx-wallet')?.amount).toBe('0.1');
    expect(
      policy.decide(sendQuestion(usdcApprove('1000'))).limits.find((c) => c.limit === 'usdc-hot')?.amount,
    ).toBe('1000');
  });

  it('wallets: counts only the wallets listed; per: wallet keys by wallet', () => {
    const checks = policy.decide(
      sendQuestion(usdcTransfer('1', 'cold', { wallet: 'treasury' }), { wallet: 'treasury' }),
    ).limits;
    expect(checks.map((c) => c.key)).toEqual(['agent:bot|notional|USDC+USDT|86400000']);
    const eth = policy.decide(
      sendQuestion(ethTransfer('1', 'alice', { wallet: 'treasury' }), { wallet: 'treasury' }),
    ).limits;
    expect(eth[0]?.key).toBe('wallet:treasury|transfers|ETH|86400000');
  });

  it('an unpriced transaction under a notional limit is denied: it cannot be measured (fail closed)', () => {
    const decision = policy.decide(sendQuestion(ethTransfer('0.1', 'alice', { notional: undefined })));
    expect(decision).toMatchObject({ decision: 'deny', rule: 'value', limits: [] });
    expect(decision.reason).toBe(
      'value counts value in USDC, USDT; this transaction has no value (chain "mainnet" has no price for what it moves), so it cannot be measured against it',
    );
    const other = policy.decide(
      sendQuestion(ethTransfer('0.1', 'alice', { notional: { quote: 'DAI', amount: '1' } })),
    );
    expect(other.reason).toBe(
      'value counts value in USDC, USDT; a transaction valued in DAI cannot be measured against it',
    );
  });

  it('a notional limit that cannot apply to a transaction (an account budget, another wallet) does not refuse it', () => {
    const scoped = walletEngine(`  p:
    rules:
      - allow: [send_transaction]
    limits:
      - { name: per-account, per: account, window: 24h, notional: 10, quote: USDC }
      - { name: order-value, per: agent, window: 24h, notional: 10, quote: USDC, accounts: [paper] }
      - { name: treasury-value, per: agent, window: 24h, notional: 10, quote: USDC, wallets: [treasury] }
`);
    expect(scoped.decide(sendQuestion(ethTransfer('0.1', 'alice', { notional: undefined })))).toMatchObject({
      decision: 'allow',
      limits: [],
    });
  });

  it('get_limits shows wallet-scoped limits once per wallet the policy allows', () => {
    const views = policy.limitsFor('bot', 'p');
    expect(views.map((v) => v.key)).toEqual([
      'wallet:hot|transfers|ETH|86400000',
      'wallet:treasury|transfers|ETH|86400000',
      'agent:bot|transfers|USDC|3600000',
      'agent:bot|notional|USDC+USDT|86400000',
    ]);
    expect(policy.walletsFor('p')).toEqual(['hot', 'treasury']);
    expect([...policy.actionsFor('p')].sort()).toEqual(['get_wallet', 'send_transaction', 'sign_typed_data']);
  });
});
