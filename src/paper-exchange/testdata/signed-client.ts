// A client of the paper exchange over plain HTTP that signs as Binance's documentation says, for its own tests.
import { type KeyObject, sign } from 'node:crypto';

import { expect } from 'vitest';

import { binanceSignature } from '../binance-signature.js';
import type { PaperExchange } from '../paper-exchange.js';

export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire JSON under test; assertions check its shape
  body: any;
}

/** A JSON array of objects, or a failed assertion. */
export function list(value: unknown): Record<string, unknown>[] {
  expect(Array.isArray(value)).toBe(true);
  return value as Record<string, unknown>[];
}

export async function send(
  ex: PaperExchange,
  method: string,
  pathAndQuery: string,
  options: { apiKey?: string; body?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers['X-MBX-APIKEY'] = options.apiKey;
  if (options.body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${ex.url}${pathAndQuery}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: res.status, body: await res.json() };
}

/** A client that signs like Binance's docs say: HMAC-SHA256 hex of query string + body. */
export function client(ex: PaperExchange, apiKey: string, secret: string, clock: () => number) {
  return async (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    params: Record<string, string>,
    where: 'query' | 'body' = method === 'POST' ? 'body' : 'query',
  ): Promise<Reply> => {
    const text = new URLSearchParams({ ...params, timestamp: String(clock()) }).toString();
    const signed = `${text}&signature=${binanceSignature(secret, text)}`;
    return where === 'query'
      ? send(ex, method, `${path}?${signed}`, { apiKey })
      : send(ex, method, path, { apiKey, body: signed });
  };
}

/**
 * A client that signs with an Ed25519 or RSA private key, as the docs' RSA and Ed25519 examples do: base64 of the
 * signature of query string + body, URL-encoded.
 */
export function keyPairClient(ex: PaperExchange, apiKey: string, privateKey: KeyObject, clock: () => number) {
  return async (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    params: Record<string, string>,
  ): Promise<Reply> => {
    const text = new URLSearchParams({ ...params, timestamp: String(clock()) }).toString();
    const data = Buffer.from(text);
    const raw =
      privateKey.asymmetricKeyType === 'ed25519'
        ? sign(null, data, privateKey)
        : sign('sha256', data, privateKey);
    const signed = `${text}&signature=${encodeURIComponent(raw.toString('base64'))}`;
    return method === 'POST'
      ? send(ex, method, path, { apiKey, body: signed })
      : send(ex, method, `${path}?${signed}`, { apiKey });
  };
}
