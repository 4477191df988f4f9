// The nonce property tests' chain side (nonce-manager*.integration.test.ts): a fresh funded wallet on ganache, a
// send whose fate the test picks (through test/peers/ganache.ts's failure-injecting proxy), and the check that the
// chain shows no gap and no reuse.
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
import { expect } from 'vitest';

import type { GanachePeer } from '../../../test/peers/ganache.js';
import { SecretValue } from '../../secrets/secret-value.js';
import type { NonceManager, NonceOutcome } from '../nonce-manager.js';
import { EmbeddedSigner } from '../signers/embedded-signer.js';

/** How one send goes. */
export type Fate =
  /** The node takes it and answers. */
  | 'ok'
  /** The RPC refuses it before it reaches the node (the proxy answers an error): not-sent. */
  | 'refused'
  /** The node takes it but the answer is lost (the proxy cuts the connection after forwarding): unknown. */
  | 'lost-answer'
  /** The send times out before anything reached the node: unknown, and it never landed. */
  | 'timeout-before'
  /** The send throws before broadcasting (signing failed): the manager counts it unknown. */
  | 'throws';

/** Any fate, successes twice as likely as each failure. */
export const fateArb: fc.Arbitrary<Fate> = fc.constantFrom<Fate>(
  'ok',
  'ok',
  'refused',
  'lost-answer',
  'timeout-before',
  'throws',
);

/** Fates that put a transaction on the chain. */
export const lands = (fate: Fate): boolean => fate === 'ok' || fate === 'lost-answer';

/** A fresh wallet funded on `g`, and a way to send from it under a nonce manager. */
export interface TestWallet {
  readonly address: `0x${string}`;
  /** The nonce manager's wallet key, `<chainId>:<lower-case address>`. */
  readonly wallet: string;
  /** Sends one transaction from the wallet that meets `fate`; rethrows nothing the fate did not ask for. */
  send(nonces: NonceManager, fate: Fate): Promise<void>;
  /** Sends the node refused although they should have been taken (a reused nonce is "nonce too low"). */
  readonly refused: readonly string[];
  /** Asserts the chain shows the wallet's transactions as nonces 0…landed-1: nothing queued, nothing refused. */
  expectNoGapNoReuse(landed: number): Promise<void>;
}

/** A fresh random key (embedded signer), funded with 1 ETH on `g`. */
export async function newTestWallet(g: GanachePeer): Promise<TestWallet> {
  const client: PublicClient = createPublicClient({ transport: http(g.url, { retryCount: 0 }) });
  const keyHex = Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex');
  const signer = new EmbeddedSigner('local:wallets/test', {
    read: () => Promise.resolve(SecretValue.fromText(keyHex)),
  });
  const address = await signer.address();
  await g.fund(address, 10n ** 18n);
  const wallet = `${g.chainId}:${address.toLowerCase()}`;
  const pendingCount = (): Promise<number> => client.getTransactionCount({ address, blockTag: 'pending' });
  const refused: string[] = [];
  let value = 0n;

  const attempt = async (fate: Fate, nonce: number): Promise<{ outcome: NonceOutcome; value: undefined }> => {
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
    const signature = await signer.signDigest(hexToBytes(keccak256(serializeTransaction(tx))));
    const raw = serializeTransaction(tx, signature);
    if (fate === 'timeout-before') return { outcome: 'unknown', value: undefined };
    // Sends of one wallet run one at a time, so the proxy's next send is this one.
    if (fate === 'refused') g.failNext('eth_sendRawTransaction', 1, 'error');
    if (fate === 'lost-answer') g.failNext('eth_sendRawTransaction', 1, 'drop-after');
    try {
      await client.request({ method: 'eth_sendRawTransaction', params: [raw] });
      return { outcome: 'broadcast', value: undefined };
    } catch (err) {
      if (fate === 'ok') refused.push(String(err));
      return { outcome: fate === 'refused' ? 'not-sent' : 'unknown', value: undefined };
    }
  };

  return {
    address,
    wallet,
    refused,
    send: (nonces, fate) =>
      nonces
        .withNextNonce(wallet, pendingCount, (nonce) => attempt(fate, nonce))
        .catch((err: unknown) => {
          if (fate !== 'throws') throw err;
        }),
    expectNoGapNoReuse: async (landed) => {
      expect(refused).toEqual([]);
      const pool = await g.rpc<{ queued: Record<string, Record<string, unknown>> }>('txpool_content');
      const queued = Object.keys(pool.queued).filter((from) => from.toLowerCase() === address.toLowerCase());
      expect(queued).toEqual([]);
      expect(await client.getTransactionCount({ address, blockTag: 'latest' })).toBe(landed);
    },
  };
}
