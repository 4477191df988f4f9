/**
 * A `fetch` for servers whose certificate is signed by a CA of the config (`caFile`) rather than a system CA.
 *
 * Node's global `fetch` (undici) takes a custom CA only through undici's `Agent`, which Node does not expose and
 * cofre does not add as a dependency; `NODE_EXTRA_CA_CERTS` is read only at process start and applies to every
 * connection. So this adapter sends the request with `node:https` and a dedicated agent trusting exactly `ca`, and
 * returns a standard `Response`. It implements what {@link VaultClient} uses: method, string headers, a string
 * body, an abort signal; `redirect` is not followed (Vault does not redirect API calls). The response body is a
 * stream, as with `fetch`, so the caller's size limit applies to it.
 */
import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';

/** A fetch-compatible function trusting `ca` (PEM) for https URLs, with `close()` to free its sockets. */
export interface CaFetch {
  readonly fetch: typeof fetch;
  close(): void;
}

/** See the module comment. Safe to call concurrently. */
export function fetchTrustingCa(ca: string | Buffer): CaFetch {
  const agent = new Agent({ ca, keepAlive: true });
  const send = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const body = typeof init.body === 'string' ? init.body : undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent,
          ...(init.signal === null || init.signal === undefined ? {} : { signal: init.signal }),
        },
        (res) => {
          // The body is streamed, not collected here: the caller reads it with its own size limit, and stopping
          // that read destroys the socket's stream.
          const status = res.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') responseHeaders.set(key, value);
          }
          const noBody = status === 204 || status === 205 || status === 304;
          if (noBody) res.resume();
          const body = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, headers: responseHeaders }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  return {
    fetch: send,
    close: () => {
      agent.destroy();
    },
  };
}
