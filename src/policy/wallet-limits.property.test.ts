// Property (issue 19): for any sequence of transactions and typed data — native value, token transfers and
// approvals of ETH and USDC, from three wallets, priced or not, some unlimited approvals — decided by the engine
// and reserved on the real SQLite ledger as the broker does (decide, then `reserve` the decision's checks, then
// commit or release, or leave the outcome unknown), with the clock moving so windows roll: the ETH each wallet
// moved, the USDC `hot` moved and the value moved never exceed their caps within their windows. The sums are the
// model's, worked out from the transactions themselves, so a check the engine forgot (a move not counted, a wallet
// not scoped) would show as a cap exceeded. Also: an unpriced transaction and an unlimited approval are never allowed.
//
// Replay a failure with the seed fast-check reports: COFRE_PROPERTY_SEED=<seed>; COFRE_PROPERTY_RUNS sets the runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { expect, it } from 'vitest';

import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import type { ResolvedMove } from './policy-types.js';
import { sendQuestion, transaction, walletEngine } from './testdata/wallet-policy.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const policy = walletEngine(`  p:
    rules:
      - allow: [send_transaction, sign_typed_data]
        wallets: ['*']
      - allow: [send_transaction, sign_typed_data]
        functions: [approve, permit]
        maxAmount: 100000
    limits:
      - { name: eth-per-wallet, per: wallet, window: 24h, transfers: 2, asset: ETH }
      - { name: usdc-hot, per: agent, window: 1h, transfers: 5000, asset: USDC, wallets: [hot] }
      - { name: value, per: agent, window: 24h, notional: 10000, quote: USDC }
`);

const PRICE: Readonly<Record<string, bigint>> = { ETH: 3000n, USDC: 1n };

/** Amounts in millionths: exact for the ledger (8 fraction digits) and for the model. */
const MICRO = 1_000_000n;
const text = (micro: bigint): string =>
  `${micro / MICRO}.${(micro % MICRO).toString().padStart(6, '0')}`.replace(/\.?0+$/, '') || '0';

interface Move {
  readonly kind: ResolvedMove['kind'];
  readonly asset: 'ETH' | 'USDC';
  readonly micro: bigint;
  readonly to: string;
}
interface Op {
  readonly wallet: 'hot' | 'treasury' | 'l2';
  readonly typedData: boolean;
  readonly moves: readonly Move[];
  readonly priced: boolean;
  readonly unlimited: boolean;
  readonly outcome: 'commit' | 'release' | 'unknown';
  readonly advanceMs: number;
}

const moveArb: fc.Arbitrary<Move> = fc.record({
  kind: fc.constantFrom('value', 'transfer', 'approval'),
  asset: fc.constantFrom('ETH', 'USDC'),
  micro: fc.oneof(fc.bigInt({ min: 0n, max: 3n * MICRO }), fc.bigInt({ min: 0n, max: 6000n * MICRO })),
  to: fc.constantFrom('alice', 'bob', 'cold', 'router'),
});
const opArb: fc.Arbitrary<Op> = fc.record({
  wallet: fc.constantFrom('hot', 'treasury', 'l2'),
  typedData: fc.boolean(),
  moves: fc.array(moveArb, { minLength: 0, maxLength: 3 }),
  priced: fc.integer({ min: 0, max: 9 }).map((n) => n !== 0),
  unlimited: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  outcome: fc.constantFrom('commit', 'release', 'unknown'),
  // Odd milliseconds: no commit lands exactly on a window's edge.
  advanceMs: fc.integer({ min: 0, max: 3 * HOUR }).map((ms) => ms * 2 + 1),
});

interface Counted {
  readonly id: string;
  readonly wallet: string;
  readonly eth: bigint;
  readonly usdc: bigint;
  readonly value: bigint;
  /** Commit time, or undefined while reserved (counts until settled, then its window). */
  at: number | undefined;
  released: boolean;
}

/** The caps, over what the model counts at `now`: reserved, or committed within the window. */
function exceeded(counted: readonly Counted[], now: number): string | undefined {
  const live = (c: Counted, windowMs: number) => !c.released && (c.at === undefined || c.at > now - windowMs);
  for (const wallet of ['hot', 'treasury', 'l2']) {
    const eth = counted.filter((c) => c.wallet === wallet && live(c, DAY)).reduce((s, c) => s + c.eth, 0n);
    if (eth > 2n * MICRO) return `wallet ${wallet} moved ${text(eth)} ETH in 24 h (cap 2)`;
  }
  const usdc = counted.filter((c) => c.wallet === 'hot' && live(c, HOUR)).reduce((s, c) => s + c.usdc, 0n);
  if (usdc > 5000n * MICRO) return `hot moved ${text(usdc)} USDC in 1 h (cap 5000)`;
  const value = counted.filter((c) => live(c, DAY)).reduce((s, c) => s + c.value, 0n);
  if (value > 10_000n * MICRO) return `value ${text(value)} USDC in 24 h (cap 10000)`;
  return undefined;
}

it('no sequence of transactions lets a transfers or notional cap be exceeded', () => {
  const seed = process.env['COFRE_PROPERTY_SEED'];
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
      const dir = mkdtempSync(join(tmpdir(), 'cofre-wallet-limits-'));
      const store = new SqliteStateStore(join(dir, 'state.db'));
      try {
        let now = 1_800_000_000_000;
        const counted: Counted[] = [];
        for (const [i, op] of ops.entries()) {
          now += op.advanceMs;
          const sum = (asset: string) =>
            op.moves.filter((m) => m.asset === asset).reduce((s, m) => s + m.micro, 0n);
          const value = op.moves.reduce((s, m) => s + m.micro * (PRICE[m.asset] ?? 0n), 0n);
          const tx = transaction(
            op.moves.map((m) => ({ kind: m.kind, asset: m.asset, amount: text(m.micro), to: m.to })),
            {
              wallet: op.wallet,
              kind: op.typedData ? 'permit' : 'transaction',
              function: op.typedData ? 'permit' : undefined,
              unlimitedApproval: op.unlimited,
              notional: op.priced ? { quote: 'USDC', amount: text(value) } : undefined,
            },
          );
          const action = op.typedData ? 'sign_typed_data' : 'send_transaction';
          const decision = policy.decide(sendQuestion(tx, { action }));
          if (!op.priced || op.unlimited) expect(decision.decision).toBe('deny');
          if (decision.decision !== 'allow') continue;
          const id = `r${String(i)}`;
          const reserved = store.reserve(id, decision.limits, new Date(now));
          if (!reserved.ok) continue;
          const entry: Counted = {
            id,
            wallet: op.wallet,
            eth: sum('ETH'),
            usdc: sum('USDC'),
            value,
            at: undefined,
            released: false,
          };
          counted.push(entry);
          expect(exceeded(counted, now)).toBeUndefined();
          if (op.outcome === 'commit') {
            store.settleReservation(id, { kind: 'commit', at: new Date(now) });
            entry.at = now;
          } else if (op.outcome === 'release') {
            store.settleReservation(id, { kind: 'release' });
            entry.released = true;
          }
        }
      } finally {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    {
      numRuns: Number(process.env['COFRE_PROPERTY_RUNS'] ?? 60),
      ...(seed === undefined ? {} : { seed: Number(seed) }),
    },
  );
}, 120_000);
