import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

import type { AuditSink } from '../../../audit/audit-log.js';
import {
  type AuthenticatedOperator,
  authenticateOperator,
  operatorTokenIdOf,
} from '../../../broker/operator-tokens.js';
import { CofreError, isCofreError } from '../../../errors.js';
import type { ControlStore } from '../../../state/control-store.js';
import { AddressRateLimiter } from '../address-rate-limiter.js';
import type { ConsoleSessionJson } from '../operator-api-types.js';
import { ConsoleAudit } from './console-audit.js';
import { clearedSessionCookie, sessionCookie, sessionCookieOf } from './console-cookie.js';
import { checkRequestOrigin, type ConsoleOrigins } from './console-origin.js';
import type { ConsoleSession, ConsoleSessions } from './console-sessions.js';
import type { CookieOperatorAuth } from './cookie-operator-auth.js';

/**
 * Console logins per second per client address, and the burst allowed: a person logs in a few times a day, and
 * every attempt (refused ones included) is an audit record, so attempts are bounded. Behind a proxy every operator
 * shares the proxy's address; the burst still fits a team.
 */
export const LOGIN_PER_SECOND = 5;
export const LOGIN_BURST = 20;
/** A login body is `{ "token": "cofre_op_…" }`: a few hundred bytes. */
const LOGIN_BODY_LIMIT = 4096;

/** What the session routes need. */
export interface ConsoleSessionRouteOptions {
  readonly sessions: ConsoleSessions;
  readonly auth: CookieOperatorAuth;
  readonly origins: ConsoleOrigins;
  /** The operators, for the login. */
  readonly store: ControlStore;
  /** Where logins, refused logins and logouts are recorded; none in some tests. */
  readonly audit: AuditSink | undefined;
  readonly logger: Logger;
  /** Mark the cookie `Secure`. */
  readonly secureCookie: boolean;
  readonly now: () => Date;
  /** Clock of the login rate limit (ms); default `now`. */
  readonly rateClock?: () => number;
}

/**
 * The console's own routes (issue 18 contract), on the console listener only:
 *
 * - `POST /console/login { token }`: an operator token (never an agent token: `COFRE_OPERATOR_TOKEN_REQUIRED`,
 *   403) becomes a session: `Set-Cookie: cofre_console=…` and {@link ConsoleSessionJson}. SECURITY: login CSRF is
 *   refused (the request must carry the console's own `Origin`; see `checkRequestOrigin`), attempts are rate
 *   limited per client address (`COFRE_CONSOLE_LOGIN_RATE_LIMITED`, 429), and each login and refused login is an
 *   audit record of kind `operator` with the operator's id when known, never the token or the cookie.
 * - `GET /console/session`: the session (and it counts as the operator's activity), or 401.
 * - `POST /console/logout`: ends the session (CSRF checked like every state change), clears the cookie; audited.
 */
export function registerConsoleSessionRoutes(
  app: FastifyInstance,
  options: ConsoleSessionRouteOptions,
): void {
  const { sessions, auth, origins, store, now } = options;
  const limiter = new AddressRateLimiter(
    LOGIN_PER_SECOND,
    LOGIN_BURST,
    options.rateClock ?? (() => now().getTime()),
  );
  const audit = new ConsoleAudit(options.audit, options.logger);

  app.post(
    '/console/login',
    {
      bodyLimit: LOGIN_BODY_LIMIT,
      onRequest: (request) => admitLogin(request, limiter, origins, audit),
    },
    async (request, reply) => {
      const token = tokenOf(request.body);
      let operator: AuthenticatedOperator;
      try {
        operator = await authenticateOperator(store, token, now());
      } catch (err) {
        if (!isCofreError(err)) throw err;
        const tokenId = operatorTokenIdOf(token);
        const known = tokenId === undefined ? undefined : await store.operatorByTokenId(tokenId);
        await audit.recordAnyway('console-login-refused', request, known?.id, {
          reason: err.code,
          ...(tokenId === undefined ? {} : { tokenId }),
        });
        throw loginRefusal(err);
      }
      // Recorded before the session exists: a login the audit log cannot take does not happen (fail closed).
      await audit.record('console-login', request, operator.id, { tokenId: operator.tokenId });
      const previous = sessions.end(sessionCookieOf(request.headers.cookie));
      if (previous !== undefined) options.logger.info('console login replaced a previous session');
      const { id, session } = sessions.create(operator);
      void reply.header('set-cookie', sessionCookie(id, options.secureCookie));
      return sessionJson(session, sessions.idleTimeoutMs);
    },
  );

  app.get('/console/session', async (request) => {
    const session = await sessions.resume(sessionCookieOf(request.headers.cookie));
    sessions.touch(session);
    return sessionJson(session, sessions.idleTimeoutMs);
  });

  app.post('/console/logout', { onRequest: auth.authenticate }, async (request, reply: FastifyReply) => {
    const session = auth.sessionOf(request);
    sessions.end(sessionCookieOf(request.headers.cookie));
    void reply.header('set-cookie', clearedSessionCookie(options.secureCookie));
    // The logout stands even if it cannot be recorded: ending a session is always allowed.
    await audit.recordAnyway('console-logout', request, session.operator, { tokenId: session.tokenId });
    return reply.code(204).send();
  });
}

/**
 * A login's checks before its body is read: the rate limit first (a refusal here is not audited: that is what it
 * bounds), then login CSRF (`COFRE_CSRF_REJECTED`, audited).
 */
async function admitLogin(
  request: FastifyRequest,
  limiter: AddressRateLimiter,
  origins: ConsoleOrigins,
  audit: ConsoleAudit,
): Promise<void> {
  if (!limiter.admit(request.socket.remoteAddress ?? 'unknown')) {
    throw new CofreError(
      'COFRE_CONSOLE_LOGIN_RATE_LIMITED',
      `too many login attempts from this address (at most ${LOGIN_PER_SECOND} per second); wait a moment and try again`,
      { details: { retryAfterMs: 1000 } },
    );
  }
  try {
    checkRequestOrigin(request, origins, { requireOrigin: true });
  } catch (err) {
    await audit.recordAnyway('console-login-refused', request, undefined, { reason: 'COFRE_CSRF_REJECTED' });
    throw err;
  }
}

function sessionJson(session: ConsoleSession, idleTimeoutMs: number): ConsoleSessionJson {
  return {
    operator: session.operator,
    csrfToken: session.csrfToken,
    idleTimeoutMs,
    expiresAt: session.expiresAt.toISOString(),
  };
}

/** The token of a login body; `COFRE_INPUT_INVALID` for anything but `{ "token": "<text>" }`. */
function tokenOf(body: unknown): string {
  const token = (body as { token?: unknown } | null | undefined)?.token;
  if (typeof body !== 'object' || body === null || typeof token !== 'string' || token === '') {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'the login needs a JSON body { "token": "<operator token>" }',
    );
  }
  return token;
}

/** The answer to a refused login, worded for a person at the login form. Never echoes the token. */
function loginRefusal(err: CofreError): CofreError {
  if (err.code === 'COFRE_OPERATOR_TOKEN_REQUIRED') {
    return new CofreError(
      'COFRE_OPERATOR_TOKEN_REQUIRED',
      'this is an agent token; the console needs an operator token. Ask whoever runs cofre for one (`cofre operator add <your-id>`).',
    );
  }
  if (err.code === 'COFRE_UNAUTHENTICATED') {
    return new CofreError(
      'COFRE_UNAUTHENTICATED',
      'this operator token is not valid: mistyped, expired or revoked. Check it, or ask for a new one (`cofre operator add`).',
    );
  }
  return err;
}
