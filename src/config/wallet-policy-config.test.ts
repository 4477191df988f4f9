import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { WALLET_BASE } from '../policy/testdata/wallet-policy.js';
import type { ConfigIssue } from './config-issues.js';
import { parseConfig } from './load-config.js';

// Issue 19: what the config refuses in wallet rules and limits, every problem at once with its path and a hint.

const KEYS = `encryptionKeys:
  notes: { type: embedded, secret: 'local:e#notes' }
`;

function issues(policies: string): ConfigIssue[] {
  try {
    parseConfig(`${WALLET_BASE}${KEYS}policies:\n${policies}`, { sourcePath: 'c.yaml' });
  } catch (err) {
    if (!(err instanceof CofreError)) throw err;
    return err.details?.['issues'] as ConfigIssue[];
  }
  throw new Error('expected the config to be refused');
}

const problems = (policies: string): [string, string][] =>
  issues(policies).map((i) => [i.path.join('.'), i.message]);

describe('wallet rules in the config', () => {
  it('accepts the README examples', () => {
    const config = parseConfig(
      `${WALLET_BASE}${KEYS}policies:
  p:
    rules:
      - allow: [send_transaction]
        wallets: [hot]
        destinations: [alice, cold, usdc]
        assets: [ETH, USDC]
        maxAmount: 1000
      - allow: [send_transaction]
        wallets: ['*']
        contracts: [router]
        functions: [swapExactTokensForTokens]
        maxNotional: 2000
        maxGas: 300000
        maxGasPrice: "50.5"
      - allow: [send_transaction, sign_typed_data]
        contracts: [usdc, permit2]
        functions: [approve, permit]
        destinations: [router, permit2]
        maxAmount: 500
      - allow: [send_transaction]
        contracts: [router]
        selectors: ["0x12345678"]
      - approve: [send_transaction]
        functions: [approve]
        maxAmount: 5000
      - deny: [send_transaction]
        functions: [approve]
      - allow: [encrypt, decrypt]
        keys: [notes, '*']
    limits:
      - { per: wallet, window: 24h, transfers: 2, asset: ETH, wallets: [hot] }
      - { per: agent, window: 24h, notional: 10000, quote: USDC }
`,
      { sourcePath: 'c.yaml' },
    );
    expect(config.policies['p']?.rules?.[1]).toMatchObject({ maxNotional: '2000', maxGasPrice: '50.5' });
  });

  it('refuses a rule that can permit an approval without maxAmount, naming the fix', () => {
    const found = issues(`  p:
    rules:
      - allow: [send_transaction, sign_typed_data]
        functions: [transfer, approve, permit]
      - confirm: [send_transaction]
        functions: [increaseAllowance]
`);
    expect(found.map((i) => [i.path.join('.'), i.message, i.hint])).toEqual([
      [
        'policies.p.rules.0.functions',
        'a rule that can allow approvals (approve, permit) needs maxAmount: large approvals are denied by default',
        'add maxAmount (the largest allowance, in token units) and assets naming the token',
      ],
      [
        'policies.p.rules.1.functions',
        'a rule that can confirm approvals (increaseAllowance) needs maxAmount: large approvals are denied by default',
        'add maxAmount (the largest allowance, in token units) and assets naming the token',
      ],
    ]);
  });

  it('refuses selectors without contracts in a rule that permits', () => {
    expect(
      issues(`  p:
    rules:
      - allow: [send_transaction]
        selectors: ["0x12345678"]
      - deny: [send_transaction]
        selectors: ["0x12345678"]
`).map((i) => [i.path.join('.'), i.message, i.hint]),
    ).toEqual([
      [
        'policies.p.rules.0.selectors',
        'selectors needs contracts: raw calldata matches only a rule naming its contract and selector',
        'add contracts: [<name>], the contract the raw calldata may call',
      ],
    ]);
  });

  it('refuses names that are not configured, all at once, with what is', () => {
    const found = issues(`  p:
    rules:
      - allow: [send_transaction]
        wallets: [hot, cold-wallet]
        chains: [mainnet, polygon]
        contracts: [router, vault, uniswap]
        destinations: [alice, router, mallory]
      - allow: [withdraw]
        accounts: [paper]
        destinations: [router]
      - allow: [encrypt]
        keys: [notes, secrets]
    limits:
      - { per: wallet, window: 1h, transfers: 1, asset: ETH, wallets: [hot, '*', nope] }
`);
    expect(found.map((i) => [i.path.join('.'), i.message, i.hint])).toEqual([
      [
        'policies.p.rules.0.wallets.1',
        'wallet "cold-wallet" is not configured',
        'configured wallets: hot, treasury, l2',
      ],
      [
        'policies.p.rules.0.chains.1',
        'chain "polygon" is not configured',
        'configured chains: mainnet, base',
      ],
      [
        'policies.p.rules.0.contracts.2',
        'contract "uniswap" is not configured',
        'configured contracts: usdc, router, permit2, vault',
      ],
      [
        'policies.p.rules.0.destinations.2',
        'destination "mallory" is neither an addressBook label nor a contract',
        'configured labels and contracts: cold, alice, bob, usdc, router, permit2, vault',
      ],
      // A withdrawal goes to an address-book label only.
      [
        'policies.p.rules.1.destinations.0',
        'address label "router" is not in addressBook',
        'configured labels: cold, alice, bob',
      ],
      [
        'policies.p.rules.2.keys.1',
        'encryption key "secrets" is not configured',
        'configured encryption keys: notes',
      ],
      [
        'policies.p.limits.0.wallets.1',
        'wallet "*" is not configured',
        'configured wallets: hot, treasury, l2',
      ],
      [
        'policies.p.limits.0.wallets.2',
        'wallet "nope" is not configured',
        'configured wallets: hot, treasury, l2',
      ],
    ]);
  });

  it('refuses wallet conditions on actions they never apply to', () => {
    expect(
      problems(`  p:
    rules:
      - allow: [place_order]
        accounts: [paper]
        wallets: [hot]
        maxGas: 50000
      - allow: [get_wallet]
        functions: [transfer]
`),
    ).toEqual([
      ['policies.p.rules.0.wallets', 'wallets never applies to place_order: the rule could never match'],
      ['policies.p.rules.0.maxGas', 'maxGas never applies to place_order: the rule could never match'],
      ['policies.p.rules.1.functions', 'functions never applies to get_wallet: the rule could never match'],
    ]);
  });

  it('refuses limits a wallet request could never be counted by', () => {
    const found = issues(`  p:
    rules:
      - allow: [send_transaction]
    limits:
      - { per: wallet, window: 1h, orders: 5 }
      - { per: agent, window: 1h, withdrawals: 5, asset: USDT, wallets: [hot] }
      - { per: account, window: 1h, transfers: 5, asset: ETH }
      - { per: agent, window: 1h, transfers: 5, asset: ETH, accounts: [paper] }
      - { per: agent, window: 1h, notional: 5, quote: USDC, accounts: [paper], wallets: [hot] }
      - { per: wallet, window: 1h, transfers: 5 }
`);
    expect(found.map((i) => [i.path.join('.'), i.message, i.hint])).toEqual([
      [
        'policies.p.limits.0.per',
        'per: wallet only goes with transfers and notional; orders are not made from a wallet',
        'use per: agent, account, agent-account or global',
      ],
      [
        'policies.p.limits.1.wallets',
        'wallets only goes with transfers and notional; withdrawals are not made from a wallet',
        'remove it',
      ],
      [
        'policies.p.limits.2.per',
        'transfers are made from wallets, not accounts: per: account would count nothing',
        'use per: wallet, agent or global',
      ],
      [
        'policies.p.limits.3.accounts',
        'transfers are made from wallets, not accounts: accounts would count nothing',
        'use wallets: instead',
      ],
      [
        'policies.p.limits.4.wallets',
        'a limit counts requests on accounts or on wallets, not both',
        'write two limits',
      ],
      ['policies.p.limits.5.asset', 'transfers needs the asset it counts', 'add e.g. `asset: USDT`'],
    ]);
  });
});
