// Issue 19: `cofre policy explain` and `cofre policy test` with transactions, typed data and encryption questions.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { WALLET_BASE } from '../../src/policy/testdata/wallet-policy.js';
import { cli, tempDir } from './cli-harness.js';

let dir: string;
let remove: () => void;

const CONFIG = `${WALLET_BASE}policies:
  p:
    rules:
      - name: pay
        allow: [send_transaction, get_wallet]
        wallets: [hot]
        destinations: [alice, cold]
        maxAmount: 1000
        maxGasPrice: 40
      - name: approve-router
        allow: [send_transaction, sign_typed_data]
        functions: [approve, permit]
        destinations: [router]
        maxAmount: 500
    limits:
      - { name: eth-daily, per: wallet, window: 24h, transfers: 1, asset: ETH }
      - { name: value, per: agent, window: 24h, notional: 10000, quote: USDC }
`;

beforeEach(() => {
  ({ dir, remove } = tempDir());
  writeFileSync(join(dir, 'cofre.yaml'), CONFIG);
});

afterEach(() => {
  remove();
});

const send = (fields: Record<string, unknown>) =>
  JSON.stringify({ wallet: 'hot', to: 'alice', gas: { limit: 21000, maxFeePerGasGwei: '12.5' }, ...fields });

describe('cofre policy explain, for a transaction', () => {
  it('judges the transaction as given, valued at the chain’s prices, and lists the limits', async () => {
    const r = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'p',
      '--action',
      'send_transaction',
      '--input',
      send({ moves: [{ kind: 'value', asset: 'ETH', amount: '0.5', to: 'alice' }] }),
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('decision: allow\n');
    expect(r.stdout).toContain('wallet:hot|transfers|ETH|86400000');
    expect(r.stdout).toContain('agent:policy-explain|notional|USDC|86400000');
    expect(r.stdout).toMatch(/policies\.p\.rules\[0\] \(pay\)\s+allow\s+enforce\s+yes/);
  });

  it('says which condition a refused transaction misses', async () => {
    const r = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'p',
      '--action',
      'send_transaction',
      '--input',
      send({ moves: [{ kind: 'value', asset: 'ETH', amount: '0.5', to: 'bob' }] }),
    ]);
    expect(r.stdout).toContain('decision: deny\n');
    expect(r.stdout).toContain('only to destinations alice, cold by policies.p.rules[0] (pay); not to "bob"');
  });

  it('refuses input that does not fit, naming the field', async () => {
    const r = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'p',
      '--action',
      'send_transaction',
      '--input',
      JSON.stringify({ wallet: 'nope', to: 'alice' }),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('input: wallet "nope" is not configured (configured: hot, treasury, l2)');
  });
});

describe('cofre policy test, with wallet cases', () => {
  it('passes cases for transfers, approvals, built-ins and typed data', async () => {
    writeFileSync(
      join(dir, 'policy.test.yaml'),
      `- name: a transfer to alice
  policy: p
  action: send_transaction
  input: { wallet: hot, to: alice, moves: [{ kind: value, asset: ETH, amount: "0.2", to: alice }], gas: { limit: 21000, maxFeePerGasGwei: "10" } }
  expect: { decision: allow, rule: "policies.p.rules[0] (pay)" }
- name: gas too dear
  policy: p
  action: send_transaction
  input: { wallet: hot, to: alice, moves: [{ kind: value, asset: ETH, amount: "0.2", to: alice }], gas: { limit: 21000, maxFeePerGasGwei: "40.1" } }
  expect: { decision: deny, rule: default-deny }
- name: an unlimited approve
  policy: p
  action: send_transaction
  input: { wallet: hot, to: usdc, contract: usdc, function: approve, selector: "0x095ea7b3", moves: [{ kind: approval, asset: USDC, amount: "1", to: router }], unlimitedApproval: true }
  expect: { decision: deny, rule: unlimited-approval }
- name: a Permit within the cap
  policy: p
  action: sign_typed_data
  input: { wallet: hot, kind: permit, to: usdc, contract: usdc, function: permit, moves: [{ kind: approval, asset: USDC, amount: "500", to: router }] }
  expect: { decision: allow, rule: "policies.p.rules[1] (approve-router)" }
- name: a Permit over the cap
  policy: p
  action: sign_typed_data
  input: { wallet: hot, kind: permit, to: usdc, contract: usdc, function: permit, moves: [{ kind: approval, asset: USDC, amount: "501", to: router }] }
  expect: { decision: deny }
- name: unknown typed data
  policy: p
  action: sign_typed_data
  input: { wallet: hot, kind: typed-data-unknown, to: router }
  expect: { decision: deny, rule: typed-data-unknown }
- name: get_wallet
  policy: p
  action: get_wallet
  input: { wallet: treasury }
  expect: { decision: deny }
`,
    );
    const r = await cli(dir, ['policy', 'test', 'policy.test.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('7 passed, 0 failed');
    expect(r.code).toBe(0);
  });
});
