// The console's one way to the broker: the operator API and the console's session routes, on the page's own origin.
import type { ConsoleSessionJson, ErrorJson } from '../../src/surfaces/http/operator-api-types.js';

/** A refused or failed call, with cofre's error code when the server sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait, from `Retry-After` (a 429). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Calls the operator API for one console session.
 *
 * SECURITY: the CSRF token lives in this object only (memory), never in storage, so a reload asks the server again
 * (`GET /console/session`); it goes out as `x-cofre-csrf` on every non-GET call. The session cookie is HttpOnly and
 * sent by the browser (`credentials: 'same-origin'`), never read here.
 */
export class Api {
  constructor(
    private readonly csrfToken: string,
    /** Called once a call answers 401: the session ended (idle, lifetime, logout elsewhere, revoked operator). */
    private readonly onSessionEnded: () => void,
  ) {}

  get<T>(path: string, query: Readonly<Record<string, string | undefined>> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined && value !== '') params.set(name, value);
    const text = params.toString();
    const search = text === '' ? '' : `?${text}`;
    return this.call<T>('GET', `${path}${search}`, undefined);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method !== 'GET') {
      headers['content-type'] = 'application/json';
      headers['x-cofre-csrf'] = this.csrfToken;
    }
    const response = await request(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 401) this.onSessionEnded();
    return answerOf<T>(response);
  }
}

/** `GET /console/session`: the current session, or undefined when there is none (401). */
export async function currentSession(): Promise<ConsoleSessionJson | undefined> {
  const response = await request('/console/session', {
    method: 'GET',
    headers: { accept: 'application/json' },
  });
  if (response.status === 401) return undefined;
  return answerOf<ConsoleSessionJson>(response);
}

/** `POST /console/login { token }`: the token becomes the session cookie; the token itself is not kept. */
export async function logIn(token: string): Promise<ConsoleSessionJson> {
  const response = await request('/console/login', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return answerOf<ConsoleSessionJson>(response);
}

/** `POST /console/logout`; the session is gone on the server whatever this answers. */
export async function logOut(csrfToken: string): Promise<void> {
  await request('/console/logout', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-cofre-csrf': csrfToken },
    body: '{}',
  });
}

async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(
      0,
      'NETWORK',
      'cofre did not answer (network error); check that the server is running',
    );
  }
}

async function answerOf<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body: unknown = text === '' ? {} : parseJson(text);
  if (response.ok) return body as T;
  const error = (body as Partial<ErrorJson>).error;
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  throw new ApiError(
    response.status,
    error?.code ?? `HTTP_${response.status}`,
    error?.message ?? `cofre answered ${response.status} ${response.statusText}`,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}
