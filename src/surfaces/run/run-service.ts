import type { ServiceConfig } from '../../config/config-schema.js';
import { compilePathGlob } from '../../policy/path-glob.js';
import type { SecretValue } from '../../secrets/secret-value.js';

/** A service a `cofre run` injects: where its credential may go, and the placeholder that stands for it. */
export interface RunService {
  readonly name: string;
  readonly config: ServiceConfig;
  /** The environment variable(s) the child gets the placeholder in. */
  readonly variables: readonly string[];
  readonly placeholder: string;
  /** From `baseUrl`: lower-case host name (an IPv6 address without brackets), port, scheme. */
  readonly host: string;
  readonly port: number;
  readonly protocol: 'https:' | 'http:';
  /** `baseUrl`'s path without a trailing slash (`''` for the root): requests must stay under it. */
  readonly basePath: string;
}

/** A host and port a tool may reach through a plain tunnel (`--allow-host`): nothing is swapped there. */
export interface AllowedHost {
  readonly host: string;
  readonly port: number;
}

/** A request the proxy swapped a placeholder in, for its audit record. */
export interface SwapEvent {
  readonly service: string;
  /** The service's secret reference (the caller records its HMAC, never the reference or the value). */
  readonly reference: string;
  readonly host: string;
  readonly method: string;
  /** The path as the tool sent it (with the placeholder, never the value), without the query. */
  readonly path: string;
}

/** A request or tunnel the proxy refused, for its audit record. */
export interface RefusalEvent {
  readonly host: string;
  readonly port: number;
  readonly method?: string;
  readonly path?: string;
  readonly reason: string;
  /** The error code answered (default `COFRE_EGRESS_REFUSED`). */
  readonly code?: string;
}

/** What the proxy needs from the run around it. */
export interface EgressHooks {
  /** The service's current credential; the proxy zeroes it when the request is done. */
  readSecret(service: RunService): Promise<SecretValue>;
  /** Records a swap; a failure refuses the request (fail closed: nothing unrecorded leaves). */
  onSwap(event: SwapEvent): Promise<void>;
  /** Records a refusal; best effort (the refusal stands either way). */
  onRefusal(event: RefusalEvent): Promise<void>;
}

/** `baseUrl` split into what the proxy matches requests against. */
export function serviceTarget(baseUrl: string): Pick<RunService, 'host' | 'port' | 'protocol' | 'basePath'> {
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'http:' ? 'http:' : 'https:';
  return {
    host: unbracket(url.hostname.toLowerCase()),
    port: url.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(url.port),
    protocol,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/** `[::1]` → `::1`; other hosts unchanged. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * True when `path` (no query) is under the service's base path and matches one of its `paths` globs (`*` within
 * one segment, `**` across segments), relative to the base path.
 */
export function pathAllowed(service: RunService, path: string): boolean {
  if (path.includes('..') || path.includes('%2e') || path.includes('%2E')) return false;
  const base = service.basePath;
  if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return false;
  const rest = path.slice(base.length) || '/';
  // The same globs as the service proxy and policy rules (src/policy/path-glob.ts).
  return service.config.paths.some((glob) => compilePathGlob(glob)(rest));
}
