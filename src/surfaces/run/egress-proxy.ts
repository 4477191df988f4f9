import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';

import { forwardToService, Refusal } from './egress-forward.js';
import type { RunCa } from './run-ca.js';
import { type AllowedHost, type EgressHooks, type RunService, unbracket } from './run-service.js';

/** The loopback proxy of one `cofre run`. */
export interface EgressProxy {
  /** `http://127.0.0.1:<port>`: what the child's HTTPS_PROXY / HTTP_PROXY say. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the run's egress proxy on a random loopback port (node:http, node:tls, node:net: CONNECT handling is
 * small, and a proxy library would add a dependency that sees every byte for little gain).
 *
 * The rule, the simplest that is secure: a CONNECT (or plain-HTTP proxy request) to the host and port of a service
 * of this run is intercepted — TLS terminated with a leaf certificate from the run's CA, each request checked and
 * swapped by {@link forwardToService}, and re-encrypted to the real upstream. A CONNECT to a host in `allowHosts` is
 * tunnelled as is (nothing swapped; the tool could send a placeholder there, which is worthless). Every other
 * destination is refused with 403 and `COFRE_EGRESS_REFUSED`, and recorded: the proxy cannot see inside a tunnel it
 * does not intercept, so it does not open one.
 */
export async function startEgressProxy(options: {
  readonly services: readonly RunService[];
  readonly allowHosts: readonly AllowedHost[];
  readonly ca: RunCa;
  readonly hooks: EgressHooks;
}): Promise<EgressProxy> {
  const { services, allowHosts, ca, hooks } = options;
  const serviceOf = (host: string, port: number, protocol: 'https:' | 'http:'): RunService | undefined =>
    services.find((s) => s.host === host && s.port === port && s.protocol === protocol);
  const intercepted = new WeakMap<object, RunService>();
  const sockets = new Set<Socket>();

  const serve = (req: IncomingMessage, res: ServerResponse, service: RunService): void => {
    forwardToService(req, res, service, services, hooks).catch((err: unknown) => {
      const refusal =
        err instanceof Refusal ? err : new Refusal(502, 'COFRE_SERVICE_UNAVAILABLE', 'the proxy failed');
      if (!res.headersSent) {
        res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      }
      res.end(`${refusal.code}: ${refusal.message}\n`);
    });
  };

  // The server the intercepted (decrypted) connections are handed to; it never listens on a port.
  const inner = createServer((req, res) => {
    const service = intercepted.get(req.socket);
    if (service === undefined) res.destroy();
    else serve(req, res, service);
  });

  const outer: Server = createServer((req, res) => {
    // A plain-HTTP proxy request: `GET http://host:port/path`. Only an http service of this run is served.
    const url = parseUrl(req.url ?? '');
    const service = url === undefined ? undefined : serviceOf(url.host, url.port, 'http:');
    if (service !== undefined) {
      serve(req, res, service);
      return;
    }
    const where = url === undefined ? { host: '-', port: 0 } : url;
    void hooks.onRefusal({ ...where, method: req.method ?? '-', reason: 'not a service of this run' });
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(`COFRE_EGRESS_REFUSED: ${where.host}:${where.port} is not a service of this cofre run\n`);
  });

  outer.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    const service = target === undefined ? undefined : serviceOf(target.host, target.port, 'https:');
    if (target !== undefined && service !== undefined) {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) client.unshift(head);
      const tls = new TLSSocket(client, {
        isServer: true,
        secureContext: createSecureContext(ca.leafFor(target.host)),
      });
      tls.on('error', () => tls.destroy());
      intercepted.set(tls, service);
      inner.emit('connection', tls);
      return;
    }
    const plain = target === undefined ? undefined : serviceOf(target.host, target.port, 'http:');
    if (plain !== undefined) {
      // An http service (loopback only, by the config's rule) reached through CONNECT, as undici's ProxyAgent does.
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) client.unshift(head);
      intercepted.set(client, plain);
      inner.emit('connection', client);
      return;
    }
    if (target !== undefined && allowHosts.some((a) => a.host === target.host && a.port === target.port)) {
      tunnel(client, target, head);
      return;
    }
    const where = target ?? { host: '-', port: 0 };
    void hooks.onRefusal({ ...where, method: 'CONNECT', reason: 'not a service of this run' });
    client.end(
      'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' +
        `COFRE_EGRESS_REFUSED: ${where.host}:${where.port} is not a service of this cofre run\n`,
    );
  });
  outer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((done, fail) => {
    outer.once('error', fail);
    outer.listen(0, '127.0.0.1', () => {
      done();
    });
  });
  const address = outer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) =>
        outer.close(() => {
          done();
        }),
      );
      inner.close();
    },
  };
}

function tunnel(client: Socket, target: { host: string; port: number }, head: Buffer): void {
  const upstream = connect(target.port, target.host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => {
    client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
  });
  client.on('close', () => upstream.destroy());
}

/** `host:port` or `[v6]:port` of a CONNECT, lower-cased; undefined when malformed. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(authority);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: unbracket(match[1].toLowerCase()), port };
}

function parseUrl(target: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(target);
    if (url.protocol !== 'http:') return undefined;
    return { host: unbracket(url.hostname.toLowerCase()), port: url.port === '' ? 80 : Number(url.port) };
  } catch {
    return undefined;
  }
}
