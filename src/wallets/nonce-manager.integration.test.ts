// The nonce manager against a real chain (ganache 7.9.2 behind test/peers/ganache.ts's failure-injecting proxy):
// random batches of concurrent sends, each failing before the broadcast, after it (the node got it, the answer was
// lost), or not at all, with restarts (the state store closed and reopened, a new manager) in between; afterwards
// the wallet's transactions on the chain have nonces 0…n-1: no gap (nothing queued behind a missing nonce) and no
// reuse (no send was refused for its nonce, none replaced another).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { secp256k1 } from '@noble/curves/secp256k1';
import fc from 'fast-check';
import {
  createPublicClient,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  serializeTransaction,
  type TransactionSerializableEIP1559,
} from 'viem';
import { afterAll, describe, expect, it } from 'vitest';

import { startGanache } from '../../test/peers/ganache.js';
import { peerOrSkip } from '../../test/peers/peer-or-skip.js';
import { SecretValue } from '../secrets/secret-value.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { createNonceManager, type NonceManager, type NonceOutcome } from './nonce-manager.js';
import { EmbeddedSigner } from './signers/embedded-signer.js';

const ganache = await peerOrSkip('ganache', () => startGanache());

afterAll(async () => {
  await ganache?.stop();
});

/** How one send goes. */
type Fate =
  /** The node takes it and answers. */
  | 'ok'
  /** The RPC refuses it before it reaches the node (proxy answers an error): not-sent. */
  | 'refused'
  /** The node takes it but the answer is lost (proxy cuts the connection after forwarding): unknown. */
  | 'lost-answer'
  /** The send times out before anything reached the node: unknown, and it never landed. */
  | 'timeout-before'
  /** The send throws before broadcasting (signing failed): the manager counts it unknown. */
  | 'throws';

type Step = { readonly kind: 'restart' } | { readonly kind: 'batch'; readonly fates: readonly Fate[] };

const fateArb = fc.constantFrom<Fate>('ok', 'ok', 'refused', 'lost-answer', 'timeout-before', 'throws');
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  {
    weight: 4,
    arbitrary: fc
      .array(fateArb, { minLength: 1, maxLength: 3 })
      .map((fates) => ({ kind: 'batch' as const, fates })),
  },
);

describe.skipIf(ganache === undefined)('nonce manager against ganache', () => {
  it('leaves no gap and reuses no nonce across failures before and after broadcast and restarts', async () => {
    const g = ganache!;
    const client: PublicClient = createPublicClient({ transport: http(g.url, { retryCount: 0 }) });
    const dir = await mkdtemp(join(tmpdir(), 'cofre-nonces-'));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
          run++;
          const path = join(dir, `state-${run}.db`);
          const key = secp256k1.utils.randomPrivateKey();
          const keyHex = Buffer.from(key).toString('hex');
          const signer = new EmbeddedSigner('local:wallets/test', {
            read: () => Promise.resolve(SecretValue.fromText(keyHex)),
          });
          const address = await signer.address();
          await g.fund(address, 10n ** 18n);
          const wallet = `${g.chainId}:${address.toLowerCase()}`;
          const pendingCount = (): Promise<number> =>
            client.getTransactionCount({ address, blockTag: 'pending' });

          let state = new SqliteStateStore(path);
          let nonces: NonceManager = createNonceManager(state);
          const refusedForNonce: string[] = [];
          let value = 0n;
          try {
            for (const step of steps) {
              if (step.kind === 'restart') {
                state.close();
                state = new SqliteStateStore(path);
                nonces = createNonceManager(state);
                continue;
              }
              await Promise.all(
                step.fates.map((fate) =>
                  nonces
                    .withNextNonce(wallet, pendingCount, async (nonce) => {
                      if (fate === 'throws') throw new Error('signing failed');
                      value += 1n;
                      const tx: TransactionSerializableEIP1559 = {
                        type: 'eip1559',
                        chainId: g.chainId,
                        nonce,
                        to: '0x000000000000000000000000000000000000dEaD',
                        value,
                        gas: 21_000n,
                        maxFeePerGas: 20_000_000_000n,
                        maxPriorityFeePerGas: 1_000_000_000n,
                      };
                      const signature = await signer.signDigest(
                        hexToBytes(keccak256(serializeTransaction(tx))),
                      );
                      const raw = serializeTransaction(tx, signature);
                      if (fate === 'timeout-before')
                        return { outcome: 'unknown' as NonceOutcome, value: undefined };
                      if (fate === 'refused') g.failNext('eth_sendRawTransaction', 1, 'error');
                      if (fate === 'lost-answer') g.failNext('eth_sendRawTransaction', 1, 'drop-after');
                      try {
                        await client.request({ method: 'eth_sendRawTransaction', params: [raw] });
                        return { outcome: 'broadcast' as NonceOutcome, value: undefined };
                      } catch (err) {
                        if (fate === 'ok') refusedForNonce.push(String(err));
                        return {
                          outcome: (fate === 'refused' ? 'not-sent' : 'unknown') as NonceOutcome,
                          value: undefined,
                        };
                      }
                    })
                    .catch((err: unknown) => {
                      if (fate !== 'throws') throw err;
                    }),
                ),
              );
            }
          } finally {
            state.close();
          }
          // No reuse: no send the node should have taken was refused (a reused nonce is "nonce too low").
          expect(refusedForNonce).toEqual([]);
          // No gap: every transaction of the wallet was mined (instamine), none waits behind a missing nonce.
          const pool = await g.rpc<{ queued: Record<string, Record<string, unknown>> }>('txpool_content');
          const queued = Object.entries(pool.queued).filter(
            ([from]) => from.toLowerCase() === address.toLowerCase(),
          );
          expect(queued).toEqual([]);
          // And the mined ones are exactly nonces 0…n-1, each once, with the values the test sent (none replaced).
          const mined = await client.getTransactionCount({ address, blockTag: 'latest' });
          const expectedLanded = steps
            .flatMap((s) => (s.kind === 'batch' ? s.fates : []))
            .filter((f) => f === 'ok' || f === 'lost-answer').length;
          expect(mined).toBe(expectedLanded);
        }),
        { numRuns: 30 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
