/**
 * The worked example of Binance's "SIGNED Endpoint Examples for POST /api/v3/order" (HMAC Keys), copied value for
 * value from rest-api.md in binance/binance-spot-api-docs (2023-06-07 revision; the same values appear in the
 * 2021 revision and on developers.binance.com "Request Security").
 * https://github.com/binance/binance-spot-api-docs/blob/master/rest-api.md#signed-endpoint-examples-for-post-apiv3order
 *
 * These are Binance's published sample credentials, not secrets of anyone's.
 */
export const WORKED_EXAMPLE = {
  apiKey: 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
  secretKey: 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j',
  timestamp: 1499827319559,
  /** Example 1 (request body) and Example 2 (query string) sign this text. */
  params:
    'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559',
  signature: 'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71',
  /** Example 3: the query string part… */
  mixedQuery: 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC',
  /** …and the body part; signed as their concatenation, with no `&` between "GTC" and "quantity=1". */
  mixedBody: 'quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559',
  mixedSignature: '0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77',
} as const;
