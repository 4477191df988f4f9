import type { FastifyInstance } from 'fastify';

import { sessionCookieOf } from './console-cookie.js';
import type { ConsoleSessions } from './console-sessions.js';

/** How often an open event stream's session is checked, by default. */
export const STREAM_SESSION_CHECK_MS = 5_000;

/**
 * SECURITY: an event stream (`Accept: text/event-stream`, the console's live updates) is authenticated once, when
 * it opens; without this, a session that ends later (logout, idle timeout, lifetime, a revoked operator) would keep
 * receiving approvals and requests for as long as the connection lasts. Every `checkMs` each open stream's session
 * is looked up again (without counting as activity), and the connection is closed once it has ended; the page's
 * `EventSource` then reconnects and is refused like any request without a session.
 */
export function endStreamsWithTheirSession(
  app: FastifyInstance,
  sessions: ConsoleSessions,
  checkMs: number = STREAM_SESSION_CHECK_MS,
): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.method !== 'GET' || request.headers.accept?.includes('text/event-stream') !== true) {
      done();
      return;
    }
    const cookie = sessionCookieOf(request.headers.cookie);
    const timer = setInterval(() => {
      sessions.resume(cookie).catch(() => {
        clearInterval(timer);
        request.raw.socket.destroy();
      });
    }, checkMs);
    timer.unref();
    request.raw.socket.once('close', () => {
      clearInterval(timer);
    });
    done();
  });
}
