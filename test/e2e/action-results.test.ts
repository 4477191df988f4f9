// The result schemas (src/broker/action-results.ts) are what the OpenAPI document, the MCP tools' outputSchema and
// the clients promise. This holds them to real results: every action run through `cofre serve`'s wiring in front of
// the paper exchange, each result parsed by its schema. Parsing drops fields a schema does not name, so a result
// that grew a field (or changed a type) without its schema fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { actionResultSchemas } from '../../src/broker/action-results.js';
import { ACTION_NAMES, type ActionName } from '../../src/broker/actions.js';
import { ENCRYPTION_ACTIONS, WALLET_ACTIONS } from '../../src/config/policy-config.js';
import { type HttpAnswer, type ServedFixture, startServedBroker } from './served-broker.js';

let fx: ServedFixture;
let agent: string;
let operator: string;

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'addressBook:',
    '  cold-usdt: { asset: USDT, network: TRX, address: "TColdWalletAddressForResultSchemas0001" }',
    'services:',
    `  paper-public: { baseUrl: "${url}/api/v3", secret: "local:exchanges/paper#apiKey", inject: { type: header, name: X-MBX-APIKEY }, paths: ["/**"], local: true }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order, place_order, cancel_order, cancel_all_orders]',
    '        accounts: [paper]',
    '      - { approve: [withdraw], accounts: [paper], destinations: [cold-usdt] }',
    '      - { allow: [http_request], services: [paper-public] }',
    '    limits:',
    '      - { name: daily, per: agent, window: 24h, notional: 20000, quote: USDT }',
    '      - { name: open, per: account, openOrders: 10 }',
  ]);
  agent = await fx.agentToken('trader-1', 'trader');
  operator = await fx.operatorToken('alice');
});

afterAll(async () => {
  await fx.close();
});

const results = new Map<ActionName, unknown[]>();

async function run(name: ActionName, body: Record<string, unknown>): Promise<HttpAnswer> {
  const answer = await fx.call('POST', `/v1/actions/${name}`, agent, body);
  if (answer.body['status'] === 'executed')
    results.set(name, [...(results.get(name) ?? []), answer.body['result']]);
  return answer;
}

const paper = { account: 'paper', symbol: 'BTC/USDT' };
const limitBuy = { ...paper, side: 'buy', type: 'limit', amount: '0.001', price: '50000' };

describe('every action result matches its schema', () => {
  beforeAll(async () => {
    await run('list_accounts', {});
    await run('get_limits', {});
    await run('get_balance', { account: 'paper' });
    await run('get_ticker', paper);
    await run('http_request', { service: 'paper-public', method: 'GET', path: '/time' });
    await run('preview_order', limitBuy);
    await run('preview_order', { ...paper, side: 'sell', type: 'market', amount: '0.001' });
    await run('place_order', { ...limitBuy, clientOrderId: 'results-1' });
    await run('place_order', {
      ...paper,
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: 'results-2',
    });
    await run('get_open_orders', paper);
    await run('get_order', { ...paper, clientOrderId: 'results-1' });
    await run('cancel_order', { ...paper, clientOrderId: 'results-1' });
    await run('place_order', { ...limitBuy, clientOrderId: 'results-3' });
    await run('cancel_all_orders', { account: 'paper' });
    const pending = await run('withdraw', {
      account: 'paper',
      asset: 'USDT',
      amount: '25',
      destination: 'cold-usdt',
      clientWithdrawId: 'results-w1',
    });
    const requestId = String(pending.body['requestId']);
    const { payloadHash } = pending.body['approval'] as { payloadHash: string };
    const approved = await fx.call('POST', `/v1/operator/approvals/${requestId}/approve`, operator, {
      payloadHash,
    });
    expect(approved.body).toMatchObject({ outcome: 'executed' });
    await run('get_request', { requestId });
    const done = await fx.call('GET', `/v1/requests/${requestId}`, agent);
    expect(done.body['status']).toBe('executed');
    results.set('withdraw', [done.body['result']]);
  });

  // Issue 19's actions need a chain, a key service or both: their results are parsed with these same schemas in
  // test/wallets/ and test/encryption/.
  const elsewhere: ReadonlySet<string> = new Set([...WALLET_ACTIONS, ...ENCRYPTION_ACTIONS]);
  it.each(ACTION_NAMES.filter((name) => !elsewhere.has(name)))('%s', (name) => {
    const seen = results.get(name) ?? [];
    expect(seen.length, `no executed ${name} was seen`).toBeGreaterThan(0);
    for (const result of seen) {
      expect(actionResultSchemas[name].parse(result)).toEqual(result);
    }
  });

  it('a schema fails a result that grew a field it does not name', () => {
    const [balance] = results.get('get_balance') ?? [];
    const grown = { ...(balance as object), extra: 1 };
    expect(actionResultSchemas.get_balance.parse(grown)).not.toEqual(grown);
  });
});
