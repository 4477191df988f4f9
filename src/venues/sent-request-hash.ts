import { createHash } from 'node:crypto';

/**
 * The SHA-256 (hex) that stands in the audit log for one request sent to a venue (issue 10: the log proves what
 * left): of the UTF-8 bytes `<METHOD> <URL>\n<body>`, with method, URL (query string and signature included) and
 * body exactly as ccxt hands them to `fetch` after signing; an absent body is empty. Headers are left out: they
 * carry the API key, and hold nothing the venue executes. Pure.
 *
 * An auditor recomputes it from a venue's or proxy's request log: `sha256("POST https://api.binance.com/api/v3/order?…\n")`.
 */
export function sentRequestSha256(method: string, url: string, body: string | undefined): string {
  return createHash('sha256')
    .update(`${method} ${url}\n${body ?? ''}`, 'utf8')
    .digest('hex');
}
