import { describe, expect, it } from 'vitest';

import { type AuthenticatedAgent, issueAgentToken } from '../broker/agent-tokens.js';
import type { AccountConfig } from '../config/config-schema.js';
import { isCofreError } from '../errors.js';
import { RulePolicy } from '../policy/rule-policy.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { authenticateAgentSession, issueAgentSession } from './agent-sessions.js';
import { mintDelegation, planDelegation, rightsOf } from './delegation.js';

const t0 = new Date('2026-11-30T12:00:00Z');
const ACCOUNT: AccountConfig = {
  venue: 'binance',
  mode: 'paper',
  credentials: { apiKey: 'local:k#apiKey', secret: 'local:k#secret' },
};
const policy = new RulePolicy({
  policies: {
    trader: {
      accounts: ['paper', 'spare'],
      actions: ['place_order', 'cancel_order', 'get_balance', 'get_ticker', 'withdraw'],
    },
  },
  accounts: { paper: ACCOUNT, spare: ACCOUNT, other: ACCOUNT },
  now: () => t0,
});
const config = { maxDepth: 2, maxTtl: 3_600_000 };
const deps = { policy, config, now: t0 };

const root: AuthenticatedAgent = {
  id: 'alice',
  policy: 'trader',
  via: 'token',
  credential: { kind: 'agent', tokenId: 'AAAAAAAAAAAAAAAA', expiresAt: new Date(t0.getTime() + 86_400_000) },
};

/** A delegated parent as authentication would give it. */
function child(grant: Record<string, unknown>, expiresInMs = 1_800_000): AuthenticatedAgent {
  return {
    id: 'alice/scout',
    policy: 'trader',
    via: 'delegation',
    onBehalfOf: ['alice'],
    grants: [{ tokenId: 'BBBBBBBBBBBBBBBB', ...grant }],
    credential: {
      kind: 'session',
      tokenId: 'BBBBBBBBBBBBBBBB',
      expiresAt: new Date(t0.getTime() + expiresInMs),
      ancestors: [{ kind: 'agent', tokenId: 'AAAAAAAAAAAAAAAA' }],
    },
  };
}

function wider(parent: AuthenticatedAgent, input: unknown): readonly string[] {
  return planDelegation(deps, parent, input).wider;
}

describe('delegation mint rules', () => {
  it('allows a subset and names the child after its parent', () => {
    const plan = planDelegation(deps, root, {
      name: 'scout',
      accounts: ['paper'],
      actions: ['place_order', 'get_ticker'],
      symbols: ['BTC/USDT'],
      limits: [{ measure: 'notional', unit: 'USDT', window: '1h', cap: '250' }],
      ttl: '15m',
    });
    expect(plan.wider).toEqual([]);
    expect(plan.agent).toBe('alice/scout');
    expect(plan.expiresAt).toEqual(new Date(t0.getTime() + 15 * 60_000));
    expect(plan.grant).toEqual({
      accounts: ['paper'],
      actions: ['place_order', 'get_ticker'],
      symbols: ['BTC/USDT'],
      limits: [{ measure: 'notional', unit: 'USDT', windowMs: 3_600_000, cap: '250' }],
    });
  });

  it('refuses an account the parent may not use, by policy or by its own grant', () => {
    expect(wider(root, { name: 'x', accounts: ['other'] })).toEqual([
      'account "other" is not yours to use (yours: paper, spare)',
    ]);
    expect(wider(child({ accounts: ['paper'] }), { name: 'x', accounts: ['spare'] })).toEqual([
      'account "spare" is not yours to use (yours: paper)',
    ]);
  });

  it('refuses an action beyond the policy, the grant, or the OAuth scopes', () => {
    expect(wider(root, { name: 'x', actions: ['cancel_all_orders'] })[0]).toMatch(
      /^action cancel_all_orders is not yours to ask for/,
    );
    expect(wider(child({ actions: ['get_ticker'] }), { name: 'x', actions: ['place_order'] })).toEqual([
      'action place_order is not yours to ask for (yours: get_ticker, get_request)',
    ]);
    const oauth: AuthenticatedAgent = {
      ...root,
      via: 'oauth',
      actionClasses: new Set(['read']),
      credential: {
        kind: 'oauth',
        issuer: 'https://as',
        subject: 's',
        expiresAt: new Date(t0.getTime() + 600_000),
      },
    };
    expect(wider(oauth, { name: 'x', actions: ['withdraw'] })[0]).toMatch(/^action withdraw is not yours/);
    // Sessions store no scopes: the child of an OAuth parent gets the actions its scopes allow written down.
    expect(planDelegation(deps, oauth, { name: 'x' }).grant.actions).toEqual(['get_balance', 'get_ticker']);
  });

  it('refuses a symbol outside the grant, and a limit above an ancestor cap of the same measure, unit and window', () => {
    const parent = child({
      symbols: ['BTC/USDT'],
      limits: [{ measure: 'notional', unit: 'USDT', windowMs: 3_600_000, cap: '100' }],
    });
    expect(
      wider(parent, {
        name: 'x',
        symbols: ['ETH/USDT'],
        limits: [
          { measure: 'notional', unit: 'USDT', window: '1h', cap: '100.5' },
          { measure: 'notional', unit: 'USDT', window: '1d', cap: '1000' },
          { measure: 'orders', window: '1h', cap: '5' },
        ],
      }),
    ).toEqual([
      'symbol ETH/USDT is outside your grant (yours: BTC/USDT)',
      'limit notional USDT per 1h cap 100.5 is above your own cap 100',
    ]);
    expect(
      wider(root, {
        name: 'x',
        limits: [
          { measure: 'orders', window: '1h', cap: '5' },
          { measure: 'orders', window: '60m', cap: '6' },
        ],
      }),
    ).toEqual(['limit orders per 1h is given twice']);
  });

  it("refuses a lifetime beyond maxTtl or the parent's own, and defaults to the longest allowed", () => {
    expect(wider(root, { name: 'x', ttl: '2h' })).toEqual([
      'ttl 2h is longer than agents.delegation.maxTtl (1h)',
    ]);
    const shortLived = child({}, 600_000);
    expect(wider(shortLived, { name: 'x', ttl: '11m' })).toEqual([
      'ttl 11m would outlive your own token (it expires at 2026-11-30T12:10:00.000Z)',
    ]);
    expect(planDelegation(deps, shortLived, { name: 'x' }).expiresAt).toEqual(
      new Date(t0.getTime() + 600_000),
    );
    expect(planDelegation(deps, root, { name: 'x' }).expiresAt).toEqual(new Date(t0.getTime() + 3_600_000));
  });

  it('refuses a chain deeper than maxDepth, and everything when delegation is off', () => {
    const deep = { ...child({}), id: 'alice/a/b', onBehalfOf: ['alice/a', 'alice'] };
    expect(wider(deep, { name: 'x' })).toEqual([
      'the chain would be 3 delegations deep; agents.delegation.maxDepth allows 2',
    ]);
    expect(
      planDelegation({ ...deps, config: { ...config, maxDepth: 0 } }, root, { name: 'x' }).wider,
    ).toEqual(['delegation is turned off here (agents.delegation.maxDepth: 0)']);
  });

  it('reads an absent list as "as much as the parent" and an empty one as "none"', () => {
    const none = planDelegation(deps, root, { name: 'x', accounts: [], actions: [], symbols: [] });
    expect(none.wider).toEqual([]);
    expect(none.grant).toEqual({ accounts: [], actions: [], symbols: [] });
    const narrowed = rightsOf({ ...child({}), grants: [{ tokenId: 't', ...none.grant }] }, policy);
    expect(narrowed).toEqual({ accounts: [], actions: new Set(['get_request']), symbols: [] });
    expect(planDelegation(deps, root, { name: 'x' }).grant).toEqual({});
  });

  it('refuses malformed requests with the field named', () => {
    const invalid = (input: unknown, message: RegExp): void => {
      let err: unknown;
      try {
        planDelegation(deps, root, input);
      } catch (e) {
        err = e;
      }
      expect(isCofreError(err, 'COFRE_INPUT_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(message);
    };
    invalid({}, /name:/);
    invalid({ name: 'Bad/Name' }, /name: invalid name/);
    invalid({ name: 'x', actions: ['fly'] }, /actions\.0:/);
    invalid({ name: 'x', symbols: ['btcusdt'] }, /symbols\.0: invalid symbol/);
    invalid(
      { name: 'x', limits: [{ measure: 'notional', window: '1h', cap: '1' }] },
      /limits\.0\.unit: a notional limit needs its unit/,
    );
    invalid(
      { name: 'x', limits: [{ measure: 'orders', unit: 'USDT', window: '1h', cap: '1' }] },
      /give no unit/,
    );
    invalid({ name: 'x', limits: [{ measure: 'orders', window: '1h', cap: '-1' }] }, /limits\.0\.cap/);
    invalid({ name: 'x', ttl: 'soon' }, /ttl: invalid duration/);
    invalid({ name: 'x', extra: true }, /Unrecognized key/);
  });
});

describe('mintDelegation', () => {
  it('issues a child that authenticates with its chain and grants, and dies with its parent', async () => {
    const state = new SqliteStateStore(':memory:');
    const issued = await issueAgentToken(state, {
      id: 'alice',
      policy: 'trader',
      ttlMs: 86_400_000,
      now: t0,
    });
    const parent: AuthenticatedAgent = {
      ...root,
      credential: { kind: 'agent', tokenId: issued.agent.tokenId, expiresAt: issued.agent.expiresAt },
    };
    const minted = await mintDelegation({ ...deps, state }, parent, { name: 'scout', accounts: ['paper'] });
    expect(minted.agent).toBe('alice/scout');
    const agent = await authenticateAgentSession(state, minted.token, t0);
    expect(agent).toMatchObject({
      id: 'alice/scout',
      policy: 'trader',
      via: 'delegation',
      onBehalfOf: ['alice'],
      grants: [{ tokenId: minted.grant.tokenId, accounts: ['paper'] }],
    });
    const grandchild = await mintDelegation({ ...deps, state }, agent, {
      name: 'probe',
      actions: ['get_balance'],
    });
    expect(grandchild.agent).toBe('alice/scout/probe');
    expect(grandchild.onBehalfOf).toEqual(['alice/scout', 'alice']);
    expect((await authenticateAgentSession(state, grandchild.token, t0)).grants).toHaveLength(2);

    state.revokeAgent('alice', t0);
    for (const token of [minted.token, grandchild.token]) {
      const err = await authenticateAgentSession(state, token, t0).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_UNAUTHENTICATED')).toBe(true);
    }
  });

  it('delegates from an exchanged session: the child dies when that session is revoked', async () => {
    const state = new SqliteStateStore(':memory:');
    const exchanged = await issueAgentSession(state, {
      agentId: 'k8s-bot',
      policy: 'trader',
      kind: 'exchange',
      subject: 'https://k8s.example system:serviceaccount:trading:bot',
      now: t0,
      expiresAt: new Date(t0.getTime() + 600_000),
    });
    const parent = await authenticateAgentSession(state, exchanged.token, t0);
    const minted = await mintDelegation({ ...deps, state }, parent, {
      name: 'helper',
      actions: ['get_ticker'],
    });
    // Never beyond the exchanged token's own ten minutes.
    expect(minted.expiresAt).toEqual(new Date(t0.getTime() + 600_000));
    expect((await authenticateAgentSession(state, minted.token, t0)).onBehalfOf).toEqual(['k8s-bot']);
    // Only the exchanged session is revoked: the child stops because its ancestor did.
    expect(state.revokeAgentSession(exchanged.session.tokenId, t0)).toBe(true);
    const err = await authenticateAgentSession(state, minted.token, t0).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_UNAUTHENTICATED')).toBe(true);
  });

  it('refuses with COFRE_DELEGATION_REFUSED naming every wider right, and issues nothing', async () => {
    const state = new SqliteStateStore(':memory:');
    const err = await mintDelegation({ ...deps, state }, root, {
      name: 'x',
      accounts: ['other'],
      actions: ['cancel_all_orders'],
      ttl: '2h',
    }).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_DELEGATION_REFUSED')).toBe(true);
    expect((err as Error).message).toMatch(/account "other".*action cancel_all_orders.*ttl 2h/);
    expect(state.listAgentSessions({ now: t0 })).toEqual([]);
  });

  it('refuses a caller whose token cannot delegate', async () => {
    const state = new SqliteStateStore(':memory:');
    const err = await mintDelegation(
      { ...deps, state },
      { id: 'op', policy: 'trader' },
      { name: 'x', ttl: '1m' },
    ).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_DELEGATION_REFUSED')).toBe(true);
    expect((err as Error).message).toBe('not minted: this caller cannot delegate');
  });
});
