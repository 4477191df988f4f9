// The nonce manager against a real chain (ganache 7.9.2 behind test/peers/ganache.ts's failure-injecting proxy), on
// SQLite state: random batches of concurrent sends, each failing before the broadcast, after it (the node got it,
// the answer was lost), or not at all, with restarts (the state store closed and reopened, a new manager) in
// between; afterwards the wallet's transactions on the chain have nonces 0…n-1: no gap (nothing queued behind a
// missing nonce) and no reuse (no send refused for its nonce, none replaced another).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';

import { startGanache } from '../../test/peers/ganache.js';
import { peerOrSkip } from '../../test/peers/peer-or-skip.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { createNonceManager } from './nonce-manager.js';
import { type Fate, fateArb, lands, newTestWallet } from './testdata/nonce-chain-run.js';

const ganache = await peerOrSkip('ganache', () => startGanache());

afterAll(async () => {
  await ganache?.stop();
});

type Step = { readonly kind: 'restart' } | { readonly kind: 'batch'; readonly fates: readonly Fate[] };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  {
    weight: 4,
    arbitrary: fc
      .array(fateArb, { minLength: 1, maxLength: 3 })
      .map((fates) => ({ kind: 'batch' as const, fates })),
  },
);

describe.skipIf(ganache === undefined)('nonce manager against ganache (SQLite state)', () => {
  it('leaves no gap and reuses no nonce across failures before and after broadcast and restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cofre-nonces-'));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
          const path = join(dir, `state-${++run}.db`);
          const w = await newTestWallet(ganache!);
          let state = new SqliteStateStore(path);
          let nonces = createNonceManager(state);
          try {
            for (const step of steps) {
              if (step.kind === 'restart') {
                state.close();
                state = new SqliteStateStore(path);
                nonces = createNonceManager(state);
              } else {
                await Promise.all(step.fates.map((fate) => w.send(nonces, fate)));
              }
            }
          } finally {
            state.close();
          }
          const landed = steps.flatMap((s) => (s.kind === 'batch' ? s.fates : [])).filter(lands).length;
          await w.expectNoGapNoReuse(landed);
        }),
        { numRuns: 30 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
