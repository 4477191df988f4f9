import type { FastifyRequest } from 'fastify';

import type { AuthenticatedOperator } from '../../../broker/operator-tokens.js';
import { CofreError } from '../../../errors.js';
import type { OperatorAuth } from '../operator-auth.js';
import { sessionCookieOf } from './console-cookie.js';
import { checkRequestOrigin, type ConsoleOrigins, SAFE_METHODS } from './console-origin.js';
import { type ConsoleSession, type ConsoleSessions, csrfMatches } from './console-sessions.js';

/** The CSRF header of the console (issue 18 contract). */
export const CSRF_HEADER = 'x-cofre-csrf';

/** {@link OperatorAuth} by console session, and the session each request was authenticated with. */
export interface CookieOperatorAuth extends OperatorAuth {
  readonly sessionOf: (request: FastifyRequest) => ConsoleSession;
}

/**
 * The operator API's authentication on the console listener: the `cofre_console` session cookie instead of a bearer
 * token. SECURITY, for every request that is not GET/HEAD/OPTIONS (the CSRF defence; all three must hold, else
 * `COFRE_CSRF_REJECTED`, 403, before the body is read, so nothing changes):
 * - the `x-cofre-csrf` header equals the session's CSRF token (constant-time): another site's page cannot read the
 *   token, so it cannot send it;
 * - `Origin`, when present, is the console's own;
 * - `Sec-Fetch-Site`, when present, is `same-origin` or `none`.
 * Such a request also counts as use (restarts the idle timeout). Safe GETs do not: a page left open that polls or
 * listens to the event stream is not an operator at the keyboard, so it still times out; the page calls
 * `GET /console/session` on the operator's own activity instead.
 */
export function createCookieOperatorAuth(
  sessions: ConsoleSessions,
  origins: ConsoleOrigins,
): CookieOperatorAuth {
  const authenticated = new WeakMap<FastifyRequest, ConsoleSession>();
  const sessionOf = (request: FastifyRequest): ConsoleSession => {
    const session = authenticated.get(request);
    if (session === undefined)
      throw new CofreError('COFRE_INTERNAL', 'route is missing its authentication hook');
    return session;
  };
  return {
    authenticate: async (request) => {
      const session = await sessions.resume(sessionCookieOf(request.headers.cookie));
      if (!SAFE_METHODS.has(request.method)) {
        checkRequestOrigin(request, origins, { requireOrigin: false });
        const header = request.headers[CSRF_HEADER];
        if (!csrfMatches(session, typeof header === 'string' ? header : undefined)) {
          throw new CofreError(
            'COFRE_CSRF_REJECTED',
            `missing or wrong ${CSRF_HEADER} header; nothing was done (reload the console page)`,
          );
        }
        sessions.touch(session);
      }
      authenticated.set(request, session);
    },
    operatorOf: (request): AuthenticatedOperator => {
      const session = sessionOf(request);
      return { id: session.operator, tokenId: session.tokenId, expiresAt: session.expiresAt };
    },
    sessionOf,
  };
}
