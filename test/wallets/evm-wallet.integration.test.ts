import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreConfig } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { StateStore } from '../../src/state/state-store.js';
import { ChainClient } from '../../src/wallets/chain-client.js';
import { openWallets, type WalletService } from '../../src/wallets/wallet-service.js';
import { type GanachePeer, startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { chainNonceManager, privateKeySigner } from './test-signer.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));
const key = generatePrivateKey();
const address = privateKeyToAccount(key).address;
let dir: string | undefined;
let wallets: WalletService | undefined;

async function configFor(g: GanachePeer, extra: string[] = []): Promise<CofreConfig> {
  writeFileSync(
    join(dir ?? '', 'cofre.yaml'),
    [
      'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
      'chains:',
      `  local: { chainId: 31337, rpc: ["${g.url}"], quote: USD, prices: { ETH: "2000" } }`,
      'wallets:',
      '  hot: { chain: local, key: { type: embedded, secret: "local:wallets/hot" } }',
      'addressBook:',
      `  treasury: { asset: ETH, network: local, address: "${g.accounts[1]}" }`,
      `  usdc-desk: { asset: USDC, network: local, address: "${g.accounts[2]}" }`,
      `  elsewhere: { asset: ETH, network: mainnet, address: "${g.accounts[3]}" }`,
      ...extra,
      '',
    ].join('\n'),
  );
  return loadConfig(join(dir ?? '', 'cofre.yaml'));
}

beforeAll(async () => {
  if (ganache === undefined) return;
  dir = mkdtempSync(join(tmpdir(), 'cofre-evm-'));
  await ganache.fund(address, 10n ** 19n);
  const opened = openWallets(await configFor(ganache), {
    state: {} as StateStore,
    secrets: { read: () => Promise.reject(new Error('no secrets here')) },
    logger: pino({ level: 'silent' }),
    openSigner: () => privateKeySigner(key),
    nonces: chainNonceManager(),
  });
  if (opened === undefined) throw new Error('no wallets');
  wallets = opened;
});

afterAll(async () => {
  await wallets?.close();
  await ganache?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(ganache === undefined)('EvmWallet against ganache', () => {
  it('resolves a transfer to a label, signs it, broadcasts it and gets its receipt', async () => {
    const g = ganache!;
    const wallet = wallets!.wallet('hot');
    const { transaction, signing, simulation } = await wallet.resolveTransaction(
      { to: 'treasury', value: '0.5' },
      true,
    );
    expect(simulation.ok).toBe(true);
    expect(transaction).toMatchObject({
      kind: 'transaction',
      to: 'treasury',
      moves: [{ kind: 'value', asset: 'ETH', amount: '0.5', to: 'treasury' }],
      recipients: ['treasury'],
      unlimitedApproval: false,
      gas: { limit: 21000 },
      notional: { quote: 'USD', amount: '1000' },
    });
    const before = BigInt(await g.rpc<string>('eth_getBalance', [g.accounts[1], 'latest']));
    const nonce = await wallet.pendingCount();
    const { raw, hash } = await wallet.signTransaction(signing, nonce);
    expect(await wallet.broadcast(raw, hash)).toEqual({ kind: 'broadcast' });
    expect(await wallet.receipt(hash, 5000)).toMatchObject({ status: 'mined' });
    const tx = await g.rpc<{ from: string }>('eth_getTransactionByHash', [hash]);
    expect(tx.from.toLowerCase()).toBe(address.toLowerCase());
    const after = BigInt(await g.rpc<string>('eth_getBalance', [g.accounts[1], 'latest']));
    expect(after - before).toBe(5n * 10n ** 17n);
  });

  it('refuses names that are no label of this chain, and labels of another asset', async () => {
    const wallet = wallets!.wallet('hot');
    await expect(wallet.resolveTransaction({ to: 'nobody', value: '1' }, true)).rejects.toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    await expect(wallet.resolveTransaction({ to: 'elsewhere', value: '1' }, true)).rejects.toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    await expect(wallet.resolveTransaction({ to: 'usdc-desk', value: '1' }, true)).rejects.toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
  });

  it('refuses another chain id', async () => {
    await expect(
      wallets!.wallet('hot').resolveTransaction({ to: 'treasury', value: '1', chainId: 1 }, true),
    ).rejects.toMatchObject({ code: 'COFRE_CHAIN_MISMATCH' });
  });

  it('a send that would revert fails the simulation; a preview reports it', async () => {
    const wallet = wallets!.wallet('hot');
    await expect(wallet.resolveTransaction({ to: 'treasury', value: '100000' }, true)).rejects.toMatchObject({
      code: 'COFRE_SIMULATION_FAILED',
    });
    const preview = await wallet.resolveTransaction({ to: 'treasury', value: '100000' }, false);
    expect(preview.simulation.ok).toBe(false);
    expect(preview.simulation.error).toMatch(/insufficient/i);
  });

  it('reads its balances', async () => {
    const balances = await wallets!.wallet('hot').balances();
    expect(balances[0]?.asset).toBe('ETH');
  });

  it('refuses a chain whose RPC reports another chain id, and says when no endpoint answers (naming none)', async () => {
    const g = ganache!;
    const deps = {
      state: {} as StateStore,
      secrets: { read: () => Promise.reject(new Error('no secrets here')) },
      logger: pino({ level: 'silent' }),
    };
    const base = (await configFor(g)).chains['local']!;
    const wrongId = new ChainClient('local', { ...base, chainId: 1 }, deps);
    await expect(wrongId.client()).rejects.toMatchObject({
      code: 'COFRE_CHAIN_MISMATCH',
      message: expect.stringMatching(/reports chain id 31337, not the configured 1/),
    });
    const dead = new ChainClient('local', { ...base, rpc: ['http://127.0.0.1:1/v3/secret-key'] }, deps);
    const failure = await dead.client().catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'COFRE_RPC_UNAVAILABLE' });
    expect((failure as Error).message).not.toContain('secret-key');
  });
});
