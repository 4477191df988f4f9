// Issue 17: the TypeScript client mints a narrower token for a sub-agent, and the sub-agent's own client does what
// its grant allows and nothing more, against a served cofre.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CofreClient,
  CofreDeniedError,
  CofreRequestError,
  createCofreClient,
} from '../../src/client/index.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { buyAtMarket } from '../resting-buy.js';
import { clientFor, startClientFixture } from './served-client.js';

let fx: ServedFixture;
let trader: CofreClient;

beforeAll(async () => {
  fx = await startClientFixture();
  trader = await clientFor(fx, 'delegating-trader', 'trader');
});

afterAll(async () => {
  await fx.close();
});

describe('CofreClient.delegate', () => {
  it('mints a sub-agent token whose client may do only what it was granted', async () => {
    const minted = await trader.delegate({
      name: 'watcher',
      actions: ['get_balance', 'get_ticker'],
      symbols: ['BTC/USDT'],
      limits: [{ measure: 'orders', window: '1h', cap: '0' }],
      ttl: '10m',
    });
    expect(minted).toMatchObject({
      token: expect.stringMatching(/^cofre_st_/),
      agent: 'delegating-trader/watcher',
      onBehalfOf: ['delegating-trader'],
      grant: { actions: ['get_balance', 'get_ticker'], symbols: ['BTC/USDT'], tokenId: expect.any(String) },
    });
    expect(Date.parse(minted.expiresAt)).toBeGreaterThan(Date.now());

    const watcher = await createCofreClient({ baseUrl: fx.url, token: minted.token });
    expect(await watcher.listActions()).toEqual(['get_balance', 'get_ticker', 'get_request']);
    expect((await watcher.getBalance({ account: 'paper' })).balance).toBeDefined();
    const denied = await watcher.placeOrder(buyAtMarket('0.001', 'watcher-1')).catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(CofreDeniedError);
    expect((denied as CofreDeniedError).response).toMatchObject({ rule: 'delegation' });
  });

  it('throws COFRE_DELEGATION_REFUSED naming what is wider, and COFRE_INPUT_INVALID for a bad request', async () => {
    const narrow = await createCofreClient({
      baseUrl: fx.url,
      token: (await trader.delegate({ name: 'narrow', actions: ['get_ticker'] })).token,
    });
    const wider = await narrow
      .delegate({ name: 'wider', actions: ['withdraw'] })
      .catch((err: unknown) => err);
    expect(wider).toBeInstanceOf(CofreRequestError);
    expect(wider).toMatchObject({ code: 'COFRE_DELEGATION_REFUSED', httpStatus: 403 });
    expect((wider as Error).message).toContain(
      'action withdraw is not yours to ask for (yours: get_ticker, get_request)',
    );
    const invalid = await trader.delegate({ name: 'Bad Name' }).catch((err: unknown) => err);
    expect(invalid).toMatchObject({ code: 'COFRE_INPUT_INVALID', httpStatus: 400 });
  });
});
