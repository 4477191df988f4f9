// A minimal HTTP/1.1 client over node:http with keep-alive: the same client for every case that is not ccxt, so
// differences between those cases come from what sits between the client and the exchange, not from the client.
import { Agent, request } from 'node:http';

/** A response as read in full. */
export interface PostAnswer {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive connection pool of `maxSockets` connections (one per request in flight). */
export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** POSTs `body` to `url` and reads the whole answer. Rejects on transport errors only, never on a status. */
export function post(
  agent: Agent,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
): Promise<PostAnswer> {
  return send(agent, 'POST', url, headers, body);
}

/**
 * Sends one request with `method` (a body only when given) and reads the whole answer. Rejects on transport errors
 * only, never on a status.
 */
export function send(
  agent: Agent,
  method: 'GET' | 'POST' | 'DELETE',
  url: URL,
  headers: Readonly<Record<string, string>>,
  body?: string,
): Promise<PostAnswer> {
  const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
