// Issue 19's must-show, end to end through the served broker and the TypeScript client, on a local ganache chain
// with the wallet key in moto's KMS: a transfer to a labelled destination is mined and its on-chain sender is the KMS
// key's address; a raw address, an unlimited approve, a Permit over the cap, another chain id (in the input and in
// typed data) and a call of an unlisted contract are refused and never broadcast (counted at the node). Each wallet
// action's result is parsed with its schema (test/e2e/action-results.test.ts leaves them to this file).
import { type Abi, encodeFunctionData, parseAbi, parseSignature, recoverTypedDataAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { actionResultSchemas } from '../../src/broker/action-results.js';
import type { ActionName } from '../../src/broker/actions.js';
import { type CofreClient, CofreRequestError } from '../../src/client/index.js';
import { approve } from '../client/served-client.js';
import { errorCodeOf } from '../e2e/served-broker.js';
import { startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startMoto } from '../peers/peers.js';
import { EIP2612_PERMIT, PERMIT2_ADDRESS, startWalletFixture, type WalletFixture } from './wallet-fixture.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));
const moto = await peerOrSkip('moto', startMoto);
const TOKEN_ABI: Abi = parseAbi([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
]);
const MAX_UINT256_TOKENS = '115792089237316195423570985008687907853269984665640564039457.584007913129639935';

let w: WalletFixture | undefined;
let bot: CofreClient;
let kmsAddress: `0x${string}`;
const savedEnv = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

beforeAll(async () => {
  if (ganache === undefined || moto === undefined) return;
  // The KMS signer has no credentials option: the SDK's default chain finds these (moto accepts any).
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIACOFREWALLETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'cofreWalletE2eSecretNotUsedByMoto';
  w = await startWalletFixture(ganache, moto);
  bot = await w.clientFor('bot-1');
  const wallet = await bot.getWallet({ wallet: 'kms' });
  kmsAddress = wallet.address as `0x${string}`;
  await ganache.fund(kmsAddress, 5n * 10n ** 18n);
  // 1000 TOK from the token's holder (ganache's first account) to the KMS wallet.
  await fromHolder('transfer', [kmsAddress, 1000n * 10n ** 18n]);
}, 120_000);

/** A call of the token by ganache's first account (unlocked), mined. */
async function fromHolder(functionName: 'transfer' | 'permit', args: readonly unknown[]): Promise<void> {
  const g = ganache!;
  const data = encodeFunctionData({ abi: TOKEN_ABI, functionName, args });
  const hash = await g.rpc<string>('eth_sendTransaction', [{ from: g.accounts[0], to: w!.token, data }]);
  const receipt = await g.rpc<{ status: string }>('eth_getTransactionReceipt', [hash]);
  if (receipt.status !== '0x1') throw new Error(`token ${functionName} failed`);
}

/** A view of the token, read straight from the node. */
async function tokenRead(functionName: 'balanceOf' | 'allowance', args: readonly unknown[]): Promise<bigint> {
  const data = encodeFunctionData({ abi: TOKEN_ABI, functionName, args });
  return BigInt(await ganache!.rpc<string>('eth_call', [{ to: w!.token, data }, 'latest']));
}

afterAll(async () => {
  await w?.close();
  await ganache?.stop();
  await moto?.stop();
  if (savedEnv.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
  else process.env['AWS_ACCESS_KEY_ID'] = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
  else process.env['AWS_SECRET_ACCESS_KEY'] = savedEnv.secret;
});

function parsed(action: ActionName, result: unknown): void {
  const check = actionResultSchemas[action].safeParse(result);
  expect(check.success, `${action}: ${JSON.stringify(check.error?.issues)}`).toBe(true);
}

/** Runs `refuse` and checks that nothing was offered to the node, nor mined, meanwhile. */
async function neverBroadcast(refuse: () => Promise<void>): Promise<void> {
  const g = ganache!;
  const [count, attempts] = [await g.txCount(), g.sendAttempts()];
  await refuse();
  expect(g.sendAttempts()).toBe(attempts);
  expect(await g.txCount()).toBe(count);
}

const permit = (value: bigint, chainId = 31337): Record<string, unknown> => ({
  domain: { name: 'Tok', version: '1', chainId, verifyingContract: w?.token },
  types: {
    Permit: EIP2612_PERMIT,
  },
  primaryType: 'Permit',
  message: {
    owner: kmsAddress,
    spender: PERMIT2_ADDRESS,
    value: value.toString(),
    nonce: '0',
    deadline: '4102444800',
  },
});

describe.skipIf(ganache === undefined || moto === undefined)('wallets end to end (ganache, moto KMS)', () => {
  it('get_wallet shows the KMS key address and its balances', async () => {
    const answer = await bot.call('get_wallet', { wallet: 'kms' });
    expect(answer.status).toBe('executed');
    parsed('get_wallet', answer.result);
    expect(answer.result).toMatchObject({
      wallet: 'kms',
      chain: 'local',
      chainId: 31337,
      address: kmsAddress,
    });
  });

  it('a transfer to a labelled destination is mined, sent by the KMS key', async () => {
    const g = ganache!;
    const treasury = g.accounts[1] ?? '';
    const before = BigInt(await g.rpc<string>('eth_getBalance', [treasury, 'latest']));
    const answer = await bot.call('send_transaction', {
      wallet: 'kms',
      to: 'treasury',
      value: '0.25',
      clientTxId: 'e2e-transfer-1',
    });
    expect(answer.status, JSON.stringify(answer)).toBe('executed');
    parsed('send_transaction', answer.result);
    const result = answer.result as { hash: `0x${string}`; status: string };
    expect(result.status).toBe('mined');
    const tx = await g.rpc<{ from: string; to: string }>('eth_getTransactionByHash', [result.hash]);
    expect(tx.from.toLowerCase()).toBe(kmsAddress.toLowerCase());
    expect(tx.to.toLowerCase()).toBe(treasury.toLowerCase());
    const after = BigInt(await g.rpc<string>('eth_getBalance', [treasury, 'latest']));
    expect(after - before).toBe(25n * 10n ** 16n);
    // The same clientTxId again answers the first request, and sends nothing.
    await neverBroadcast(async () => {
      const again = await bot.call('send_transaction', {
        wallet: 'kms',
        to: 'treasury',
        value: '0.25',
        clientTxId: 'e2e-transfer-1',
      });
      expect(again.replayed).toBe(true);
      expect((again.result as { hash: string }).hash).toBe(result.hash);
    });
  });

  it('a token transfer and an approve within the cap are mined; the token takes the Permit signature', async () => {
    const desk = ganache!.accounts[2] ?? '';
    const sent = await bot.sendTransaction({
      wallet: 'kms',
      to: 'tok',
      call: { function: 'transfer', args: { to: 'desk', amount: '12.5' } },
      clientTxId: 'tok-1',
    });
    expect(sent).toMatchObject({
      status: 'mined',
      transaction: {
        contract: 'tok',
        function: 'transfer',
        moves: [{ kind: 'transfer', asset: 'TOK', amount: '12.5', to: 'desk' }],
      },
    });
    expect(await tokenRead('balanceOf', [desk])).toBe(125n * 10n ** 17n);
    const balances = (await bot.getWallet({ wallet: 'kms' })).balances;
    expect(balances).toContainEqual({ asset: 'TOK', amount: '987.5' });
    const approved = await bot.sendTransaction({
      wallet: 'kms',
      to: 'tok',
      call: { function: 'approve', args: { spender: 'permit2', amount: '40' } },
      clientTxId: 'approve-40',
    });
    expect(approved.status).toBe('mined');
    expect(await tokenRead('allowance', [kmsAddress, PERMIT2_ADDRESS])).toBe(40n * 10n ** 18n);
    // The Permit signed through cofre, submitted by someone else, as a dapp would: the token accepts it.
    const signed = await bot.signTypedData({
      wallet: 'kms',
      typedData: permit(60n * 10n ** 18n) as never,
      clientSignId: 'permit-60',
    });
    const { r, s, v } = parseSignature(signed.signature as `0x${string}`);
    await fromHolder('permit', [kmsAddress, PERMIT2_ADDRESS, 60n * 10n ** 18n, 4102444800n, Number(v), r, s]);
    expect(await tokenRead('allowance', [kmsAddress, PERMIT2_ADDRESS])).toBe(60n * 10n ** 18n);
  });

  it('a large transfer waits for an operator, then sends exactly the approved transaction', async () => {
    const g = ganache!;
    const input = { wallet: 'kms', to: 'treasury', value: '1.5', clientTxId: 'large-1' };
    const [count, attempts] = [await g.txCount(), g.sendAttempts()];
    const pending = await bot.call('send_transaction', input);
    expect(pending.status).toBe('pending_approval');
    expect(g.sendAttempts()).toBe(attempts);
    const operator = await w!.fx.operatorToken('ops-1');
    const waiting = bot.waitForRequest(pending.requestId, { intervalMs: 20, timeoutMs: 60_000 });
    await approve(w!.fx, operator, pending.requestId, pending.approval?.payloadHash ?? '');
    const done = await waiting;
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'executed', result: { status: 'mined' } });
    parsed('send_transaction', done.result);
    const tx = await g.rpc<{ from: string; value: string }>('eth_getTransactionByHash', [
      (done.result as { hash: string }).hash,
    ]);
    expect(tx.from.toLowerCase()).toBe(kmsAddress.toLowerCase());
    expect(BigInt(tx.value)).toBe(15n * 10n ** 17n);
    expect(await g.txCount()).toBe(count + 1);
  });

  it('preview_transaction simulates and shows the decision, sending nothing', async () => {
    await neverBroadcast(async () => {
      const answer = await bot.call('preview_transaction', { wallet: 'kms', to: 'treasury', value: '0.5' });
      expect(answer.status).toBe('executed');
      parsed('preview_transaction', answer.result);
      expect(answer.result).toMatchObject({
        sent: false,
        simulation: { ok: true, gas: 21000 },
        decision: { decision: 'allow' },
        transaction: {
          to: 'treasury',
          moves: [{ kind: 'value', asset: 'ETH', amount: '0.5', to: 'treasury' }],
        },
      });
      const tooMuch = await bot.call('preview_transaction', { wallet: 'kms', to: 'treasury', value: '5' });
      expect(tooMuch.result).toMatchObject({ decision: { decision: 'deny' } });
    });
  });

  it('sign_typed_data signs a Permit within the cap with the KMS key', async () => {
    await neverBroadcast(async () => {
      const typedData = permit(50n * 10n ** 18n);
      const answer = await bot.call('sign_typed_data', {
        wallet: 'kms',
        typedData: typedData as never,
        clientSignId: 'permit-50',
      });
      expect(answer.status, JSON.stringify(answer)).toBe('executed');
      parsed('sign_typed_data', answer.result);
      const { signature } = answer.result as { signature: `0x${string}` };
      const signer = await recoverTypedDataAddress({
        ...(typedData as unknown as Parameters<typeof recoverTypedDataAddress>[0]),
        message: {
          ...(typedData['message'] as object),
          value: 50n * 10n ** 18n,
          nonce: 0n,
          deadline: 4102444800n,
        },
        signature,
      });
      expect(signer.toLowerCase()).toBe(kmsAddress.toLowerCase());
    });
  });

  it('a raw address as destination is refused by the schema', async () => {
    await neverBroadcast(async () => {
      const raw = { wallet: 'kms', to: ganache!.accounts[1] ?? '', value: '0.1', clientTxId: 'raw-1' };
      await expect(bot.call('send_transaction', raw)).rejects.toMatchObject({ code: 'COFRE_INPUT_INVALID' });
      // and by the server itself, for a client that does not validate
      const answer = await w!.fx.call(
        'POST',
        '/v1/actions/send_transaction',
        await w!.fx.agentToken('bot-raw', 'bot'),
        raw,
      );
      expect(answer.status).toBe(400);
      expect(errorCodeOf(answer)).toBe('COFRE_INPUT_INVALID');
    });
  });

  it('an unlimited approve is denied, by function and in raw calldata', async () => {
    await neverBroadcast(async () => {
      const answer = await bot.call('send_transaction', {
        wallet: 'kms',
        to: 'tok',
        call: { function: 'approve', args: { spender: 'permit2', amount: MAX_UINT256_TOKENS } },
        clientTxId: 'approve-max',
      });
      expect(answer).toMatchObject({ status: 'denied', rule: 'unlimited-approval' });
      const data = `0x095ea7b3${PERMIT2_ADDRESS.slice(2).toLowerCase().padStart(64, '0')}${'f'.repeat(64)}`;
      const raw = await bot.call('send_transaction', {
        wallet: 'kms',
        to: 'tok',
        call: { data },
        clientTxId: 'approve-max-raw',
      });
      expect(raw).toMatchObject({ status: 'denied', rule: 'unlimited-approval' });
      // an approve within the cap is allowed (and mined: the token address has no code, so it is a plain call)
    });
  });

  it('a Permit over the cap, and unlimited Permit2 typed data, are denied', async () => {
    await neverBroadcast(async () => {
      const over = await bot.call('sign_typed_data', {
        wallet: 'kms',
        typedData: permit(101n * 10n ** 18n) as never,
        clientSignId: 'permit-101',
      });
      expect(over.status).toBe('denied');
      expect(over.result).toBeUndefined();
      // Typed data of a kind cofre cannot read (an order on some exchange) is denied whatever the rules say.
      const order = await bot.call('sign_typed_data', {
        wallet: 'kms',
        typedData: {
          domain: { name: 'Exchange', chainId: 31337, verifyingContract: w!.token },
          types: {
            Order: [
              { name: 'maker', type: 'address' },
              { name: 'amount', type: 'uint256' },
            ],
          },
          primaryType: 'Order',
          message: { maker: kmsAddress, amount: '1' },
        },
        clientSignId: 'order-1',
      });
      expect(order).toMatchObject({ status: 'denied', rule: 'typed-data-unknown' });
    });
  });

  it('another chain id is refused, in the input and in the typed data domain', async () => {
    await neverBroadcast(async () => {
      const send = await bot.call('send_transaction', {
        wallet: 'kms',
        to: 'treasury',
        value: '0.1',
        chainId: 1,
        clientTxId: 'other-chain',
      });
      expect(send).toMatchObject({ status: 'failed', error: { code: 'COFRE_CHAIN_MISMATCH' } });
      const sign = await bot.call('sign_typed_data', {
        wallet: 'kms',
        typedData: permit(10n ** 18n, 1) as never,
        clientSignId: 'permit-other-chain',
      });
      expect(sign).toMatchObject({ status: 'failed', error: { code: 'COFRE_CHAIN_MISMATCH' } });
    });
  });

  it('a call of an unlisted contract is denied; an unconfigured one is unknown', async () => {
    await neverBroadcast(async () => {
      const rogue = await bot.call('send_transaction', {
        wallet: 'kms',
        to: 'rogue',
        call: { function: 'drain', args: { to: 'treasury' } },
        clientTxId: 'rogue-1',
      });
      expect(rogue.status).toBe('denied');
      const unknown = bot.call('send_transaction', {
        wallet: 'kms',
        to: 'uniswap',
        call: { function: 'swap', args: {} },
        clientTxId: 'unknown-1',
      });
      await expect(unknown).rejects.toBeInstanceOf(CofreRequestError);
      await expect(unknown).rejects.toMatchObject({ code: 'COFRE_DESTINATION_UNKNOWN' });
    });
  });
});
