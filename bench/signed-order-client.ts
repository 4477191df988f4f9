// A client that signs Binance `POST /api/v3/order` itself (HMAC-SHA256 of the form body, as Binance documents and
// as ccxt does for spot orders) and sends it with node:http: the floor a hand-written bot pays, and, sent through
// nginx without the API key header, the request a header-injecting proxy forwards.
import { createHmac } from 'node:crypto';
import type { Agent } from 'node:http';

import { post } from './http-post.js';

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
