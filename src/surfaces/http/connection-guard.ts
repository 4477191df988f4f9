import type { Server } from 'node:http';
import { isIP, type Socket } from 'node:net';

import type { Logger } from 'pino';

import type { ServerConfig } from '../../config/config-schema.js';

/** Connection limits and timeouts of the HTTP server (`server.connections`, durations in ms). */
export interface ConnectionOptions {
  /** Open connections at most; when full, the oldest idle one makes room. */
  readonly max: number;
  /** Open connections per client address at most; undefined for no cap (loopback binds). */
  readonly maxPerIp: number | undefined;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** 0 for no limit. */
  readonly maxRequestsPerSocket: number;
}

/**
 * The connection options for a server config. The per-IP cap applies only when the server binds a non-loopback
 * address: on loopback every client comes from the same address, so a per-IP cap would be a global one.
 */
export function connectionOptionsFor(server: Pick<ServerConfig, 'host' | 'connections'>): ConnectionOptions {
  const c = server.connections;
  return {
    max: c.max,
    maxPerIp: isLoopbackHost(server.host) ? undefined : c.maxPerIp,
    headersTimeoutMs: c.headersTimeout,
    requestTimeoutMs: c.requestTimeout,
    keepAliveTimeoutMs: c.keepAliveTimeout,
    idleTimeoutMs: c.idleTimeout,
    maxRequestsPerSocket: c.maxRequestsPerSocket,
  };
}

/** The defaults of `server.connections`, for servers created without a config (tests, the demo). */
export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  max: 1024,
  maxPerIp: undefined,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 1000,
};

/** True for `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * How often node checks `headersTimeout` and `requestTimeout`. Node's default (30 s) let slow senders live up to
 * twice their timeout (issue 8, item 19: 55–60 s with a 30 s request timeout); checking at a fraction of the
 * shorter timeout makes the timeouts hold.
 */
export function checkingIntervalFor(options: ConnectionOptions): number {
  const shortest = Math.min(options.headersTimeoutMs, options.requestTimeoutMs);
  return Math.max(25, Math.min(1_000, Math.floor(shortest / 4)));
}

interface Tracked {
  readonly ip: string;
  /** Closes a connection that has not sent a complete request in time; cleared by its first request. */
  firstRequest: NodeJS.Timeout | undefined;
  /** Requests in progress on the connection (headers received, response not yet finished). */
  active: number;
}

/** How often at most a summary of refused connections is logged; a flood must not become a log flood. */
const LOG_EVERY_MS = 60_000;

/**
 * SECURITY: caps open connections so that a client holding thousands of idle or slow connections (issue 8, item 19:
 * ~20k made legitimate requests fail) cannot lock others out:
 * - per client address (`maxPerIp`, non-loopback binds): a connection beyond the cap is closed at once;
 * - a connection that sends no complete request within `headersTimeoutMs` is closed (node's own headersTimeout
 *   does not start until the first byte arrives);
 * - overall (`max`): when full, the oldest *idle* connection (no request in progress: never sent complete headers,
 *   or waiting between keep-alive requests) is closed to make room, so a flood of idle sockets yields to new
 *   clients; only if every connection has a request in progress is the new one closed.
 * Node's own `server.maxConnections` is not used: it drops the newest connection, which under an idle flood is the
 * legitimate one. Safe to call once per server.
 *
 * `secure`: an HTTPS server (the console with `tls`): connections are counted once their TLS handshake is done
 * (`secureConnection`), because that socket, not the raw one, is what each request carries; the handshake itself is
 * bounded by the server's `handshakeTimeout`.
 */
export function guardConnections(
  server: Server,
  options: ConnectionOptions,
  logger: Logger,
  secure = false,
): void {
  const open = new Map<Socket, Tracked>();
  const perIp = new Map<string, number>();
  const dropped = { perIp: 0, evictedIdle: 0, full: 0 };
  let lastLog = 0;

  const forget = (socket: Socket): void => {
    const tracked = open.get(socket);
    if (tracked === undefined) return;
    open.delete(socket);
    if (tracked.firstRequest !== undefined) clearTimeout(tracked.firstRequest);
    const left = (perIp.get(tracked.ip) ?? 1) - 1;
    if (left <= 0) perIp.delete(tracked.ip);
    else perIp.set(tracked.ip, left);
  };
  const report = (): void => {
    const now = Date.now();
    if (now - lastLog < LOG_EVERY_MS) return;
    lastLog = now;
    logger.warn({ ...dropped, open: open.size }, 'connections closed by the connection limits');
    dropped.perIp = dropped.evictedIdle = dropped.full = 0;
  };

  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    if (options.maxPerIp !== undefined && (perIp.get(ip) ?? 0) >= options.maxPerIp) {
      dropped.perIp++;
      socket.destroy();
      report();
      return;
    }
    if (open.size >= options.max) {
      let idle: Socket | undefined;
      // Map order is insertion order: the first idle connection found is the oldest.
      for (const [s, t] of open) {
        if (t.active === 0) {
          idle = s;
          break;
        }
      }
      if (idle === undefined) {
        dropped.full++;
        socket.destroy();
        report();
        return;
      }
      dropped.evictedIdle++;
      forget(idle);
      idle.destroy();
      report();
    }
    // Node applies headersTimeout only once a request's first byte came; a socket that sends nothing would live
    // until idleTimeout. This closes it after headersTimeout too.
    const firstRequest = setTimeout(() => {
      socket.destroy();
    }, options.headersTimeoutMs);
    firstRequest.unref();
    open.set(socket, { ip, active: 0, firstRequest });
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      forget(socket);
    });
  });

  server.on('request', (req, res) => {
    const tracked = open.get(req.socket);
    if (tracked === undefined) return;
    if (tracked.firstRequest !== undefined) clearTimeout(tracked.firstRequest);
    tracked.firstRequest = undefined;
    tracked.active++;
    res.once('close', () => {
      tracked.active--;
    });
  });
}
