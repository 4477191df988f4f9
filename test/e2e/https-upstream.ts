// A real HTTPS API for the service proxy's tests (issue 15): it records every request it receives (path, query,
// headers, body) and answers by path. TLS with the Key Vault stand-in's certificate (localhost and 127.0.0.1), which
// vitest.config.ts makes every test process trust through NODE_EXTRA_CA_CERTS.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { ensureStandInTls } from '../key-vault-standin/certificate.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpsUpstream {
  readonly port: number;
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly received: ReceivedRequest[];
  stop(): Promise<void>;
}

/**
 * Routes (under any prefix): `/echo` answers JSON of what it received, and the credential it found in every
 * encoding (what a careless API does: echo the key in an error); `/redirect-away` a 302 to `away`;
 * `/redirect-here` a 302 to its own `/echo`; `/big` 64 KiB; `/binary` bytes that are not UTF-8; anything else `{}`.
 */
export async function startHttpsUpstream(
  options: { away?: string; secretOf?: (r: ReceivedRequest) => string } = {},
): Promise<HttpsUpstream> {
  const tls = ensureStandInTls();
  const received: ReceivedRequest[] = [];
  const server: Server = createServer(
    { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://upstream');
        const record: ReceivedRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(record);
        answer(url.pathname, record, res, options);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function answer(
  path: string,
  record: ReceivedRequest,
  res: ServerResponse,
  options: { away?: string; secretOf?: (r: ReceivedRequest) => string },
): void {
  if (path.endsWith('/echo')) {
    const secret = options.secretOf?.(record) ?? '';
    const b = Buffer.from(secret, 'utf8');
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': 'session=upstream',
      'x-ratelimit-remaining': '9',
    });
    res.end(
      JSON.stringify({
        received: record,
        echoed: {
          raw: secret,
          base64: b.toString('base64'),
          base64url: b.toString('base64url'),
          hex: b.toString('hex'),
          urlEncoded: encodeURIComponent(secret),
        },
      }),
    );
    return;
  }
  if (path.endsWith('/redirect-away')) {
    res.writeHead(302, { location: `${options.away ?? 'https://example.invalid'}/steal` });
    res.end();
    return;
  }
  if (path.endsWith('/redirect-here')) {
    res.writeHead(302, { location: '/api/echo' });
    res.end();
    return;
  }
  if (path.endsWith('/slow')) {
    return; // never answers: the caller's timeout must end it
  }
  if (path.endsWith('/big')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('x'.repeat(65_536));
    return;
  }
  if (path.endsWith('/binary')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{}');
}
