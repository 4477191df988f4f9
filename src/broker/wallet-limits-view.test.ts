import { expect, it } from 'vitest';

import { RulePolicy } from '../policy/rule-policy.js';
import { ethTransfer, sendQuestion, walletConfig } from '../policy/testdata/wallet-policy.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { limitsView } from './limits-view.js';

// Issue 19: get_limits shows `per: wallet` limits once per wallet the policy can use, with their usage.

it('lists a per-wallet transfers limit per usable wallet, with what a send reserved', async () => {
  const t0 = new Date('2026-12-01T00:00:00Z');
  const config = walletConfig(`  p:
    rules:
      - allow: [get_limits, send_transaction]
        wallets: [hot, l2]
    limits:
      - { name: eth-daily, per: wallet, window: 24h, transfers: 2, asset: ETH }
      - { name: hot-only, per: wallet, window: 1h, transfers: 1, asset: ETH, wallets: [hot, treasury] }
`);
  const policy = new RulePolicy({ ...config, wallets: config.wallets, now: () => t0 });
  const state = new SqliteStateStore(':memory:');
  try {
    const decision = policy.decide(sendQuestion(ethTransfer('0.75')));
    expect(decision.decision).toBe('allow');
    expect(state.reserve('r1', decision.limits, t0)).toEqual({ ok: true });
    const views = await limitsView(policy, state, { id: 'bot', policy: 'p' }, t0);
    expect(views.map((v) => [v.limit, v.scope, v.used, v.remaining])).toEqual([
      ['eth-daily', 'wallet:hot', '0.75', '1.25'],
      ['eth-daily', 'wallet:l2', '0', '2'],
      ['hot-only', 'wallet:hot', '0.75', '0.25'],
    ]);
  } finally {
    state.close();
  }
});
