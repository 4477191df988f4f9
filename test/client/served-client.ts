// A served cofre (test/e2e/served-broker.ts: `cofre serve`'s own wiring, in front of the paper exchange) with the
// agents and policies the TypeScript client's tests use, and clients for them.
import { type CofreClient, createCofreClient } from '../../src/client/index.js';
import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';

/** The paper exchange's address-book entry the trader may withdraw to (after approval). */
export const COLD_ADDRESS = 'TClientTestColdWalletAddress000001';

/**
 * Policies: `trader` reads everything, places orders up to 500 USDT, waits for an operator from 500 to 5,000 USDT
 * (above: denied), cancels, and withdraws to `cold-usdt` after approval; `reader` may only read balances and
 * tickers. Every agent may have 5 denied requests in a row, then one a minute (the 429 test).
 */
export async function startClientFixture(): Promise<ServedFixture> {
  return startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000, deniedPerMinute: 1, deniedBurst: 5 } }',
    'addressBook:',
    `  cold-usdt: { asset: USDT, network: TRX, address: "${COLD_ADDRESS}" }`,
    // Issue 15: the paper exchange's public API as a service, so the trader is offered http_request too.
    'services:',
    `  paper-public: { baseUrl: "${url}/api/v3", secret: "local:exchanges/paper#apiKey", inject: { type: header, name: X-MBX-APIKEY }, paths: ["/time"], local: true }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order, cancel_order, cancel_all_orders]',
    '        accounts: [paper]',
    '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
    '      - { name: large, approve: [place_order], accounts: [paper], minNotional: 500, maxNotional: 5000 }',
    '      - { name: cold, approve: [withdraw], accounts: [paper], destinations: [cold-usdt], maxAmount: 1000 }',
    '      - { allow: [http_request], services: [paper-public], methods: [GET] }',
    '  reader:',
    '    accounts: [paper]',
    '    actions: [get_balance, get_ticker]',
  ]);
}

/** A client for a new agent with `policy`. */
export async function clientFor(
  fx: ServedFixture,
  agent: string,
  policy: string,
  validate = true,
): Promise<CofreClient> {
  return createCofreClient({ baseUrl: fx.url, token: await fx.agentToken(agent, policy), validate });
}

/** Approves a pending request through the operator API, as an operator would. */
export async function approve(
  fx: ServedFixture,
  operatorToken: string,
  requestId: string,
  payloadHash: string,
): Promise<void> {
  const answer = await fx.call('POST', `/v1/operator/approvals/${requestId}/approve`, operatorToken, {
    payloadHash,
  });
  if (answer.status !== 200) throw new Error(`approval failed: ${JSON.stringify(answer.body)}`);
}
