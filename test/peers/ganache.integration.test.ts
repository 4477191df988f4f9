import { afterAll, describe, expect, it } from 'vitest';

import { startGanache } from './ganache.js';
import { peerOrSkip } from './peer-or-skip.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));

afterAll(async () => {
  await ganache?.stop();
});

describe.skipIf(ganache === undefined)('startGanache', () => {
  it('reports its chain id, funds an address and counts transactions and send attempts', async () => {
    const g = ganache!;
    const chainId = await fetch(g.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    }).then(async (r) => ((await r.json()) as { result: string }).result);
    expect(Number(chainId)).toBe(31337);
    const before = await g.txCount();
    const to = '0x000000000000000000000000000000000000dEaD';
    await g.fund(to, 10n ** 18n);
    expect(await g.txCount()).toBe(before + 1);
    expect(BigInt(await g.rpc<string>('eth_getBalance', [to, 'latest']))).toBe(10n ** 18n);
    // a raw send through the proxy is counted even when the node refuses it
    const attempts = g.sendAttempts();
    await fetch(g.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_sendRawTransaction', params: ['0x00'] }),
    });
    expect(g.sendAttempts()).toBe(attempts + 1);
    expect(await g.txCount()).toBe(before + 1);
  });

  it('fails the next call of a method on demand', async () => {
    const g = ganache!;
    g.failNext('eth_blockNumber');
    const call = (): Promise<{ result?: string; error?: unknown }> =>
      fetch(g.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
      }).then(async (r) => (await r.json()) as { result?: string; error?: unknown });
    expect((await call()).error).toBeDefined();
    expect((await call()).result).toBeDefined();
  });
});
