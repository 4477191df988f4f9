import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import { RulePolicy } from '../policy/rule-policy.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { limitsView } from './limits-view.js';

const t0 = new Date('2026-11-30T12:00:00Z');

const config = parseConfig(`
backends: { local: { type: embedded, path: s.enc, keyFile: s.key } }
accounts:
  paper: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
  spare: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
policies:
  trader:
    rules:
      - allow: [get_limits, place_order]
        accounts: [paper, spare]
    limits:
      - { name: daily, per: agent, window: 24h, notional: 2000, quote: USDT }
      - { name: per-account, per: account, window: 1h, orders: 10 }
      - { name: mine-per-account, per: agent-account, window: 1h, orders: 5 }
`);
const policy = new RulePolicy({
  policies: config.policies,
  accounts: config.accounts,
  now: () => t0,
});

describe('limitsView (get_limits)', () => {
  it("shows a delegated agent its chain's budget, its grants' own, and only the accounts its grants allow", async () => {
    const state = new SqliteStateStore(':memory:');
    const root: AuthenticatedAgent = { id: 'alice', policy: 'trader' };
    const scout: AuthenticatedAgent = {
      id: 'alice/scout',
      policy: 'trader',
      via: 'delegation',
      onBehalfOf: ['alice'],
      grants: [
        {
          tokenId: 'BBBBBBBBBBBBBBBB',
          accounts: ['paper'],
          limits: [{ measure: 'orders', windowMs: 3_600_000, cap: '3' }],
        },
      ],
    };
    const scopes = async (agent: AuthenticatedAgent) =>
      (await limitsView(policy, state, agent, t0)).map((l) => `${l.limit} ${l.scope}`);
    expect(await scopes(root)).toEqual([
      'daily agent:alice',
      'per-account account:paper',
      'per-account account:spare',
      'mine-per-account agent-account:alice:paper',
      'mine-per-account agent-account:alice:spare',
    ]);
    expect(await scopes(scout)).toEqual([
      'daily agent:alice',
      'per-account account:paper',
      'mine-per-account agent-account:alice:paper',
      'delegation grants[0].limits[0] (orders per 1h) delegation:BBBBBBBBBBBBBBBB',
    ]);
    state.close();
  });
});
