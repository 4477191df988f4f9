import { describe, expect, it } from 'vitest';

import type { StateStore } from '../state-store.js';
import { type OpenStateStore, t, useStateStores } from './state-store-harness.js';

const W = '1337:0x00000000000000000000000000000000000000aa';

/**
 * The executable specification of {@link NonceStore} (nonce-store.ts): the lease is one holder's at a time (also
 * when two connections claim at once), expires, and the stored next nonce only moves forward and survives a reopen.
 * Every call is awaited, so a store may answer with values (SQLite) or promises (PostgreSQL).
 */
export function exerciseNonceStore(name: string, open: OpenStateStore): void {
  describe(`NonceStore conformance: ${name}`, () => {
    const stores = useStateStores(open);
    const store = (): StateStore => stores.store();

    it('has no stored nonce for a new wallet, and keeps what a release advances to across a reopen', async () => {
      expect(await store().claimNonce(W, 'a', t(0), t(1_000))).toEqual({ claimed: true, next: undefined });
      expect(await store().releaseNonce(W, 'a', 5)).toBe(true);
      const other = await stores.connect();
      expect(await other.claimNonce(W, 'b', t(10), t(1_000))).toEqual({ claimed: true, next: 5 });
      // A release without an advance leaves the nonce.
      expect(await other.releaseNonce(W, 'b')).toBe(true);
      expect(await store().claimNonce(W, 'a', t(20), t(1_000))).toEqual({ claimed: true, next: 5 });
      // Another wallet is independent.
      expect(await store().claimNonce('1337:0xbb', 'a', t(20), t(1_000))).toEqual({
        claimed: true,
        next: undefined,
      });
    });

    it('never moves the stored nonce backward', async () => {
      await store().claimNonce(W, 'a', t(0), t(1_000));
      await store().releaseNonce(W, 'a', 9);
      await store().claimNonce(W, 'a', t(1), t(1_000));
      await store().releaseNonce(W, 'a', 4);
      expect(await store().claimNonce(W, 'a', t(2), t(1_000))).toEqual({ claimed: true, next: 9 });
    });

    it('gives the lease to one holder until it is released or expires', async () => {
      expect((await store().claimNonce(W, 'a', t(0), t(1_000))).claimed).toBe(true);
      const busy = await store().claimNonce(W, 'b', t(500), t(1_500));
      expect(busy).toEqual({ claimed: false, holder: 'a', expires: t(1_000) });
      // The holder may take it again (renew); another only after it expires.
      expect((await store().claimNonce(W, 'a', t(600), t(2_000))).claimed).toBe(true);
      expect((await store().claimNonce(W, 'b', t(1_999), t(3_000))).claimed).toBe(false);
      expect((await store().claimNonce(W, 'b', t(2_000), t(3_000))).claimed).toBe(true);
      // The former holder's release no longer holds the lease, yet its broadcast nonce is recorded.
      expect(await store().releaseNonce(W, 'a', 3)).toBe(false);
      expect((await store().claimNonce(W, 'c', t(2_100), t(3_000))).claimed).toBe(false);
      expect(await store().releaseNonce(W, 'b')).toBe(true);
      expect(await store().claimNonce(W, 'c', t(2_200), t(3_000))).toEqual({ claimed: true, next: 3 });
    });

    it('gives the lease to exactly one of many connections claiming at once', async () => {
      const others = await Promise.all([1, 2, 3, 4, 5].map(() => stores.connect()));
      const answers = await Promise.all(
        others.map(async (s, i) => s.claimNonce(W, `h${i}`, t(0), t(60_000))),
      );
      expect(answers.filter((a) => a.claimed)).toHaveLength(1);
    });
  });
}
