// A raw HTTP client for the console's tests: every header under the test's control (Host, Origin, Sec-Fetch-Site,
// Cookie), which `fetch` does not allow for all of them.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { SESSION_COOKIE } from '../../src/surfaces/http/console/console-cookie.js';

/** What the console answered. */
export interface ConsoleAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

/** One request to `base` (the console's URL), over a fresh socket. */
export function consoleRequest(
  base: string,
  method: string,
  path: string,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown } = {},
): Promise<ConsoleAnswer> {
  const url = new URL(path, base);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The error code of an answer. */
export function codeOf(answer: ConsoleAnswer): string | undefined {
  return (answer.json?.['error'] as { code?: string } | undefined)?.code;
}

/** The session id a login answer set, from its `Set-Cookie`. */
export function sessionIdOf(answer: ConsoleAnswer): string {
  const cookie = [answer.headers['set-cookie'] ?? []].flat()[0] ?? '';
  const match = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(cookie);
  if (match?.[1] === undefined) throw new Error(`no session cookie in ${cookie}`);
  return match[1];
}

/** A logged-in operator: the cookie header to send, and the CSRF token. */
export interface ConsoleLogin {
  readonly sessionId: string;
  readonly cookie: string;
  readonly csrf: string;
  readonly answer: ConsoleAnswer;
}

/** Logs in through `POST /console/login` from the console's own origin. */
export async function login(base: string, token: string): Promise<ConsoleLogin> {
  const answer = await consoleRequest(base, 'POST', '/console/login', {
    headers: { origin: base },
    body: { token },
  });
  if (answer.status !== 200) throw new Error(`login answered ${answer.status}: ${answer.text}`);
  const sessionId = sessionIdOf(answer);
  return {
    sessionId,
    cookie: `${SESSION_COOKIE}=${sessionId}`,
    csrf: String(answer.json?.['csrfToken']),
    answer,
  };
}
