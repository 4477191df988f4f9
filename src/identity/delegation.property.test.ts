// Issue 17, the delegation guarantee: any chain of delegations yields rights within its parent's. For random chains
// (random grants, many trying to widen) and random requests: a widening request is refused and one within the
// parent's rights is minted; whatever a child is allowed, every ancestor is allowed too, on budgets that include
// every ancestor's; and revoking any ancestor stops every descendant at its next request, and no one above it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ActionName } from '../broker/actions.js';
import { authenticateAgent, issueAgentToken } from '../broker/agent-tokens.js';
import { decideFor } from '../broker/delegation-gate.js';
import type { AccountConfig } from '../config/config-schema.js';
import { policySchema } from '../config/policy-config.js';
import { isCofreError } from '../errors.js';
import type { PolicyQuestion } from '../policy/policy-types.js';
import { RulePolicy } from '../policy/rule-policy.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { authenticateAgentSession } from './agent-sessions.js';
import { mintDelegation, type MintedDelegation } from './delegation.js';

const t0 = new Date('2026-11-30T12:00:00Z');
const HOUR = 3_600_000;
const ACCOUNT: AccountConfig = {
  venue: 'binance',
  mode: 'paper',
  credentials: { apiKey: 'local:k#a', secret: 'local:k#s' },
};
const ACCOUNTS = ['a', 'b', 'c'] as const;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDC'] as const;
const ACTIONS: readonly ActionName[] = [
  'list_accounts',
  'get_limits',
  'get_balance',
  'get_ticker',
  'get_open_orders',
  'preview_order',
  'place_order',
  'cancel_order',
  'cancel_all_orders',
  'withdraw',
];
const WITHOUT_ACCOUNT: ReadonlySet<ActionName> = new Set(['list_accounts', 'get_limits']);
/** Actions about one market, which a grant's `symbols` holds to its markets. */
const MARKET_ACTIONS: ReadonlySet<ActionName> = new Set([
  'get_ticker',
  'get_open_orders',
  'preview_order',
  'place_order',
  'cancel_order',
  'cancel_all_orders',
]);

const policy = new RulePolicy({
  policies: {
    trader: policySchema.parse({
      rules: [
        {
          allow: [
            'list_accounts',
            'get_limits',
            'get_balance',
            'get_ticker',
            'preview_order',
            'place_order',
            'cancel_order',
          ],
          accounts: ['a', 'b'],
          maxNotional: 3000,
        },
        { allow: ['withdraw'], accounts: ['a'] },
      ],
      limits: [{ per: 'agent', window: '1h', notional: 1000, quote: 'USDT' }],
    }),
  },
  accounts: { a: ACCOUNT, b: ACCOUNT, c: ACCOUNT },
  now: () => t0,
});
const config = { maxDepth: 3, maxTtl: HOUR };

/** What the test expects a link of the chain to hold, kept apart from the code under test. */
interface Model {
  readonly accounts: ReadonlySet<string>;
  readonly actions: ReadonlySet<string>;
  readonly symbols: ReadonlySet<string> | undefined;
  /** Lowest cap per `measure unit window` over the chain's grants. */
  readonly caps: ReadonlyMap<string, number>;
  readonly expiresAt: number;
  readonly depth: number;
}

const ROOT: Model = {
  accounts: new Set(['a', 'b']),
  actions: new Set([
    'list_accounts',
    'get_limits',
    'get_balance',
    'get_ticker',
    'preview_order',
    'place_order',
    'cancel_order',
    'withdraw',
  ]),
  symbols: undefined,
  caps: new Map(),
  expiresAt: t0.getTime() + 24 * HOUR,
  depth: 0,
};

const limitArb = fc.record({
  measure: fc.constantFrom('notional' as const, 'orders' as const),
  cap: fc.constantFrom(50, 400, 1000, 5000),
});
/** Mostly within `usual` (so chains grow deep), sometimes from `all` (an attempt to widen). */
function mostlyWithin<T>(usual: readonly T[], all: readonly T[]): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.subarray([...usual]) },
    { weight: 1, arbitrary: fc.subarray([...all]) },
  );
}
const stepArb = fc.record(
  {
    accounts: mostlyWithin(['a', 'b'], ACCOUNTS),
    actions: mostlyWithin([...ROOT.actions] as ActionName[], ACTIONS),
    symbols: fc.subarray([...SYMBOLS]),
    limits: fc.array(limitArb, { maxLength: 2 }),
    ttlMinutes: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 60 }) },
      fc.integer({ min: 1, max: 90 }),
    ),
  },
  { requiredKeys: [] },
);
const requestArb = fc.record({
  action: fc.constantFrom(...ACTIONS),
  account: fc.constantFrom(...ACCOUNTS),
  symbol: fc.option(fc.constantFrom(...SYMBOLS), { nil: undefined }),
  amount: fc.constantFrom('0.001', '0.01', '0.04'),
});

type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;
type Request = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function limitKey(measure: string): string {
  return measure === 'notional' ? 'notional USDT 1h' : 'orders 1h';
}

/** Whether `step` asks for more than `parent` holds, by the model; and the child's model if not. */
function expected(parent: Model, step: Step): Model | undefined {
  const within = <T>(asked: readonly T[] | undefined, held: ReadonlySet<T> | undefined) =>
    asked === undefined || held === undefined || asked.every((x) => held.has(x));
  if (parent.depth + 1 > config.maxDepth) return undefined;
  if (!within(step.accounts, parent.accounts) || !within(step.actions, parent.actions)) return undefined;
  if (!within(step.symbols, parent.symbols)) return undefined;
  const keys = (step.limits ?? []).map((l) => limitKey(l.measure));
  if (new Set(keys).size !== keys.length) return undefined;
  const caps = new Map(parent.caps);
  for (const limit of step.limits ?? []) {
    const key = limitKey(limit.measure);
    const held = parent.caps.get(key);
    if (held !== undefined && limit.cap > held) return undefined;
    caps.set(key, Math.min(limit.cap, held ?? Infinity));
  }
  const latest = Math.min(t0.getTime() + config.maxTtl, parent.expiresAt);
  const expiresAt = step.ttlMinutes === undefined ? latest : t0.getTime() + step.ttlMinutes * 60_000;
  if (expiresAt > latest) return undefined;
  return {
    accounts: step.accounts === undefined ? parent.accounts : new Set(step.accounts),
    actions: step.actions === undefined ? parent.actions : new Set(step.actions),
    symbols: step.symbols === undefined ? parent.symbols : new Set(step.symbols),
    caps,
    expiresAt,
    depth: parent.depth + 1,
  };
}

function inputOf(step: Step, i: number): Record<string, unknown> {
  return {
    name: `n${i}`,
    ...(step.accounts === undefined ? {} : { accounts: step.accounts }),
    ...(step.actions === undefined ? {} : { actions: step.actions }),
    ...(step.symbols === undefined ? {} : { symbols: step.symbols }),
    ...(step.limits === undefined
      ? {}
      : {
          limits: step.limits.map((l) => ({
            measure: l.measure,
            ...(l.measure === 'notional' ? { unit: 'USDT' } : {}),
            window: '1h',
            cap: String(l.cap),
          })),
        }),
    ...(step.ttlMinutes === undefined ? {} : { ttl: `${step.ttlMinutes}m` }),
  };
}

function questionOf(r: Request): PolicyQuestion {
  const account = WITHOUT_ACCOUNT.has(r.action) ? undefined : r.account;
  const symbol = r.symbol ?? 'BTC/USDT';
  const [base = '', quote = ''] = symbol.split('/');
  const order =
    r.action === 'place_order' || r.action === 'preview_order'
      ? {
          symbol,
          base,
          quote,
          side: 'buy' as const,
          type: 'limit' as const,
          amount: r.amount,
          price: '60000',
          referencePrice: '60000',
          notional: String(Number(r.amount) * 60000),
        }
      : undefined;
  return {
    agentId: 'root',
    policy: 'trader',
    action: r.action,
    account,
    symbol: order === undefined ? r.symbol : symbol,
    ...(order === undefined ? {} : { order }),
  };
}

/** A chain built from random steps: the root, then every link minted (a refused step is skipped). */
async function buildChain(state: SqliteStateStore, steps: readonly Step[]) {
  const rootToken = await issueAgentToken(state, { id: 'root', policy: 'trader', ttlMs: 24 * HOUR, now: t0 });
  const links = [
    { token: rootToken.token, agent: await authenticateAgent(state, rootToken.token, t0), model: ROOT },
  ];
  for (const [i, step] of steps.entries()) {
    const parent = links.at(-1)!;
    const model = expected(parent.model, step);
    let minted: MintedDelegation | undefined;
    let error: unknown;
    try {
      minted = await mintDelegation({ state, policy, config, now: t0 }, parent.agent, inputOf(step, i));
    } catch (err) {
      error = err;
    }
    if (model === undefined) {
      // SECURITY: a widening attempt is refused, and issues nothing.
      expect(isCofreError(error, 'COFRE_DELEGATION_REFUSED'), JSON.stringify(inputOf(step, i))).toBe(true);
      continue;
    }
    if (minted === undefined) throw error;
    links.push({
      token: minted.token,
      agent: await authenticateAgentSession(state, minted.token, t0),
      model,
    });
  }
  return links;
}

describe('delegation chains', () => {
  it("never widen: a child's allow implies each ancestor's, on every budget of theirs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 4 }),
        fc.array(requestArb, { minLength: 1, maxLength: 12 }),
        async (steps, requests) => {
          const state = new SqliteStateStore(':memory:');
          const links = await buildChain(state, steps);
          for (const request of requests) {
            const question = questionOf(request);
            const decisions = links.map((l) => decideFor(policy, l.agent, question));
            for (let i = 1; i < links.length; i++) {
              const [parent, child] = [decisions[i - 1]!, decisions[i]!];
              if (child.decision === 'deny') continue;
              expect(parent.decision).not.toBe('deny');
              const childKeys = new Set(child.limits.map((c) => c.key));
              for (const check of parent.limits) expect(childKeys).toContain(check.key);
              // And within what the model says the child holds.
              const { model } = links[i]!;
              expect(model.actions.has(request.action)).toBe(true);
              if (question.account !== undefined) expect(model.accounts.has(question.account)).toBe(true);
              if (model.symbols !== undefined && MARKET_ACTIONS.has(request.action))
                expect(model.symbols.has(question.symbol ?? '')).toBe(true);
            }
          }
          state.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stop below a revoked ancestor at the next request, and only below it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 3 }), fc.nat(), async (steps, pick) => {
        const state = new SqliteStateStore(':memory:');
        const links = await buildChain(state, steps);
        const revoked = pick % links.length;
        const target = links[revoked]!.agent.credential;
        if (target?.kind === 'agent') state.revokeAgent('root', t0);
        else if (target?.kind === 'session') state.revokeAgentSession(target.tokenId, t0);
        for (const [i, link] of links.entries()) {
          const auth = i === 0 ? authenticateAgent : authenticateAgentSession;
          const answer = await auth(state, link.token, t0).catch((err: unknown) => err);
          if (i < revoked) expect(isCofreError(answer)).toBe(false);
          else expect(isCofreError(answer, 'COFRE_UNAUTHENTICATED')).toBe(true);
        }
        state.close();
      }),
      { numRuns: 200 },
    );
  });
});
