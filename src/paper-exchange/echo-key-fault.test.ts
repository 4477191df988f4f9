import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { binanceSignature } from './binance-signature.js';
import type { EchoKeyMode } from './echo-key-fault.js';
import { PaperConfigError } from './paper-config-error.js';
import { type PaperExchange, startPaperExchange } from './paper-exchange.js';
import { BTCUSDT } from './spot-markets.js';

const KEY = 'EchoKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU';
const SECRET = 'echo-secret';

let ex: PaperExchange;

beforeAll(async () => {
  ex = await startPaperExchange({
    accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
});

afterAll(() => ex.stop());

async function signed(
  method: 'GET' | 'POST',
  path: string,
  params: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const query = `${text}&signature=${binanceSignature(SECRET, text)}`;
  const res = await fetch(`${ex.url}${path}?${query}`, { method, headers: { 'X-MBX-APIKEY': KEY } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function errorWith(mode: EchoKeyMode): Promise<string> {
  ex.echoKey(mode);
  try {
    const reply = await signed('GET', '/api/v3/account');
    expect(reply.status).toBe(401);
    expect(reply.body['code']).toBe(-2015);
    return String(reply.body['msg']);
  } finally {
    ex.echoKey(undefined);
  }
}

describe('the echo-the-key fault', () => {
  it('echoes the key in error messages, whole and in each encoding', async () => {
    expect(await errorWith('error-whole')).toContain(KEY);
    const fragments = await errorWith('error-fragments');
    expect(fragments).toContain(KEY.slice(0, 20));
    expect(fragments).toContain(KEY.slice(20, 40));
    expect(fragments).not.toContain(KEY);
    const b64 = await errorWith('error-base64-odd');
    expect(b64).not.toContain(Buffer.from(KEY).toString('base64').slice(0, 20));
    expect(Buffer.from(b64.split(' ').at(-1) ?? '', 'base64').toString()).toBe(`!${KEY}#`);
    expect(await errorWith('error-hex')).toContain(Buffer.from(KEY).toString('hex').toUpperCase());
    const url = await errorWith('error-url');
    expect(url).toContain('%45%63%68%6f'.toLowerCase()); // "Echo"
    expect(decodeURIComponent(url)).toContain(KEY);
  });

  it('echoes the key as clientOrderId in successful answers, whole or a 20-character fragment', async () => {
    const order = { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.001' };
    ex.echoKey('result-whole');
    const whole = await signed('POST', '/api/v3/order', { ...order, newClientOrderId: 'echo-1' });
    ex.echoKey('result-fragment');
    const fragment = await signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'echo-1' });
    ex.echoKey(undefined);
    const plain = await signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'echo-1' });
    expect(whole.body).toMatchObject({ status: 'FILLED', clientOrderId: KEY });
    expect(fragment.body).toMatchObject({ status: 'FILLED', clientOrderId: KEY.slice(0, 20) });
    expect(plain.body).toMatchObject({ clientOrderId: 'echo-1' });
  });

  it('leaves public endpoints alone, and refuses an unknown mode', async () => {
    ex.echoKey('error-whole');
    try {
      const res = await fetch(`${ex.url}/api/v3/ticker/price?symbol=BTCUSDT`);
      expect(res.status).toBe(200);
    } finally {
      ex.echoKey(undefined);
    }
    expect(() => {
      ex.echoKey('nope' as EchoKeyMode);
    }).toThrow(PaperConfigError);
  });
});
