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

/**
 * The RSA Keys example of the same section (rest-api.md, 2023-06-07 revision): the payload and the signature it
 * shows, base64 and URL-encoded. Binance publishes neither the private nor the public key of this example, so the
 * signature cannot be verified; it documents the encoding.
 */
export const RSA_EXAMPLE = {
  apiKey: 'CAvIjXy3F44yW6Pou5k8Dy1swsYDWJZLeoK2r8G4cFDnE9nosRppc2eKc1T8TRTQ',
  payload:
    'symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000',
  signature:
    'HZ8HOjiJ1s/igS9JA+n7+7Ti/ihtkRF5BIWcPIEluJP6tlbFM/Bf44LfZka/iemtahZAZzcO9TnI5uaXh3++lrqtNonCwp6/245UFWkiW1elpgtVAmJPbogcAv6rSlokztAfWk296ZJXzRDYAtzGH0gq7CgSJKfH+XxaCmR0WcvlKjNQnp12/eKXJYO4tDap8UCBLuyxDnR7oJKLHQHJLP0r0EAVOOSIbrFang/1WOq+Jaq4Efc4XpnTgnwlBbWTmhWDR1pvS9iVEzcSYLHT/fNnMRxFc7u+j3qI//5yuGuu14KR0MuQKKCSpViieD+fIti46sxPTsjSemoUKp0oXA==',
  urlEncoded:
    'HZ8HOjiJ1s%2FigS9JA%2Bn7%2B7Ti%2FihtkRF5BIWcPIEluJP6tlbFM%2FBf44LfZka%2FiemtahZAZzcO9TnI5uaXh3%2B%2BlrqtNonCwp6%2F245UFWkiW1elpgtVAmJPbogcAv6rSlokztAfWk296ZJXzRDYAtzGH0gq7CgSJKfH%2BXxaCmR0WcvlKjNQnp12%2FeKXJYO4tDap8UCBLuyxDnR7oJKLHQHJLP0r0EAVOOSIbrFang%2F1WOq%2BJaq4Efc4XpnTgnwlBbWTmhWDR1pvS9iVEzcSYLHT%2FfNnMRxFc7u%2Bj3qI%2F%2F5yuGuu14KR0MuQKKCSpViieD%2BfIti46sxPTsjSemoUKp0oXA%3D%3D',
} as const;
