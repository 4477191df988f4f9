import type { ServiceConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import { compilePathGlob } from '../policy/path-glob.js';
import type { SecretValue } from '../secrets/secret-value.js';
import { sendServiceRequest, type ServiceResponse } from './service-request.js';
import { TokenBucket } from './token-bucket.js';

/** An `http_request` as the action's schema validated it. */
export interface HttpRequestInput {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>> | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: unknown;
}

/** A request the service's own allowlist admits, ready to take its credential. */
export interface AdmittedRequest {
  readonly name: string;
  readonly service: ServiceConfig;
  readonly input: HttpRequestInput;
}

interface Compiled {
  readonly config: ServiceConfig;
  readonly paths: readonly ((path: string) => boolean)[];
  readonly bucket: TokenBucket | undefined;
}

/**
 * The service proxy (issue 15): the configured `services`, each request checked against its service's own
 * `methods` and `paths` (on top of policy, which the broker asks first), its `rateLimit`, and the credential put into
 * the request exactly where `inject` says. Sending is service-request.ts, with its SSRF defences.
 *
 * Safe to call concurrently; the rate limits are per process.
 */
export class ServiceProxy {
  readonly #services = new Map<string, Compiled>();
  readonly #now: () => number;

  constructor(services: Readonly<Record<string, ServiceConfig>>, now: () => number = Date.now) {
    this.#now = now;
    for (const [name, config] of Object.entries(services)) {
      this.#services.set(name, {
        config,
        paths: config.paths.map(compilePathGlob),
        bucket:
          config.rateLimit === undefined
            ? undefined
            : new TokenBucket(config.rateLimit.requestsPerSecond, config.rateLimit.burst, now()),
      });
    }
  }

  /**
   * Checks a request policy allowed against its service, before its credential is read: `COFRE_SERVICE_NOT_FOUND`
   * (only agents allowed every service get this far with an unknown name), `COFRE_SERVICE_DESTINATION_REFUSED` for a
   * method or path outside the service's allowlist, `COFRE_INPUT_INVALID` for a header or query parameter that would
   * override the injected credential, `COFRE_SERVICE_RATE_LIMITED` past the service's rate.
   */
  admit(input: HttpRequestInput): AdmittedRequest {
    const compiled = this.#services.get(input.service);
    if (compiled === undefined) {
      throw new CofreError('COFRE_SERVICE_NOT_FOUND', `no such service "${input.service}"`);
    }
    const { config } = compiled;
    if (!(config.methods as readonly string[]).includes(input.method)) {
      throw new CofreError(
        'COFRE_SERVICE_DESTINATION_REFUSED',
        `service "${input.service}" takes only ${config.methods.join(', ')}, not ${input.method}`,
      );
    }
    if (!compiled.paths.some((test) => test(input.path))) {
      throw new CofreError(
        'COFRE_SERVICE_DESTINATION_REFUSED',
        `service "${input.service}" allows only the paths ${config.paths.join(', ')}, not ${input.path}`,
      );
    }
    checkNoOverride(input, config);
    if (compiled.bucket !== undefined && !compiled.bucket.take(this.#now())) {
      throw new CofreError(
        'COFRE_SERVICE_RATE_LIMITED',
        `service "${input.service}" is at its rate limit; retry in a moment`,
      );
    }
    return { name: input.service, service: config, input };
  }

  /**
   * Sends an admitted request with `credential` injected and returns the service's answer (not yet scrubbed: the
   * broker scrubs the whole answer of the credential). The caller owns and zeroes `credential`.
   *
   * SECURITY: the credential becomes a JavaScript string here, once, because node:http takes header values and
   * URLs as strings; it lives only as long as this request.
   */
  send(admitted: AdmittedRequest, credential: SecretValue): Promise<ServiceResponse> {
    const { service, input } = admitted;
    const headers: Record<string, string> = { ...input.headers };
    const query: [string, string][] = Object.entries(input.query ?? {});
    const secret = credential.text();
    const inject = service.inject;
    if (inject.type === 'header') headers[inject.name] = inject.template.replace('{secret}', () => secret);
    else if (inject.type === 'basic') {
      headers['authorization'] = `Basic ${Buffer.from(`${inject.username}:${secret}`).toString('base64')}`;
    } else query.push([inject.name, secret]);
    let body: Buffer | undefined;
    if (typeof input.body === 'string') body = Buffer.from(input.body, 'utf8');
    else if (input.body !== undefined) {
      body = Buffer.from(JSON.stringify(input.body), 'utf8');
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
    }
    return sendServiceRequest(
      {
        name: admitted.name,
        baseUrl: service.baseUrl,
        local: service.local,
        timeoutMs: service.timeout,
        maxResponseSize: service.maxResponseSize,
      },
      { method: input.method, path: input.path, query, headers, body },
    );
  }

  /** The secret reference of a service's credential. */
  reference(admitted: AdmittedRequest): string {
    return admitted.service.secret;
  }
}

/** SECURITY: no header or query parameter the agent sets may stand in for, or next to, the injected credential. */
function checkNoOverride(input: HttpRequestInput, config: ServiceConfig): void {
  const inject = config.inject;
  const headerNames = Object.keys(input.headers ?? {}).map((h) => h.toLowerCase());
  const injectedHeader =
    inject.type === 'header'
      ? inject.name.toLowerCase()
      : inject.type === 'basic'
        ? 'authorization'
        : undefined;
  if (injectedHeader !== undefined && headerNames.includes(injectedHeader)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `header ${injectedHeader} carries the credential of service "${input.service}": cofre sets it, not the agent`,
    );
  }
  if (inject.type === 'query') {
    const clash = Object.keys(input.query ?? {}).some((q) => q.toLowerCase() === inject.name.toLowerCase());
    if (clash) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `query parameter ${inject.name} carries the credential of service "${input.service}": cofre sets it, not the agent`,
      );
    }
  }
}
