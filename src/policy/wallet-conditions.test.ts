import { describe, expect, it } from 'vitest';

import {
  ethTransfer,
  sendQuestion,
  transaction,
  usdcApprove,
  usdcTransfer,
  walletEngine,
} from './testdata/wallet-policy.js';

// Issue 19: the wallet conditions and the built-in denials, through the engine (decisions and their words).

describe('wallet conditions', () => {
  const policy = walletEngine(`  p:
    rules:
      - name: pay
        allow: [send_transaction, preview_transaction, get_wallet]
        wallets: [hot]
        chains: [mainnet]
        destinations: [alice, bob]
        assets: [ETH]
        maxAmount: "0.5"
        maxGas: 100000
        maxGasPrice: "30.5"
      - allow: [get_wallet]
        chains: [mainnet]
`);

  it('allows a transfer that meets every condition', () => {
    expect(policy.decide(sendQuestion(ethTransfer('0.5')))).toMatchObject({
      decision: 'allow',
      rule: 'policies.p.rules[0] (pay)',
    });
  });

  it.each([
    [
      'wallets',
      sendQuestion(ethTransfer('0.1', 'alice', { wallet: 'treasury' }), { wallet: 'treasury' }),
      'only on wallets hot by policies.p.rules[0] (pay); not on wallet "treasury"',
    ],
    [
      'chains',
      sendQuestion(ethTransfer('0.1', 'alice', { chain: 'base', chainId: 8453 })),
      'only on chains mainnet by policies.p.rules[0] (pay); wallet "hot" is on chain "base"',
    ],
    [
      'destinations',
      sendQuestion(ethTransfer('0.1', 'cold')),
      'only to destinations alice, bob by policies.p.rules[0] (pay); not to "cold"',
    ],
    [
      'assets',
      sendQuestion(usdcTransfer('1', 'alice')),
      'only for assets ETH by policies.p.rules[0] (pay); this transaction moves USDC',
    ],
    [
      'maxAmount',
      sendQuestion(ethTransfer('0.500000000000000001')),
      'up to maxAmount 0.5 ETH by policies.p.rules[0] (pay); this transaction moves 0.500000000000000001 ETH',
    ],
    [
      'maxGas',
      sendQuestion(ethTransfer('0.1', 'alice', { gas: { limit: 100_001, maxFeePerGasGwei: '1' } })),
      'up to maxGas 100000 by policies.p.rules[0] (pay); this transaction needs gas 100001',
    ],
    [
      'maxGasPrice',
      sendQuestion(ethTransfer('0.1', 'alice', { gas: { limit: 21_000, maxFeePerGasGwei: '30.500000001' } })),
      'up to maxGasPrice 30.5 gwei by policies.p.rules[0] (pay); the max fee per gas is 30.500000001 gwei now; try again when gas is cheaper',
    ],
  ])('%s: a miss is denied in words the agent can act on', (_key, question, words) => {
    const decision = policy.decide(question);
    expect(decision).toMatchObject({ decision: 'deny', rule: 'default-deny' });
    expect(decision.reason).toBe(`send_transaction is allowed ${words}`);
  });

  it('gas caps hold at the bound exactly', () => {
    const tx = ethTransfer('0.1', 'alice', { gas: { limit: 100_000, maxFeePerGasGwei: '30.5' } });
    expect(policy.decide(sendQuestion(tx)).decision).toBe('allow');
  });

  it('chains on get_wallet use the wallet’s configured chain', () => {
    const ask = (wallet: string) =>
      policy.decide({ agentId: 'bot', policy: 'p', action: 'get_wallet', account: undefined, wallet });
    expect(ask('hot').decision).toBe('allow');
    expect(ask('l2').reason).toContain(
      'only on chains mainnet by policies.p.rules[1]; wallet "l2" is on chain "base"',
    );
  });

  it('every recipient must be listed, every move within maxAmount', () => {
    const two = transaction([
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'cold' },
    ]);
    expect(policy.decide(sendQuestion(two)).reason).toContain('not to "cold"');
    const big = transaction([
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
      { kind: 'value', asset: 'ETH', amount: '0.6', to: 'bob' },
    ]);
    expect(policy.decide(sendQuestion(big)).reason).toContain('this transaction moves 0.6 ETH');
  });
});

describe('contracts, functions, selectors and notional', () => {
  const policy = walletEngine(`  p:
    rules:
      - name: swap
        allow: [send_transaction]
        contracts: [router]
        functions: [swapExactTokensForTokens]
        maxNotional: 1000
      - name: raw
        allow: [send_transaction]
        contracts: [router]
        selectors: ["0x12345678"]
`);
  const swap = (fields = {}) =>
    transaction([], {
      to: 'router',
      contract: 'router',
      function: 'swapExactTokensForTokens',
      selector: '0x38ed1739',
      recipients: ['router'],
      notional: { quote: 'USDC', amount: '1000' },
      ...fields,
    });

  it('allows a call of a listed function of a listed contract within maxNotional', () => {
    expect(policy.decide(sendQuestion(swap())).rule).toBe('policies.p.rules[0] (swap)');
  });

  it('refuses another function, a value over maxNotional and an unpriced transaction', () => {
    expect(
      policy.decide(sendQuestion(swap({ function: 'multicall', selector: '0xac9650d8' }))).reason,
    ).toContain('not function "multicall"');
    expect(
      policy.decide(sendQuestion(swap({ notional: { quote: 'USDC', amount: '1000.01' } }))).reason,
    ).toContain('this transaction is worth 1000.01 USDC');
    expect(policy.decide(sendQuestion(swap({ notional: undefined }))).reason).toContain(
      'this transaction has no value: chain "mainnet" has no price for what it moves',
    );
  });

  it('a plain transfer calls no contract', () => {
    expect(policy.decide(sendQuestion(ethTransfer('0.1'))).reason).toContain(
      'this transaction calls no contract',
    );
  });

  it('raw calldata matches only a rule listing its contract and selector', () => {
    const raw = (selector: string) =>
      swap({ function: undefined, selector, raw: true, notional: { quote: 'USDC', amount: '0' } });
    expect(policy.decide(sendQuestion(raw('0x12345678')))).toMatchObject({
      decision: 'allow',
      rule: 'policies.p.rules[1] (raw)',
    });
    const denied = policy.decide(sendQuestion(raw('0x87654321')));
    expect(denied.decision).toBe('deny');
    expect(denied.reason).toContain('not selector 0x87654321');
  });

  it('raw calldata never matches a rule without selectors, even one that allows everything else', () => {
    const open = walletEngine(`  p:
    rules:
      - allow: [send_transaction]
        contracts: [router]
`);
    const raw = swap({ function: undefined, selector: '0x38ed1739', raw: true });
    const decision = open.decide(sendQuestion(raw));
    expect(decision.decision).toBe('deny');
    expect(decision.reason).toBe(
      'policy "p" does not allow send_transaction: only decoded calls (raw calldata needs a rule with selectors and contracts); this transaction is raw calldata (selector 0x38ed1739); call a known function instead',
    );
    expect(open.decide(sendQuestion(swap())).decision).toBe('allow');
  });
});

describe('approvals and the built-in denials', () => {
  const policy = walletEngine(`  p:
    rules:
      - name: anything-to-usdc
        allow: [send_transaction, sign_typed_data]
        contracts: [usdc, permit2]
      - name: approve-router
        allow: [send_transaction, sign_typed_data]
        functions: [approve, permit]
        destinations: [router, permit2]
        assets: [USDC]
        maxAmount: 500
`);

  it('an approval matches only a rule naming it in functions, within maxAmount', () => {
    expect(policy.decide(sendQuestion(usdcApprove('500')))).toMatchObject({
      decision: 'allow',
      rule: 'policies.p.rules[1] (approve-router)',
    });
    const over = policy.decide(sendQuestion(usdcApprove('500.000001')));
    expect(over.decision).toBe('deny');
    expect(over.reason).toContain('this transaction approves 500.000001 USDC');
    // A transfer of the same token matches the rule without functions; the approval did not.
    expect(policy.decide(sendQuestion(usdcTransfer('10000'))).rule).toBe(
      'policies.p.rules[0] (anything-to-usdc)',
    );
  });

  it('a rule without functions never permits an approval', () => {
    const only = walletEngine(`  p:
    rules:
      - allow: [send_transaction]
        contracts: [usdc]
`);
    const decision = only.decide(sendQuestion(usdcApprove('1')));
    expect(decision.decision).toBe('deny');
    expect(decision.reason).toBe(
      'policy "p" does not allow send_transaction: no approvals (an approval needs a rule naming it in functions); this is an approval (approve)',
    );
  });

  it('Permit typed data is an approval named permit', () => {
    const permit = usdcApprove('400', 'router', {
      kind: 'permit',
      function: 'permit',
      selector: undefined,
      gas: undefined,
    });
    expect(policy.decide(sendQuestion(permit, { action: 'sign_typed_data' })).rule).toBe(
      'policies.p.rules[1] (approve-router)',
    );
    const over = usdcApprove('600', 'router', {
      kind: 'permit2',
      to: 'permit2',
      contract: 'permit2',
      function: undefined,
      selector: undefined,
      gas: undefined,
    });
    const decision = policy.decide(sendQuestion(over, { action: 'sign_typed_data' }));
    expect(decision.decision).toBe('deny');
    expect(decision.reason).toContain('this transaction approves 600 USDC');
  });

  it('an unlimited approval is denied by the built-in unlimited-approval, whatever the rules', () => {
    const unlimited = usdcApprove('1', 'router', { unlimitedApproval: true });
    expect(policy.decide(sendQuestion(unlimited))).toMatchObject({
      decision: 'deny',
      rule: 'unlimited-approval',
      reason:
        'send_transaction is denied (unlimited-approval): an unlimited approval of USDC to "router" is never allowed; approve only the amount needed',
      limits: [],
    });
  });

  it('unknown typed data is denied by the built-in typed-data-unknown', () => {
    const unknown = transaction([], {
      kind: 'typed-data-unknown',
      to: 'usdc',
      contract: 'usdc',
      gas: undefined,
    });
    const decision = policy.decide(sendQuestion(unknown, { action: 'sign_typed_data' }));
    expect(decision).toMatchObject({ decision: 'deny', rule: 'typed-data-unknown' });
    expect(decision.reason).toContain('cofre signs only typed data it can read');
  });

  it('an amount finer than 18 decimal places is denied by the built-in amount-unmeasurable', () => {
    // A token with 24 decimals: comparing or counting this amount exactly is beyond policy's decimals.
    const fine = usdcTransfer('1.000000000000000000000001', 'cold', { notional: undefined });
    expect(policy.decide(sendQuestion(fine))).toMatchObject({
      decision: 'deny',
      rule: 'amount-unmeasurable',
      reason:
        'send_transaction is denied (amount-unmeasurable): 1.000000000000000000000001 USDC cannot be judged exactly; use at most 18 decimal places and 30 integer digits',
    });
  });

  it('a deny rule without functions still denies approvals', () => {
    const denying = walletEngine(`  p:
    rules:
      - allow: [send_transaction]
        functions: [approve]
        maxAmount: 100
      - deny: [send_transaction]
        wallets: [hot]
`);
    expect(denying.decide(sendQuestion(usdcApprove('1')))).toMatchObject({
      decision: 'deny',
      rule: 'policies.p.rules[1]',
    });
  });
});

describe('deny rules on transactions with several moves', () => {
  const policy = walletEngine(`  p:
    rules:
      - allow: [send_transaction]
        wallets: [hot]
      - deny: [send_transaction]
        destinations: [bob]
      - deny: [send_transaction]
        assets: [USDC]
        minAmount: 1000
`);

  it('deny when any recipient, asset or amount matches, not only when all do', () => {
    const toBob = transaction([
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'bob' },
    ]);
    expect(policy.decide(sendQuestion(toBob))).toMatchObject({
      decision: 'deny',
      rule: 'policies.p.rules[1]',
    });
    const bigUsdc = transaction([
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
      { kind: 'transfer', asset: 'USDC', amount: '1000', to: 'cold' },
    ]);
    expect(policy.decide(sendQuestion(bigUsdc))).toMatchObject({
      decision: 'deny',
      rule: 'policies.p.rules[2]',
    });
    // Each condition is judged on its own: ETH 2000 beside USDC 999 would be denied too (errs toward denying).
    const small = transaction([
      { kind: 'value', asset: 'ETH', amount: '0.1', to: 'alice' },
      { kind: 'transfer', asset: 'USDC', amount: '999', to: 'cold' },
    ]);
    expect(policy.decide(sendQuestion(small)).decision).toBe('allow');
  });
});
