import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { OperatorEvents } from '../../broker/operator-events.js';
import type { OperatorEventJson } from './operator-api-types.js';

/** One Server-Sent Event (https://html.spec.whatwg.org/multipage/server-sent-events.html): JSON data on one line. */
export function eventText(event: OperatorEventJson): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * Serves `events` as `text/event-stream` on the hijacked reply (fastify's serializer has no streams of its own). The
 * headers set so far (security headers of the listener's hooks) are kept; the stream is never cached or buffered by
 * a proxy. `open` holds every stream of this app, so closing the app ends them: an open stream must not keep
 * `close()` waiting.
 */
export function serveEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  events: OperatorEvents,
  open: Set<() => void>,
): void {
  reply.hijack();
  const raw = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) raw.setHeader(name, value);
  }
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  // Sent at once, so the client sees the stream open before the first event.
  raw.write(': cofre operator events\n\n');
  const unsubscribe = events.subscribe((event) => {
    raw.write(eventText(event));
  });
  const end = (): void => {
    unsubscribe();
    open.delete(end);
    if (!raw.writableEnded) raw.end();
  };
  open.add(end);
  request.raw.on('close', end);
  raw.on('error', end);
}

/** Ends every open stream of `app` when it starts closing (before the server waits for its connections). */
export function endStreamsOnClose(app: FastifyInstance, open: Set<() => void>): void {
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });
}
