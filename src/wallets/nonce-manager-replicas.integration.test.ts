// The nonce manager on PostgreSQL state with several replicas (each its own pool, replica id and manager) sending
// for one wallet at the same time, against ganache: the wallet's lease in the database makes their sends take turns,
// so across failures before and after broadcast and replica restarts the chain shows no gap and no reuse.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';

import { startGanache } from '../../test/peers/ganache.js';
import { peerOrSkip } from '../../test/peers/peer-or-skip.js';
import { postgresStateTestFile } from '../../test/state/postgres-state-test-file.js';
import type { PostgresStateStore } from '../state/postgres/postgres-state-store.js';
import { createNonceManager, type NonceManager } from './nonce-manager.js';
import { fateArb, lands, newTestWallet } from './testdata/nonce-chain-run.js';

const file = await postgresStateTestFile();
const ganache = await peerOrSkip('ganache', () => startGanache());

afterAll(async () => {
  await ganache?.stop();
});

describe.skipIf(ganache === undefined)('nonce manager across PostgreSQL replicas against ganache', () => {
  it('leaves no gap and reuses no nonce when three replicas send for one wallet at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            // Each replica's sends in this round, run concurrently with the others'.
            sends: fc.tuple(
              fc.array(fateArb, { maxLength: 2 }),
              fc.array(fateArb, { maxLength: 2 }),
              fc.array(fateArb, { maxLength: 2 }),
            ),
            restart: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (rounds) => {
          const w = await newTestWallet(ganache!);
          const replicas: { store: PostgresStateStore; nonces: NonceManager }[] = [];
          const open = async () => {
            const store = await file.replica();
            return { store, nonces: createNonceManager(store, { pollMs: 5 }) };
          };
          try {
            for (let i = 0; i < 3; i++) replicas.push(await open());
            for (const round of rounds) {
              await Promise.all(
                round.sends.flatMap((fates, i) => fates.map((fate) => w.send(replicas[i]!.nonces, fate))),
              );
              if (round.restart !== undefined) {
                await replicas[round.restart]!.store.close();
                replicas[round.restart] = await open();
              }
            }
          } finally {
            // Closed here, not only after the test: each run opens its own, and the server's connections are few.
            for (const r of replicas) await r.store.close();
          }
          const landed = rounds.flatMap((r) => r.sends.flat()).filter(lands).length;
          await w.expectNoGapNoReuse(landed);
        },
      ),
      { numRuns: 15 },
    );
  }, 300_000);
});
