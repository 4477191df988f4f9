// Issue 19's concurrency property, through the served broker on ganache: concurrent send_transaction calls against a
// rolling `transfers` cap never move more than the cap on chain, and the wallet's nonces have no gap and no reuse,
// across RPC failures injected at the node's proxy (refusals, answers lost after the node got the transaction,
// failed look-ups) and a restart of cofre between two bursts (the nonce state is the state store's).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreClient } from '../../src/client/index.js';
import { type GanachePeer, startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startWalletFixture, type WalletFixture } from './wallet-fixture.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));
const CAP_WEI = 10n ** 18n; // 1 ETH per wallet per hour
let w: WalletFixture | undefined;

beforeAll(async () => {
  if (ganache === undefined) return;
  w = await startWalletFixture(ganache, undefined, {
    limits: [
      '    limits:',
      '      - { name: hourly-eth, per: wallet, window: 1h, transfers: 1, asset: ETH }',
    ],
  });
  await ganache.fund(w.embeddedAddress, 100n * 10n ** 18n);
}, 120_000);

afterAll(async () => {
  await w?.close();
  await ganache?.stop();
});

interface ChainTx {
  readonly hash: string;
  readonly from: string;
  readonly nonce: string;
  readonly value: string;
}

/** Every transaction the wallet sent that is in a block from `fromBlock` on. */
async function sentSince(g: GanachePeer, address: string, fromBlock: number): Promise<ChainTx[]> {
  const latest = Number(await g.rpc<string>('eth_blockNumber'));
  const out: ChainTx[] = [];
  for (let b = fromBlock; b <= latest; b++) {
    const block = await g.rpc<{ transactions: ChainTx[] }>('eth_getBlockByNumber', [
      `0x${b.toString(16)}`,
      true,
    ]);
    out.push(
      ...block.transactions
        .map((t) => ({ ...t, block: b }))
        .filter((t) => t.from.toLowerCase() === address.toLowerCase()),
    );
  }
  return out;
}

/** One entry per transaction hash (ganache 7.9.2 may put the same signed bytes in two blocks when sent twice). */
function unique(txs: readonly ChainTx[]): ChainTx[] {
  return [...new Map(txs.map((t) => [t.hash, t])).values()];
}

/** A failure injected at the node's proxy before a burst. */
const failureArb = fc.constantFrom(
  { method: 'eth_sendRawTransaction', times: 4, mode: 'error' as const }, // refused: nothing reaches the node
  { method: 'eth_sendRawTransaction', times: 1, mode: 'drop-after' as const }, // the node has it, the answer is lost
  { method: 'eth_getTransactionCount', times: 2, mode: 'error' as const }, // no nonce can be asked
  { method: 'eth_getTransactionByHash', times: 2, mode: 'error' as const }, // a look-up after a failure fails
);

let run = 0;
/** What the answers were, over all runs: the property must not hold only because nothing was tried. */
const seen = new Map<string, number>();
/** Refusals that name the nonce: a reused (too low) or skipped one. */
const nonceErrors: string[] = [];

async function burst(bot: CofreClient, amounts: readonly string[]): Promise<void> {
  const answers = await Promise.all(
    amounts.map((value) => {
      run += 1;
      return bot.call('send_transaction', {
        wallet: 'dev',
        to: 'treasury',
        value,
        clientTxId: `burst-${run}`,
      });
    }),
  );
  for (const a of answers) {
    if (/correct nonce|nonce too (low|high)/i.test(a.error?.message ?? ''))
      nonceErrors.push(a.error?.message ?? '');
    const key = a.status === 'failed' ? `failed ${a.error?.code ?? '?'}` : a.status;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
}

describe.skipIf(ganache === undefined)('concurrent sends under a rolling cap', () => {
  it('never exceed the cap on chain, and leave no nonce gap or reuse, across failures and a restart', async () => {
    const g = ganache!;
    const fx = w!.fx;
    const address = w!.embeddedAddress;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
        fc.array(failureArb, { maxLength: 2 }),
        fc.boolean(),
        async (first, second, failures, restart) => {
          // A fresh hour: the rolling window of the earlier runs has passed.
          fx.advance(2 * 3_600_000);
          const fromBlock = Number(await g.rpc<string>('eth_blockNumber')) + 1;
          const bot = await w!.clientFor(`bot-${run}`);
          const tenths = (n: number): string => `0.${String(n)}`;
          for (const f of failures) g.failNext(f.method, f.times, f.mode);
          await burst(bot, first.map(tenths));
          if (restart) await fx.restart();
          const again = restart ? await w!.clientFor(`bot-${run}-after`) : bot;
          await burst(again, second.map(tenths));
          const sent = await sentSince(g, address, fromBlock);
          const moved = unique(sent).reduce((sum, t) => sum + BigInt(t.value), 0n);
          expect(moved <= CAP_WEI, `moved ${moved} wei, cap ${CAP_WEI}`).toBe(true);
          // Nonces: every transaction the wallet ever sent, 0..n-1 without gap or reuse; none stuck in the pool.
          const all = await sentSince(g, address, 0);
          const nonces = unique(all)
            .map((t) => Number(t.nonce))
            .sort((a, b) => a - b);
          expect(nonces, JSON.stringify(all)).toEqual(nonces.map((_, i) => i));
          const pool = await g.rpc<{ pending: Record<string, unknown>; queued: Record<string, unknown> }>(
            'txpool_content',
          );
          expect(Object.keys(pool.queued)).toEqual([]);
          expect(Object.keys(pool.pending)).toEqual([]);
          expect(nonceErrors).toEqual([]);
        },
      ),
      { numRuns: 8 },
    );
    // Sends went through, others were denied at the cap, and injected failures were met.
    expect(seen.get('executed') ?? 0).toBeGreaterThan(0);
    expect(seen.get('denied') ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].some((k) => k.startsWith('failed'))).toBe(true);
  }, 300_000);
});
