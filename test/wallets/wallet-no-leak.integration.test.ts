// Canary (issue 19): an embedded wallet key and RPC URLs that carry an API key (one endpoint down, one up) go through
// every wallet path — reads, a mined send, a simulation that reverts, a refused and an unknown broadcast, a failed
// nonce look-up, typed data signed — and never appear, in any encoding, in a response, the server log, the audit log
// or the state store.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreClient } from '../../src/client/index.js';
import { encodingsOf } from '../invariants/canary.js';
import { startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { EIP2612_PERMIT, PERMIT2_ADDRESS, startWalletFixture, type WalletFixture } from './wallet-fixture.js';

const ganache = await peerOrSkip('ganache', () => startGanache({ chainId: 31337 }));
const API_KEY = `rpcKeyCanary${Date.now().toString(36)}x9Q`;
const DEAD_KEY = `deadKeyCanary${Date.now().toString(36)}x7Z`;
let w: WalletFixture | undefined;
let bot: CofreClient;
const answers: unknown[] = [];

beforeAll(async () => {
  if (ganache === undefined) return;
  w = await startWalletFixture(ganache, undefined, {
    rpc: '{ secret: "local:rpc/dead" }, { secret: "local:rpc/live" }',
    secrets: {
      // Nothing listens on port 1: the chain client leaves this endpoint out, and says so in the log.
      'rpc/dead': `http://127.0.0.1:1/v3/${DEAD_KEY}`,
      'rpc/live': `${ganache.url}/v3/${API_KEY}?apikey=${API_KEY}`,
    },
  });
  bot = await w.clientFor('leaky');
  await ganache.fund(w.embeddedAddress, 10n ** 19n);
}, 120_000);

afterAll(async () => {
  await w?.close();
  await ganache?.stop();
});

/** Everything that leaves or is kept: the answers, the server log, the audit log and the state store's files. */
function everythingKept(fx: WalletFixture['fx']): Record<string, string> {
  const files = Object.fromEntries(
    readdirSync(fx.dir)
      .filter((f) => /^(audit|cofre-state)/.test(f))
      .map((f) => [f, readFileSync(join(fx.dir, f)).toString('latin1')]),
  );
  return { answers: JSON.stringify(answers), log: fx.logLines.join('\n'), ...files };
}

async function ask(action: Parameters<CofreClient['call']>[0], input: unknown): Promise<unknown> {
  const answer = await bot.call(action, input as never);
  answers.push(answer);
  return answer;
}

describe.skipIf(ganache === undefined)('no wallet secret leaks', () => {
  it('neither the embedded key nor an RPC API key shows anywhere, in any encoding', async () => {
    const g = ganache!;
    const fx = w!.fx;
    const token = w!.token;
    await ask('get_wallet', { wallet: 'dev' });
    expect(
      await ask('send_transaction', { wallet: 'dev', to: 'treasury', value: '0.1', clientTxId: 'ok-1' }),
    ).toMatchObject({
      status: 'executed',
    });
    // A token transfer the wallet cannot pay: the simulation reverts ("balance").
    expect(
      await ask('send_transaction', {
        wallet: 'dev',
        to: 'tok',
        call: { function: 'transfer', args: { to: 'desk', amount: '5' } },
        clientTxId: 'revert-1',
      }),
    ).toMatchObject({ status: 'failed', error: { code: 'COFRE_SIMULATION_FAILED' } });
    await ask('preview_transaction', {
      wallet: 'dev',
      to: 'tok',
      call: { function: 'transfer', args: { to: 'desk', amount: '5' } },
    });
    g.failNext('eth_sendRawTransaction', 4, 'error');
    expect(
      await ask('send_transaction', { wallet: 'dev', to: 'treasury', value: '0.1', clientTxId: 'refused-1' }),
    ).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_REJECTED' },
    });
    g.failNext('eth_sendRawTransaction', 1, 'drop-after');
    g.failNext('eth_getTransactionByHash', 4, 'error');
    expect(
      await ask('send_transaction', { wallet: 'dev', to: 'treasury', value: '0.1', clientTxId: 'unknown-1' }),
    ).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_OUTCOME_UNKNOWN' },
    });
    g.failNext('eth_getTransactionCount', 4, 'error');
    expect(
      await ask('send_transaction', { wallet: 'dev', to: 'treasury', value: '0.1', clientTxId: 'nonce-1' }),
    ).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_RPC_UNAVAILABLE' },
    });
    expect(
      await ask('sign_typed_data', {
        wallet: 'dev',
        typedData: {
          domain: { name: 'Tok', version: '1', chainId: 31337, verifyingContract: token },
          types: {
            Permit: EIP2612_PERMIT,
          },
          primaryType: 'Permit',
          message: {
            owner: w!.embeddedAddress,
            spender: PERMIT2_ADDRESS,
            value: '1',
            nonce: '0',
            deadline: '4102444800',
          },
        },
        clientSignId: 'sign-1',
      }),
    ).toMatchObject({ status: 'executed' });
    // Each request's own stored answer too.
    for (const a of [...answers])
      answers.push(await bot.call('get_request', { requestId: (a as { requestId: string }).requestId }));
    // The dead endpoint was tried and left out, and said so in the log (without its URL).
    expect(fx.logLines.join('\n')).toContain('did not answer eth_chainId');
    const key = w!.embeddedKey.slice(2);
    const secrets = [
      ...encodingsOf(w!.embeddedKey),
      key,
      key.toUpperCase(),
      Buffer.from(key, 'hex').toString('base64'),
      Buffer.from(key, 'hex').toString('base64url'),
      ...encodingsOf(API_KEY),
      ...encodingsOf(DEAD_KEY),
    ];
    for (const [where, text] of Object.entries(everythingKept(fx))) {
      for (const secret of secrets) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false);
    }
  });
});
