import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

import { CofreError } from '../errors.js';
import { BlockedDestinationError, guardedLookup, isBlockedAddress } from './blocked-addresses.js';

/** Where a service's requests go, and the bounds they are sent under (from its `services:` entry). */
export interface ServiceDestination {
  readonly name: string;
  readonly baseUrl: string;
  /** Loopback, private and link-local addresses allowed (an API on this host or network). */
  readonly local: boolean;
  readonly timeoutMs: number;
  readonly maxResponseSize: number;
}

/** One request as it leaves: the path under the base URL, the query and headers with the credential already in. */
export interface OutgoingServiceRequest {
  readonly method: string;
  /** Validated by the action's schema: starts with `/`, no `//`, no dot segment, no `?` or `#`. */
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** What the agent gets back: status, the safe headers, and the body as text, or base64 when it is not text. */
export interface ServiceResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly encoding: 'utf8' | 'base64';
}

/** Response headers an agent may see; everything else (Set-Cookie above all) stays with cofre. */
const SAFE_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-language',
  'content-encoding',
  'cache-control',
  'etag',
  'last-modified',
  'date',
  'expires',
  'retry-after',
  'location',
]);
const SAFE_HEADER_PREFIXES = ['x-ratelimit-', 'ratelimit-'];

/**
 * The URL of `path` under `baseUrl`: the agent's path is appended to the base URL's own path, never parsed as a URL
 * of its own, so it can name no other host, port or scheme. Throws `COFRE_SERVICE_DESTINATION_REFUSED` if the
 * result is somehow not on the base URL's origin (defence in depth behind the schema).
 */
export function serviceUrl(baseUrl: string, path: string, query: OutgoingServiceRequest['query']): URL {
  const base = new URL(baseUrl);
  const url = new URL(base.origin);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  for (const [key, value] of base.searchParams) url.searchParams.append(key, value);
  for (const [key, value] of query) url.searchParams.append(key, value);
  if (url.origin !== base.origin) {
    throw new CofreError('COFRE_SERVICE_DESTINATION_REFUSED', 'the path leaves the service');
  }
  return url;
}

/**
 * Sends one request to a service and reads its answer, with the SSRF defences of issue 15:
 * - only the base URL's host and port (see {@link serviceUrl});
 * - the address the socket connects to is checked at connect time ({@link guardedLookup}; an IP-literal host, which
 *   skips the lookup, is checked here) unless the service is `local`;
 * - no redirect is followed (node:http never follows one): a 3xx is answered as data, its `Location` kept only when
 *   it points at the service's own origin;
 * - no proxy environment variable is honoured: node:https/node:http with `agent: false` (a fresh socket, no global
 *   agent, no proxy support at all);
 * - the whole request is bounded by `timeoutMs`; a body larger than `maxResponseSize` is dropped unread.
 *
 * Errors are CofreErrors whose messages name the service, never the URL (its query may hold the credential):
 * `COFRE_SERVICE_DESTINATION_REFUSED`, `COFRE_SERVICE_UNAVAILABLE`, `COFRE_SERVICE_RESPONSE_TOO_LARGE`.
 */
export function sendServiceRequest(
  destination: ServiceDestination,
  outgoing: OutgoingServiceRequest,
): Promise<ServiceResponse> {
  const url = serviceUrl(destination.baseUrl, outgoing.path, outgoing.query);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!destination.local && isIP(host) !== 0 && isBlockedAddress(host)) {
    return Promise.reject(refused(destination.name, host));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<ServiceResponse>((resolve, reject) => {
    // Settled once, by whichever comes first: the answer, its size limit, the timeout or a socket error (a socket
    // destroyed for being too large also errors, later, and must not change the reason).
    let settled = false;
    const settle = (err: unknown, response?: ServiceResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (response === undefined) reject(serviceError(destination.name, err));
      else resolve(response);
    };
    const req = send(url, {
      method: outgoing.method,
      headers: {
        ...outgoing.headers,
        ...(outgoing.body === undefined ? {} : { 'content-length': String(outgoing.body.length) }),
      },
      agent: false,
      ...(destination.local ? {} : { lookup: guardedLookup }),
    });
    const timer = setTimeout(() => {
      settle(unavailable(destination.name, 'did not answer in time'));
      req.destroy();
    }, destination.timeoutMs);
    req.on('error', (err) => {
      settle(err);
    });
    req.on('response', (res) => {
      readBody(res, destination.maxResponseSize, destination.name, (err, body) => {
        if (body === undefined) settle(err);
        else settle(undefined, responseOf(res, body, url));
      });
    });
    req.end(outgoing.body);
  });
}

/** Reads the body up to `max` bytes; past that, the socket is destroyed and nothing more is read. */
function readBody(
  res: IncomingMessage,
  max: number,
  name: string,
  done: (err: unknown, body?: Buffer) => void,
): void {
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    done(tooLarge(name, max));
    res.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) {
      done(tooLarge(name, max));
      res.destroy();
      return;
    }
    chunks.push(chunk);
  });
  res.on('end', () => {
    done(undefined, Buffer.concat(chunks));
  });
  res.on('error', (err) => {
    done(err);
  });
  res.on('aborted', () => {
    done(unavailable(name, 'closed the connection mid-answer'));
  });
}

function responseOf(res: IncomingMessage, body: Buffer, url: URL): ServiceResponse {
  const headers = safeHeaders(res.headers, url.origin);
  const text = textOf(body, headers['content-type']);
  return {
    status: res.statusCode ?? 0,
    headers,
    body: text ?? body.toString('base64'),
    encoding: text === undefined ? 'base64' : 'utf8',
  };
}

/** The allowlisted headers; a `Location` to another origin is dropped (a redirect there is never followed). */
function safeHeaders(raw: IncomingHttpHeaders, origin: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (!SAFE_HEADERS.has(name) && !SAFE_HEADER_PREFIXES.some((p) => name.startsWith(p))) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (name === 'location' && !sameOrigin(text, origin)) continue;
    out[name] = text;
  }
  return out;
}

function sameOrigin(location: string, origin: string): boolean {
  try {
    return new URL(location, origin).origin === origin;
  } catch {
    return false;
  }
}

const TEXT_TYPE =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded|ecmascript))/i;

/** The body as text when its type is textual (or absent) and it is valid UTF-8; else undefined (sent as base64). */
function textOf(body: Buffer, contentType: string | undefined): string | undefined {
  if (contentType !== undefined && !TEXT_TYPE.test(contentType.trim())) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

function serviceError(name: string, err: unknown): CofreError {
  if (err instanceof CofreError) return err;
  if (err instanceof BlockedDestinationError) return refused(name, err.address);
  // Only the error's code: its message may quote the host, never the query, but nothing more is needed.
  const code = (err as { code?: unknown }).code;
  return unavailable(name, typeof code === 'string' ? `failed (${code})` : 'failed');
}

function refused(name: string, address: string): CofreError {
  return new CofreError(
    'COFRE_SERVICE_DESTINATION_REFUSED',
    `service "${name}" resolves to ${address}, a loopback, private or link-local address; refused before anything was sent (mark the service \`local: true\` if it is meant to be on this network)`,
  );
}

function unavailable(name: string, what: string): CofreError {
  return new CofreError('COFRE_SERVICE_UNAVAILABLE', `service "${name}" ${what}; retry later`);
}

function tooLarge(name: string, max: number): CofreError {
  return new CofreError(
    'COFRE_SERVICE_RESPONSE_TOO_LARGE',
    `service "${name}" answered more than its maxResponseSize (${max} bytes); the answer was dropped`,
  );
}
