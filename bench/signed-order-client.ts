// A client that signs Binance requests itself (HMAC-SHA256 of the form body or query, as Binance documents and as
// ccxt does for spot): `POST /api/v3/order` (market and limit), `DELETE /api/v3/order` and `GET /api/v3/account`,
// sent with node:http. The floor a hand-written bot pays, and, sent through nginx without the API key header, the
// request a header-injecting proxy forwards.
import { createHmac } from 'node:crypto';
import type { Agent } from 'node:http';

import { post, type PostAnswer, send } from './http-post.js';

/** Where to send orders and what to sign them with. */
export interface SignedOrderTarget {
  /** Paper exchange, or a proxy in front of it. */
  readonly baseUrl: string;
  readonly secret: string;
  /** Sent as `X-MBX-APIKEY`; leave out when the proxy adds it. */
  readonly apiKey?: string;
}

/**
 * Places one market buy of 0.001 BTCUSDT with `clientOrderId`, signed now, and checks the exchange filled it.
 * Throws with the exchange's answer on anything else: a failed order in a benchmark is a bug.
 */
export async function placeSignedMarketOrder(
  agent: Agent,
  target: SignedOrderTarget,
  clientOrderId: string,
): Promise<void> {
  const params = new URLSearchParams({
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'MARKET',
    quantity: '0.001',
    newClientOrderId: clientOrderId,
    newOrderRespType: 'FULL',
    recvWindow: '10000',
    timestamp: String(Date.now()),
  }).toString();
  const signature = createHmac('sha256', target.secret).update(params).digest('hex');
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (target.apiKey !== undefined) headers['x-mbx-apikey'] = target.apiKey;
  const answer = await post(
    agent,
    new URL('/api/v3/order', target.baseUrl),
    headers,
    `${params}&signature=${signature}`,
  );
  const order = answer.status === 200 ? (JSON.parse(answer.body) as { status?: unknown }) : undefined;
  if (order?.status !== 'FILLED') {
    throw new Error(
      `signed order ${clientOrderId} failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`,
    );
  }
}

/**
 * Places one LIMIT GTC buy of 0.001 BTCUSDT at `price` with `clientOrderId` and checks that it rests (status NEW):
 * the first half of a place-then-cancel cycle. Throws with the exchange's answer on anything else.
 */
export async function placeSignedLimitOrder(
  agent: Agent,
  target: SignedOrderTarget,
  clientOrderId: string,
  price: string,
): Promise<void> {
  const answer = await sendSigned(agent, target, 'POST', '/api/v3/order', {
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'LIMIT',
    timeInForce: 'GTC',
    quantity: '0.001',
    price,
    newClientOrderId: clientOrderId,
    newOrderRespType: 'RESULT',
  });
  expectStatus(answer, 'NEW', `signed limit order ${clientOrderId}`);
}

/** Cancels the order placed with `clientOrderId` (`DELETE /api/v3/order`, signed query) and checks it is CANCELED. */
export async function cancelSignedOrder(
  agent: Agent,
  target: SignedOrderTarget,
  clientOrderId: string,
): Promise<void> {
  const answer = await sendSigned(agent, target, 'DELETE', '/api/v3/order', {
    symbol: 'BTCUSDT',
    origClientOrderId: clientOrderId,
  });
  expectStatus(answer, 'CANCELED', `signed cancel of ${clientOrderId}`);
}

/** Reads the account's balances (`GET /api/v3/account`, signed query) and checks the answer has them. */
export async function getSignedAccount(agent: Agent, target: SignedOrderTarget): Promise<void> {
  const answer = await sendSigned(agent, target, 'GET', '/api/v3/account', { omitZeroBalances: 'true' });
  const account = answer.status === 200 ? (JSON.parse(answer.body) as { balances?: unknown }) : undefined;
  if (!Array.isArray(account?.balances)) {
    throw new Error(`signed account read failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  }
}

/**
 * Signs `params` (plus `recvWindow` and `timestamp`) as Binance documents for SIGNED endpoints and sends them: in
 * the form body for POST, in the query string for GET and DELETE (as ccxt does for spot).
 */
async function sendSigned(
  agent: Agent,
  target: SignedOrderTarget,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  params: Readonly<Record<string, string>>,
): Promise<PostAnswer> {
  const query = new URLSearchParams({
    ...params,
    recvWindow: '10000',
    timestamp: String(Date.now()),
  }).toString();
  const signed = `${query}&signature=${createHmac('sha256', target.secret).update(query).digest('hex')}`;
  const headers: Record<string, string> = {};
  if (target.apiKey !== undefined) headers['x-mbx-apikey'] = target.apiKey;
  if (method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return send(agent, method, new URL(path, target.baseUrl), headers, signed);
  }
  return send(agent, method, new URL(`${path}?${signed}`, target.baseUrl), headers);
}

function expectStatus(answer: PostAnswer, status: string, what: string): void {
  const order = answer.status === 200 ? (JSON.parse(answer.body) as { status?: unknown }) : undefined;
  if (order?.status !== status) {
    throw new Error(`${what} failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  }
}
