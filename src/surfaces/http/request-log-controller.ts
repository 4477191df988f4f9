import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Fastify's request log lines, reduced to what is safe and useful: one line per finished request with method,
 * route pattern, status, request id (bound by fastify as `reqId`) and duration.
 *
 * SECURITY: no line carries the request, its URL, headers (the Authorization header holds the agent token) or
 * body; fastify's default lines would log the URL, and some would log the request object. Errors are logged by the
 * one error mapper (`httpErrorReply`), which logs internal errors in full and nothing of the request.
 */
export class RequestLogController extends LogController {
  constructor() {
    super({ disableRequestLogging: false });
  }

  override incomingRequest(): void {
    // The completed line below says everything; one line per request.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? '(none)',
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }

  override routeNotFound(): void {
    // Logged as a 404 by requestCompleted, without the URL.
  }

  override defaultErrorLog(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    reply.log.error({ err: error }, 'error in the default error handler');
  }

  override writeHeadError(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ err: error }, 'writing the response head failed');
  }

  override serializerError(
    error: Error,
    _request: FastifyRequest,
    reply: FastifyReply,
    metadata: { statusCode: number },
  ): void {
    reply.log.error({ err: error, statusCode: metadata.statusCode }, 'response serialisation failed');
  }
}
