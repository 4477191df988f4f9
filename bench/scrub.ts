// Scrubbing benchmarks: what the broker pays per response to remove credentials (broker/scrub.ts), against the
// string-splitting scrubber it replaced, on responses of typical and large size.
import { randomBytes } from 'node:crypto';

import { scrubSecrets, scrubValue } from '../src/broker/scrub.js';
import { RESPONSE_RULES, SecretMatcher } from '../src/secrets/secret-matcher.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { measure, report } from './measure.js';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function binanceKey(): string {
  return [...randomBytes(64)].map((b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
}

/** A placed order as the broker answers it: about 400 bytes. */
function orderResponse(i: number): unknown {
  return {
    requestId: `req_${randomBytes(12).toString('base64url')}`,
    status: 'executed',
    rule: 'all',
    result: {
      order: {
        id: String(4_000_000 + i),
        clientOrderId: `bench-${i}`,
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        status: 'closed',
        amount: '0.001',
        filled: '0.001',
        price: '60000.12345678',
        average: '60000.12345678',
        timestamp: new Date(1_764_000_000_000 + i).toISOString(),
      },
    },
  };
}

/** Open orders: `n` orders, about 300 bytes each. */
function openOrdersResponse(n: number): unknown {
  return {
    requestId: 'req_bench',
    status: 'executed',
    result: {
      orders: Array.from(
        { length: n },
        (_, i) => (orderResponse(i) as { result: { order: unknown } }).result.order,
      ),
    },
  };
}

/** The scrubber before issue 8: each secret turned into several JS strings, then `split`/`join` per form. */
function stringSplitScrub(text: string, secrets: readonly SecretValue[]): string {
  let out = text;
  for (const secret of secrets) {
    const bytes = secret.bytes();
    const raw = bytes.toString('utf8');
    const forms = new Set([
      raw,
      JSON.stringify(raw).slice(1, -1),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      encodeURIComponent(raw),
    ]);
    for (const form of forms) out = out.split(form).join('[REDACTED]');
  }
  return out;
}

/** Prints the scrubbing tables. */
export async function scrubBench(): Promise<void> {
  const key = SecretValue.fromText(binanceKey());
  const secret = SecretValue.fromText(binanceKey());
  const credentials = [key, secret];
  // A PEM EC private key is the largest credential some venues use (about 230 bytes).
  const pem = SecretValue.fromText(
    `-----BEGIN EC PRIVATE KEY-----\n${randomBytes(121).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END EC PRIVATE KEY-----\n`,
  );
  const small = JSON.stringify(orderResponse(1));
  const large = JSON.stringify(openOrdersResponse(200));

  report(`Scrubbing one order response (${small.length} bytes) with an API key and secret (64 bytes each)`, [
    await measure('before issue 8: strings and split/join', 20_000, () =>
      Promise.resolve(stringSplitScrub(small, credentials)),
    ),
    await measure('scrubSecrets (build matcher + scan + dispose)', 20_000, () =>
      Promise.resolve(scrubSecrets(small, credentials)),
    ),
    await measure('scrubValue on the parsed response', 20_000, () =>
      Promise.resolve(scrubValue(JSON.parse(small) as unknown, credentials)),
    ),
    await measure('build matcher + dispose only', 20_000, () => {
      SecretMatcher.of(credentials, RESPONSE_RULES).dispose();
      return Promise.resolve();
    }),
    await measure('scrubSecrets with a PEM private key as well', 20_000, () =>
      Promise.resolve(scrubSecrets(small, [...credentials, pem])),
    ),
  ]);

  const matcher = SecretMatcher.of(credentials, RESPONSE_RULES);
  report(`Scrubbing 200 open orders (${(large.length / 1024).toFixed(0)} KiB)`, [
    await measure('before issue 8: strings and split/join', 500, () =>
      Promise.resolve(stringSplitScrub(large, credentials)),
    ),
    await measure('scrubSecrets', 500, () => Promise.resolve(scrubSecrets(large, credentials))),
    await measure('scan only (matcher built once)', 500, () => Promise.resolve(matcher.redact(large))),
  ]);
  matcher.dispose();
  for (const value of [...credentials, pem]) value.zero();
}
