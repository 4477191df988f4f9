// Vault killed mid-run and sealed, against real OpenBao dev servers: through a SecretResolver with a short TTL and
// stale-if-error, cached values are served until the stale bound, then COFRE_BACKEND_UNAVAILABLE; a server
// started again on the same address is used again once the circuit lets a probe through; a sealed server is
// COFRE_VAULT_SEALED.
import { afterAll, describe, expect, it } from 'vitest';

import { isCofreError } from '../../src/errors.js';
import { SecretResolver } from '../../src/secrets/secret-resolver.js';
import { VaultBackend } from '../../src/secrets/vault/vault-backend.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { type OpenBaoPeer, startOpenBao } from '../peers/peers.js';
import { baoApi, credentialDir, rejection, vaultConfig } from './vault-fixture.js';

const first = await peerOrSkip('OpenBao', startOpenBao);
const files = await credentialDir();
let second: OpenBaoPeer | undefined;

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await files.remove();
});

describe.skipIf(first === undefined)('vault outage on OpenBao', () => {
  it('serves cached values until the stale bound, then fails closed, then recovers on restart', async () => {
    const bao = first!;
    await baoApi(bao, 'POST', 'secret/data/exchanges/binance', { data: { api_key: 'before-outage' } });
    // The dev server's root token: the restarted server accepts the same one.
    const tokenFile = await files.file('token', bao.rootToken);
    const backend = await VaultBackend.open(
      'vault',
      vaultConfig(bao.addr, {
        auth: { method: 'token', tokenFile },
        kvVersion: 2,
        timeout: '1s',
        retry: { maxAttempts: 2, baseDelay: '20ms', maxDelay: '50ms', maxElapsed: '200ms' },
        circuitBreaker: { failureThreshold: 2, resetTimeout: '300ms' },
      }),
    );
    let now = 1_000_000;
    const resolver = new SecretResolver({
      backends: [backend],
      cache: { vault: { ttlMs: 1_000, staleIfErrorMs: 5_000 } },
      now: () => now,
    });
    const ref = 'vault:exchanges/binance#api_key';
    expect((await resolver.resolve(ref)).text()).toBe('before-outage');

    await bao.stop();

    now += 2_000; // past the TTL, within the stale bound: the backend fails, the cached value is served
    expect((await resolver.resolve(ref)).text()).toBe('before-outage');
    const direct = await rejection(backend.read('exchanges/binance', { kind: 'latest' }));
    expect(isCofreError(direct, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);

    now += 5_000; // past TTL + staleIfError: fail closed with a clear error
    const err = await rejection(resolver.resolve(ref));
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(bao.addr);
    expect((err as Error).message).toContain('vault:exchanges/binance');

    // Repeated failures opened the circuit: requests now fail fast without touching the network.
    const fast = await rejection(backend.read('exchanges/binance', { kind: 'latest' }));
    expect((fast as Error).message).toContain('circuit open');

    // The server comes back on the same address (fresh and empty, as after a restore).
    second = await startOpenBao({ port: Number(new URL(bao.addr).port), rootToken: bao.rootToken });
    await baoApi(second, 'POST', 'secret/data/exchanges/binance', { data: { api_key: 'after-recovery' } });
    now += 1_000;
    const deadline = Date.now() + 15_000;
    let value: string | undefined;
    while (value === undefined && Date.now() < deadline) {
      value = await resolver.resolve(ref).then(
        (v) => v.text(),
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        },
      );
    }
    expect(value).toBe('after-recovery');

    // Sealed: a distinct, clear error.
    await baoApi(second, 'POST', 'sys/seal');
    const sealed = await rejection(backend.read('exchanges/binance', { kind: 'latest' }));
    expect(isCofreError(sealed, 'COFRE_VAULT_SEALED')).toBe(true);
    expect((sealed as Error).message).toContain('sealed');
    expect((sealed as Error).message).toContain('vault:exchanges/binance');
    await resolver.close();
  });
});
