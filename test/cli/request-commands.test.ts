// `cofre request list` and `cofre request reconcile` against a real paper exchange: a place_order left executing by a
// cofre that stopped is listed, then settled by asking the exchange, and its clientOrderId is free again.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreConfig } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';
import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { writeDemoSetup } from '../../src/surfaces/cli/paper-provisioning.js';
import { cli, tempDir } from './cli-harness.js';

let exchange: PaperExchange;
let dir: string;
let remove: () => void;
let configFile: string;

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  const apiKey = randomBytes(32).toString('hex');
  const apiSecret = randomBytes(32).toString('hex');
  exchange = await startPaperExchange({
    accounts: [{ apiKey, secret: apiSecret, balances: { USDT: '10000' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  configFile = await writeDemoSetup(dir, { exchangeUrl: exchange.url, apiKey, apiSecret, port: 0 });
});

afterAll(async () => {
  await exchange.stop();
  remove();
});

describe('cofre request', () => {
  // Regression: a request left executing answered COFRE_REQUEST_IN_PROGRESS for ever, with nothing to settle it.
  it('lists a request a stopped cofre left executing, settles it from the venue, and frees its key', async () => {
    const config = await loadConfig(configFile);
    const state = new SqliteStateStore(sqlitePath(config));
    const longAgo = new Date(Date.now() - 5 * 60_000);
    const order = {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: 'ghost-1',
    };
    state.claimRequest({
      requestId: 'req_ghost',
      agentId: 'demo-agent',
      action: 'place_order',
      account: 'paper',
      idempotencyKey: 'demo-agent:paper:ghost-1',
      input: JSON.stringify(order),
      status: 'executing',
      response: undefined,
      createdAt: longAgo,
      updatedAt: longAgo,
    });
    state.close();

    const listed = await cli(dir, ['--config', configFile, 'request', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/req_ghost\s+demo-agent\s+place_order\s+paper/);

    const settled = await cli(dir, ['--config', configFile, 'request', 'reconcile']);
    expect(settled).toMatchObject({ code: 0, stdout: 'req_ghost: settled as failed\n' });
    // The look-up reached the exchange, and nothing was placed.
    expect(exchange.orders()).toEqual([]);

    const after = new SqliteStateStore(sqlitePath(config));
    try {
      expect(after.request('req_ghost')).toMatchObject({ status: 'failed', idempotencyKey: undefined });
      expect(after.request('req_ghost')?.response).toContain('COFRE_REQUEST_INTERRUPTED');
    } finally {
      after.close();
    }
    expect((await cli(dir, ['--config', configFile, 'request', 'list'])).stdout).toBe(
      'no request is executing\n',
    );
  });
});

/** The SQLite state file of a config this test wrote (it never configures PostgreSQL). */
function sqlitePath(config: CofreConfig): string {
  if (config.state.type !== 'sqlite') throw new Error('this test runs on SQLite state');
  return config.state.path;
}
