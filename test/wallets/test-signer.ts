// Test doubles of the signer and nonce-manager interfaces for tests below the broker: a signer over a private key
// held in the test (viem's reference `sign`), and a nonce manager that only asks the chain. The broker-level tests
// use the real ones.
import { privateKeyToAccount, sign } from 'viem/accounts';

import type { NonceManager } from '../../src/wallets/nonce-manager.js';
import type { Hex, TransactionSigner } from '../../src/wallets/signer.js';

export function privateKeySigner(privateKey: Hex): TransactionSigner {
  const account = privateKeyToAccount(privateKey);
  return {
    source: 'test private key',
    address: () => Promise.resolve(account.address),
    async signDigest(digest) {
      const hash: Hex = `0x${Buffer.from(digest).toString('hex')}`;
      const { r, s, yParity } = await sign({ hash, privateKey });
      return { r, s, yParity: yParity === 1 ? 1 : 0 };
    },
    close: () => Promise.resolve(),
  };
}

/** One send per wallet at a time, nonce = the chain's pending count (enough for tests of one process). */
export function chainNonceManager(): NonceManager {
  const queues = new Map<string, Promise<unknown>>();
  return {
    withNextNonce(wallet, pendingCount, send) {
      const run = (queues.get(wallet) ?? Promise.resolve()).then(async () => {
        const { value } = await send(await pendingCount());
        return value;
      });
      queues.set(
        wallet,
        run.catch(() => undefined),
      );
      return run;
    },
  };
}
