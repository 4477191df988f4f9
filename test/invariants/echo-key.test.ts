// SECURITY invariant (issue 8, items 5 and 20): a venue that echoes the API key back (whole, in 20-character chunks,
// as base64 at an odd offset, as hex, URL-encoded, or in a field of a successful answer) gets none of it through
// cofre: not to the agent (HTTP response bodies), not into the state database, the audit log or the logs. Driven
// through the real path: HTTP surface, broker, ccxt venue account, paper exchange in its echo-the-key fault modes.
// Regression: 20-character chunks of the key reached the agent and the state DB.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../src/broker/broker.js';
import {
  type EchoKeyMode,
  type PaperExchange,
  startPaperExchange,
} from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { tempDir } from '../cli/cli-harness.js';
import { encodingsOf, fragmentsOf, leaks, makeCanary } from './canary.js';
import { serveBrokerForTest, type ServedBroker } from './serve-for-test.js';

// The paper exchange takes letters and digits only as an API key; 64 of them, like Binance's.
const KEY = `EchoCanary${makeCanary().value.replace(/[^A-Za-z0-9]/g, '')}`.padEnd(64, 'Z').slice(0, 64);
const SECRET = makeCanary().value;
const FORBIDDEN = [...encodingsOf(KEY), ...fragmentsOf(KEY), ...encodingsOf(SECRET), ...fragmentsOf(SECRET)];

const ERROR_MODES = ['error-whole', 'error-fragments', 'error-base64-odd', 'error-hex', 'error-url'] as const;
const RESULT_MODES = ['result-whole', 'result-fragment'] as const;

const logLines: string[] = [];
const bodies: string[] = [];
let dir: string;
let remove: () => void;
let exchange: PaperExchange;
let served: ServedBroker;
let url: string;
let token: string;
let orders = 0;

async function call(name: string, body: unknown): Promise<ActionResponse> {
  const res = await fetch(`${url}/v1/actions/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  bodies.push(text);
  return JSON.parse(text) as ActionResponse;
}

function placeOrder(): Promise<ActionResponse> {
  orders += 1;
  return call('place_order', {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: '0.001',
    clientOrderId: `echo-${orders}`,
  });
}

/** Runs `body` with the paper exchange in `mode`, then turns the fault off. */
async function inMode<T>(mode: EchoKeyMode, body: () => Promise<T>): Promise<T> {
  exchange.echoKey(mode);
  try {
    return await body();
  } finally {
    exchange.echoKey(undefined);
  }
}

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  exchange = await startPaperExchange({
    accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  served = await serveBrokerForTest(
    dir,
    {
      keys: { apiKey: KEY, secret: SECRET },
      accounts: { paper: exchange.url },
      actions: ['get_balance', 'get_open_orders', 'get_order', 'place_order', 'cancel_order'],
      agentId: 'echo-agent',
    },
    logLines,
  );
  ({ url, token } = served);
});

afterAll(async () => {
  await served.close();
  await exchange.stop();
  remove();
});

describe('a venue that echoes the API key back', () => {
  it.each(ERROR_MODES)(
    '%s: reads and writes fail as refused credentials, with nothing of the key',
    async (mode) => {
      const before = exchange.requests().length;
      const [balance, order] = await inMode(mode, async () => [
        await call('get_balance', { account: 'paper' }),
        await placeOrder(),
      ]);
      for (const response of [balance, order]) {
        expect(response).toMatchObject({ status: 'failed', error: { code: 'COFRE_VENUE_AUTH_FAILED' } });
        expect(leaks(JSON.stringify(response), FORBIDDEN)).toEqual([]);
      }
      // Not vacuous: the exchange did answer with the echo (-2015) to signed requests of this mode.
      const echoed = exchange
        .requests()
        .slice(before)
        .filter((r) => r.errorCode === -2015);
      expect(echoed.length).toBeGreaterThanOrEqual(2);
    },
  );

  it.each(RESULT_MODES)(
    '%s: an order answer with the key in clientOrderId reaches the agent redacted',
    async (mode) => {
      const placed = await inMode(mode, placeOrder);
      expect(placed).toMatchObject({
        status: 'executed',
        result: { order: { clientOrderId: '[REDACTED]' } },
      });
      const read = await inMode(mode, () =>
        call('get_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: `echo-${orders}` }),
      );
      expect(read).toMatchObject({ status: 'executed', result: { order: { clientOrderId: '[REDACTED]' } } });
      const open = await inMode(mode, () => call('get_open_orders', { account: 'paper' }));
      expect(open.status).toBe('executed');
      for (const response of [placed, read, open])
        expect(leaks(JSON.stringify(response), FORBIDDEN)).toEqual([]);
    },
  );

  it('leaks the key nowhere: response bodies, logs, audit log, state database', async () => {
    // Without the fault the same calls succeed: the failures above come from the echo, not from a broken setup.
    expect((await call('get_balance', { account: 'paper' })).status).toBe('executed');
    expect(bodies.length).toBeGreaterThanOrEqual(ERROR_MODES.length * 2 + RESULT_MODES.length * 3 + 1);
    expect(logLines.length).toBeGreaterThan(5);
    const audit = await readFile(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('echo-agent');
    const state = await readFile(join(dir, 'state.db'));
    const wal = await readFile(join(dir, 'state.db-wal')).catch(() => Buffer.alloc(0));
    for (const [where, text] of [
      ...bodies.map((b, i) => [`response ${i}`, b] as const),
      ...logLines.map((l, i) => [`log line ${i}`, l] as const),
      ['audit log', audit] as const,
      ['state.db', state] as const,
      ['state.db-wal', wal] as const,
    ]) {
      expect({ where, leaks: leaks(text, FORBIDDEN) }).toEqual({ where, leaks: [] });
    }
  });
});
