import type { FastifyRequest } from 'fastify';

import { CofreError } from '../../../errors.js';

/** Methods that change nothing; every other method must pass the CSRF checks. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How the console tells its own origin from others. */
export interface ConsoleOrigins {
  /** `https` when the console serves TLS itself, else `http`. */
  readonly scheme: 'http' | 'https';
  /** `server.console.publicUrl`: the origin operators open through a TLS proxy. */
  readonly publicUrl?: string | undefined;
}

/**
 * Whether `origin` (an `Origin` header) is the console's own: the origin of the request itself (scheme and `Host`,
 * which the Host guard already checked against the allowed names), or `publicUrl`. SECURITY: comparing with the
 * request's own Host is sound only because the Host guard refuses every name not allowed, so a rebinding page's
 * `http://evil.example:8789` never gets here.
 */
export function isOwnOrigin(origin: string, host: string | undefined, origins: ConsoleOrigins): boolean {
  const seen = originOf(origin);
  if (seen === undefined) return false;
  if (origins.publicUrl !== undefined && seen === originOf(origins.publicUrl)) return true;
  return host !== undefined && seen === originOf(`${origins.scheme}://${host}`);
}

/** The serialised origin of a URL (default ports dropped, host lowercased); undefined for `null` or garbage. */
function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * SECURITY: the origin half of the CSRF defence, for state-changing requests: an `Origin` header, when present, must
 * be the console's own, and `Sec-Fetch-Site`, when present, `same-origin` or `none` (a `same-site` sibling host is
 * refused too). `requireOrigin`: the login, which has no session token to check yet, must carry an `Origin` (every
 * browser sends one on a POST). Throws `COFRE_CSRF_REJECTED`.
 */
export function checkRequestOrigin(
  request: FastifyRequest,
  origins: ConsoleOrigins,
  options: { readonly requireOrigin: boolean },
): void {
  const origin = header(request, 'origin');
  if (origin === undefined && options.requireOrigin) {
    throw new CofreError(
      'COFRE_CSRF_REJECTED',
      'log in from the console page itself (this request has no Origin header)',
    );
  }
  if (origin !== undefined && !isOwnOrigin(origin, request.headers.host, origins)) {
    throw new CofreError('COFRE_CSRF_REJECTED', 'this request comes from another site; nothing was done');
  }
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new CofreError('COFRE_CSRF_REJECTED', 'this request comes from another site; nothing was done');
  }
}
