import fastify from 'fastify';
import { describe, expect, it } from 'vitest';

import type { TokenExchange } from '../../identity/token-exchange.js';
import {
  registerTokenExchangeRoute,
  TOKEN_REQUEST_BURST,
  TOKEN_REQUESTS_PER_SECOND,
} from './token-exchange-route.js';

describe('POST /v1/token rate limit', () => {
  it('bounds token requests per client address, says when to retry, and refills with time', async () => {
    let exchanged = 0;
    const exchange: TokenExchange = {
      exchange: () => {
        exchanged++;
        return Promise.resolve({
          accessToken: 'cofre_st_x',
          expiresIn: 600,
          expiresAt: new Date(0),
          agentId: 'bot',
        });
      },
    };
    const clock = { now: 1_000_000 };
    const app = fastify();
    registerTokenExchangeRoute(app, exchange, () => clock.now);
    const ask = (remoteAddress: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/token',
        remoteAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=x',
      });
    try {
      for (let i = 0; i < TOKEN_REQUEST_BURST; i++) expect((await ask('10.0.0.1')).statusCode).toBe(200);
      const limited = await ask('10.0.0.1');
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.json()).toMatchObject({
        error: 'temporarily_unavailable',
        code: 'COFRE_TOKEN_EXCHANGE_RATE_LIMITED',
      });
      expect(exchanged).toBe(TOKEN_REQUEST_BURST);
      // Another address has its own budget; time refills this one.
      expect((await ask('10.0.0.2')).statusCode).toBe(200);
      clock.now += 1000;
      for (let i = 0; i < TOKEN_REQUESTS_PER_SECOND; i++)
        expect((await ask('10.0.0.1')).statusCode).toBe(200);
      expect((await ask('10.0.0.1')).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});
