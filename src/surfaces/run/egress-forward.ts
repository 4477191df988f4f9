import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

import { scrubSecrets } from '../../broker/scrub.js';
import type { SecretValue } from '../../secrets/secret-value.js';
import {
  BlockedDestinationError,
  guardedLookup,
  isBlockedAddress,
} from '../../services/blocked-addresses.js';
import { headerHolds, holds, swapBytes, swapHeader, swapTarget } from './placeholder-swap.js';
import { type EgressHooks, pathAllowed, type RunService } from './run-service.js';

/** Largest request body the proxy reads to swap placeholders in (a tool's API calls are small). */
export const MAX_REQUEST_BODY = 1_048_576;

/** Headers that describe one connection, not the request: never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
]);

/** A refusal the proxy answers with (status and a one-line body naming the cofre error code). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serves one request the tool sent to `service` (inside an intercepted CONNECT, or a plain-HTTP proxy request):
 * checks method and path against the service's allowlist, refuses a request that carries another service's
 * placeholder, swaps this service's placeholder for the real value (target, headers, body), records the swap, sends
 * the request to the service's host only, and answers with the response scrubbed of the value.
 */
export async function forwardToService(
  req: IncomingMessage,
  res: ServerResponse,
  service: RunService,
  others: readonly RunService[],
  hooks: EgressHooks,
): Promise<void> {
  const method = req.method ?? 'GET';
  const target = originForm(req.url ?? '/');
  const path = target.split('?', 1)[0] ?? '/';
  const refuse = async (reason: string): Promise<never> => {
    await hooks.onRefusal({ host: service.host, port: service.port, method, path, reason });
    throw new Refusal(403, 'COFRE_EGRESS_REFUSED', reason);
  };
  if (!(service.config.methods as readonly string[]).includes(method)) {
    await refuse(`method ${method} is not allowed for service ${service.name}`);
  }
  if (!pathAllowed(service, path)) await refuse(`path ${path} is not allowed for service ${service.name}`);
  // SSRF: an address literal is never looked up, so the connect-time lookup cannot check it: checked first.
  if (!service.config.local && isIP(service.host) !== 0 && isBlockedAddress(service.host)) {
    const reason = `${service.host} is a loopback, private or link-local address (set local: true on service ${service.name} to allow)`;
    const code = 'COFRE_SERVICE_DESTINATION_REFUSED';
    await hooks.onRefusal({ host: service.host, port: service.port, method, path, reason, code });
    throw new Refusal(403, code, reason);
  }
  const body = await readBody(req);
  const headers = forwardHeaders(req.headers);
  for (const other of others) {
    if (other !== service && carries(other.placeholder, target, headers, body)) {
      await refuse(`the request carries the placeholder of service ${other.name} to ${service.host}`);
    }
  }
  let value: SecretValue | undefined;
  try {
    let out = { target, headers, body };
    if (carries(service.placeholder, target, headers, body)) {
      value = await hooks.readSecret(service);
      out = swapRequest(out, service.placeholder, value);
      await hooks.onSwap({
        service: service.name,
        reference: service.config.secret,
        host: service.host,
        method,
        path,
      });
    }
    await relay(service, method, out, res, value);
  } finally {
    value?.zero();
  }
}

interface OutRequest {
  readonly target: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

function carries(placeholder: string, target: string, headers: OutRequest['headers'], body: Buffer): boolean {
  if (holds(target, placeholder) || body.includes(placeholder, 0, 'latin1')) return true;
  return Object.entries(headers).some(([name, v]) =>
    (Array.isArray(v) ? v : [v]).some((one) => headerHolds(name, one, placeholder)),
  );
}

function swapRequest(request: OutRequest, placeholder: string, value: SecretValue): OutRequest {
  const text = value.text();
  if (/[\r\n\0]/.test(text))
    throw new Refusal(502, 'COFRE_SERVICE_UNAVAILABLE', 'the credential cannot be sent in a request');
  const headers: OutRequest['headers'] = {};
  for (const [name, v] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(v)
      ? v.map((one) => swapHeader(name, one, placeholder, text))
      : swapHeader(name, v, placeholder, text);
  }
  return {
    target: swapTarget(request.target, placeholder, text),
    headers,
    body: swapBytes(request.body, placeholder, value.bytes()),
  };
}

/** Sends the request to the service's own host and port and answers with the scrubbed, bounded response. */
async function relay(
  service: RunService,
  method: string,
  out: OutRequest,
  res: ServerResponse,
  value: SecretValue | undefined,
): Promise<void> {
  const headers: OutgoingHttpHeaders = {
    ...out.headers,
    host:
      service.port === (service.protocol === 'https:' ? 443 : 80)
        ? bracket(service.host)
        : `${bracket(service.host)}:${service.port}`,
    // Identity, so the response can be scrubbed byte for byte.
    'accept-encoding': 'identity',
    ...(out.body.length > 0 || !['GET', 'HEAD'].includes(method)
      ? { 'content-length': String(out.body.length) }
      : {}),
  };
  const send = service.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = await new Promise<IncomingMessage>((done, fail) => {
    const request = send({
      host: service.host,
      port: service.port,
      method,
      path: out.target,
      headers,
      // SECURITY: the upstream's certificate is verified as usual (cofre's own trust store, not the run's CA).
      ...(service.protocol === 'https:' && isIP(service.host) === 0 ? { servername: service.host } : {}),
      // SSRF: the service proxy's connect-time check (src/services/blocked-addresses.ts), one list for both.
      lookup: service.config.local ? undefined : guardedLookup,
      timeout: service.config.timeout,
      agent: false,
    });
    request.on('response', done);
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (err) => {
      fail(
        err instanceof BlockedDestinationError
          ? new Refusal(
              403,
              'COFRE_SERVICE_DESTINATION_REFUSED',
              `${service.host} resolves to ${err.address}, in a loopback, private or link-local range (set local: true on service ${service.name} to allow)`,
            )
          : new Refusal(
              502,
              'COFRE_SERVICE_UNAVAILABLE',
              `${service.name} could not be reached: ${err.message}`,
            ),
      );
    });
    request.end(out.body);
  });
  const body = await readBounded(upstream, service.config.maxResponseSize).catch((err: unknown) => {
    upstream.destroy();
    throw err;
  });
  const secrets = value === undefined ? [] : [value];
  // latin1 maps every byte to one character and back: binary bodies survive, and the ASCII encodings the scrubber
  // looks for are found the same.
  const scrubbed = Buffer.from(scrubSecrets(body.toString('latin1'), secrets), 'latin1');
  const back: OutgoingHttpHeaders = {};
  for (const [name, v] of Object.entries(upstream.headers)) {
    if (HOP_BY_HOP.has(name) || v === undefined) continue;
    back[name] = Array.isArray(v) ? v.map((one) => scrubSecrets(one, secrets)) : scrubSecrets(v, secrets);
  }
  back['content-length'] = String(scrubbed.length);
  res.writeHead(upstream.statusCode ?? 502, back);
  res.end(method === 'HEAD' ? undefined : scrubbed);
}

function forwardHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(incoming)) {
    if (!HOP_BY_HOP.has(name) && v !== undefined) headers[name] = v;
  }
  return headers;
}

/** The path and query of a request target, also when a plain-HTTP proxy request sends the absolute URL. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return '/';
  }
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  return readBounded(
    req,
    MAX_REQUEST_BODY,
    () => new Refusal(413, 'COFRE_EGRESS_REFUSED', `request body over ${MAX_REQUEST_BODY} bytes`),
  );
}

async function readBounded(
  stream: IncomingMessage,
  limit: number,
  tooLarge: () => Error = () =>
    new Refusal(502, 'COFRE_SERVICE_RESPONSE_TOO_LARGE', `response over ${limit} bytes (maxResponseSize)`),
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > limit) throw tooLarge();
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}
