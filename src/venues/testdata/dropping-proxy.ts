// Test helper: a proxy that loses answers, for the venue tests (lost answers of writes, failed reads).
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the proxy saw it. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: string;
}

/**
 * A loopback HTTP proxy in front of the paper exchange that destroys the connection, after reading the whole
 * request, of every request `drop` selects: the answer is lost after the request was sent (with `'after-forwarding'`,
 * after the exchange received and acted on it). Requests `answer`
 * selects get its answer instead of the exchange's (a venue that says something else). Both also get the whole
 * request (to pick one order by its parameters), and `drop` may answer later with a promise: the request waits at
 * the proxy, unforwarded, until it settles (a test can stop cofre while a request is on its way). `holdAnswer` may
 * hold the exchange's answer to a request (after the exchange acted) until its promise settles: a slow network.
 */
export async function startDroppingProxy(
  target: string,
  drop: (
    method: string,
    path: string,
    request: ProxiedRequest,
  ) => boolean | 'after-forwarding' | Promise<boolean | 'after-forwarding'>,
  answer?: (
    method: string,
    path: string,
    request: ProxiedRequest,
  ) => { status: number; body: unknown } | undefined,
  holdAnswer?: (request: ProxiedRequest) => Promise<void> | undefined,
): Promise<{ url: string; seen: ProxiedRequest[]; stop: () => Promise<void> }> {
  const seen: ProxiedRequest[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const raw = req.url ?? '/';
      const mark = raw.indexOf('?');
      const method = req.method ?? 'GET';
      const path = mark === -1 ? raw : raw.slice(0, mark);
      const request: ProxiedRequest = {
        method,
        path,
        query: mark === -1 ? '' : raw.slice(mark + 1),
        body: body.toString('utf8'),
      };
      seen.push(request);
      const relay = (dropping: boolean | 'after-forwarding'): void => {
        if (dropping === true) {
          req.socket.destroy();
          return;
        }
        const own = answer?.(method, path, request);
        if (own !== undefined) {
          res.writeHead(own.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(own.body));
          return;
        }
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method,
            path: raw,
            headers: { ...req.headers, host: upstream.host },
          },
          (upstreamAnswer) => {
            if (dropping === 'after-forwarding') {
              // The exchange acted; its answer is lost on the way back.
              upstreamAnswer.resume();
              req.socket.destroy();
              return;
            }
            const pass = (): void => {
              res.writeHead(upstreamAnswer.statusCode ?? 502, upstreamAnswer.headers);
              upstreamAnswer.pipe(res);
            };
            const held = holdAnswer?.(request);
            if (held === undefined) pass();
            else void held.then(pass, pass);
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(body);
      };
      const dropping = drop(method, path, request);
      if (typeof dropping === 'object') {
        // A held request: relayed (or dropped) once the test decides; a rejected decision drops it.
        dropping.then(relay, () => {
          relay(true);
        });
      } else {
        relay(dropping);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
