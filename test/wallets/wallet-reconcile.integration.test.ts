// A send_transaction caught in flight (cofre "stopped" while broadcasting) is never settled as failed and free to
// send again, nor its budget given back: reconciliation reports it unresolved and keeps its reservation. Its audit
// record (hash, SHA-256 of the signed bytes) is durable before the node gets it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { keccak256, serializeTransaction } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startWalletFixture, type WalletFixture } from './wallet-fixture.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));
let w: WalletFixture | undefined;

beforeAll(async () => {
  if (ganache === undefined) return;
  w = await startWalletFixture(ganache, undefined, {
    limits: [
      '    limits:',
      '      - { name: hourly-eth, per: wallet, window: 1h, transfers: 1, asset: ETH }',
    ],
  });
  await ganache.fund(w.embeddedAddress, 10n ** 19n);
}, 120_000);

afterAll(async () => {
  await w?.close();
  await ganache?.stop();
});

describe.skipIf(ganache === undefined)('reconciling an interrupted send_transaction', () => {
  it('is reported unresolved with its reservation kept, never as failed and safe to resend', async () => {
    const g = ganache!;
    const fx = w!.fx;
    const bot = await w!.clientFor('bot-r');
    g.failNext('eth_sendRawTransaction', 1, 'delay');
    const sending = bot.call('send_transaction', {
      wallet: 'dev',
      to: 'treasury',
      value: '0.4',
      clientTxId: 'slow-1',
    });
    // Wait until the broadcast is on its way (the signed record is in the audit log).
    for (let i = 0; i < 100 && g.sendAttempts() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(g.sendAttempts()).toBe(1);
    // The node has not got it yet (the proxy holds it), but its record is already in the audit log.
    const signed = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"signed"'))
      .map(
        (line) => JSON.parse(line) as { detail: { signed: { hash: string; sha256: string; nonce: number } } },
      );
    expect(signed).toHaveLength(1);
    expect(signed[0]?.detail.signed).toMatchObject({
      hash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      nonce: 0,
    });
    const report = await fx.server.runtime.broker.reconcileInterrupted(new Date(Date.now() + 60_000));
    expect(report.resolved).toEqual([]);
    expect(report.unresolved).toHaveLength(1);
    expect(report.unresolved[0]?.reason).toMatch(/COFRE_VENUE_OUTCOME_UNKNOWN.*may have been broadcast/);
    // Its 0.4 ETH still counts against the hourly cap.
    const preview = await bot.call('preview_transaction', { wallet: 'dev', to: 'treasury', value: '0.1' });
    expect(preview.result).toMatchObject({
      decision: { limits: [{ limit: expect.stringMatching(/hourly-eth/), used: '0.4' }] },
    });
    const sent = await sending;
    expect(sent).toMatchObject({ status: 'executed', result: { status: 'mined' } });
    // What was recorded is what went out: the hash, and the SHA-256 of the signed bytes as the node has them.
    const hash = (sent.result as { hash: `0x${string}` }).hash;
    expect(signed[0]?.detail.signed.hash).toBe(hash);
    const tx = await g.rpc<Record<string, string>>('eth_getTransactionByHash', [hash]);
    const raw = serializeTransaction(
      {
        type: 'eip1559',
        chainId: Number(tx['chainId']),
        nonce: Number(tx['nonce']),
        to: tx['to'] as `0x${string}`,
        value: BigInt(tx['value'] ?? '0'),
        data: tx['input'] as `0x${string}`,
        gas: BigInt(tx['gas'] ?? '0'),
        maxFeePerGas: BigInt(tx['maxFeePerGas'] ?? '0'),
        maxPriorityFeePerGas: BigInt(tx['maxPriorityFeePerGas'] ?? '0'),
      },
      { r: tx['r'] as `0x${string}`, s: tx['s'] as `0x${string}`, yParity: Number(tx['yParity']) },
    );
    expect(keccak256(raw)).toBe(hash);
    const sha = createHash('sha256')
      .update(Buffer.from(raw.slice(2), 'hex'))
      .digest('hex');
    expect(signed[0]?.detail.signed.sha256).toBe(sha);
  });
});
