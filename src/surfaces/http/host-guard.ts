import { CofreError } from '../../errors.js';

/** Host names a loopback-bound server answers to by default. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Which `Host` and `Origin` headers the HTTP server accepts. */
export interface HostGuardOptions {
  /**
   * Host names (no port; IPv6 in brackets) the server accepts in the `Host` header, or `'any'` to accept every
   * host (only behind a proxy that checks it). Default: {@link LOOPBACK_HOSTS}.
   */
  readonly allowedHosts?: readonly string[] | 'any';
  /** Exact origins (`https://app.example`) allowed to call; default none: a request with an `Origin` is refused. */
  readonly allowedOrigins?: readonly string[];
}

/**
 * SECURITY: protection against DNS rebinding and browser pages. A web page can make a browser send requests to
 * 127.0.0.1 under a host name the attacker controls; checking the `Host` name defeats that, and refusing any
 * `Origin` not listed keeps browser pages out altogether (agents are not browsers and send no `Origin`). The MCP
 * Streamable HTTP specification requires servers to validate `Origin`.
 *
 * Throws `COFRE_ORIGIN_REFUSED`. Pure; safe to call concurrently.
 */
export function checkHostAndOrigin(
  host: string | undefined,
  origin: string | undefined,
  options: HostGuardOptions,
): void {
  const allowedHosts = options.allowedHosts ?? LOOPBACK_HOSTS;
  if (allowedHosts !== 'any') {
    const name = host === undefined ? undefined : hostName(host);
    if (name === undefined || !allowedHosts.some((h) => h.toLowerCase() === name)) {
      throw new CofreError(
        'COFRE_ORIGIN_REFUSED',
        'this Host is not allowed; call cofre by an allowed host name',
      );
    }
  }
  if (origin !== undefined && !(options.allowedOrigins ?? []).includes(origin)) {
    throw new CofreError(
      'COFRE_ORIGIN_REFUSED',
      'requests from browser pages (with an Origin header) are not allowed',
    );
  }
}

/** The host name of a `Host` header value, lowercased, without the port; `[v6]` keeps its brackets. */
function hostName(host: string): string | undefined {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? undefined : value.slice(0, end + 1);
  }
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(0, colon);
  return name === '' ? undefined : name;
}
