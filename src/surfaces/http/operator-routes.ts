import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

import type { OperatorActions } from '../../broker/operator-actions.js';
import { CofreError } from '../../errors.js';
import type { OperatorAuth } from './operator-auth.js';
import {
  approvalStatusSchema,
  approveBodySchema,
  denyBodySchema,
  haltBodySchema,
  resumeBodySchema,
} from './operator-schemas.js';

/** What the operator routes need from the HTTP server. */
export interface OperatorRouteOptions {
  readonly actions: OperatorActions;
  readonly auth: OperatorAuth;
}

/** Parses with a zod schema; problems become `COFRE_INPUT_INVALID` naming each field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw new CofreError('COFRE_INPUT_INVALID', `invalid ${what}: ${problems.join('; ')}`, {
    details: { problems },
  });
}

/**
 * The operator API under `/v1/operator/`, for people (or their tools), never agents:
 *
 * - `GET /v1/operator/approvals[?status=]`, `GET /v1/operator/approvals/{requestId}`: the approvals with their
 *   bound payload and its hash.
 * - `POST /v1/operator/approvals/{requestId}/approve { payloadHash, comment? }`: one vote for exactly that payload;
 *   the vote that completes the quorum executes it (the answer carries the request's response).
 * - `POST /v1/operator/approvals/{requestId}/deny { comment? }`.
 * - `POST /v1/operator/halt { reason, cancelOpenOrders?, revokeAgents? }`, `POST /v1/operator/resume`,
 *   `GET /v1/operator/halt`: the kill switch.
 *
 * SECURITY: every route takes only an operator token (`OperatorAuth`), checked before the body is read; the
 * operator id recorded for each decision is the token's, never one from the body.
 */
export function registerOperatorRoutes(app: FastifyInstance, options: OperatorRouteOptions): void {
  const { actions, auth } = options;
  const onRequest = auth.authenticate;

  app.get<{ Querystring: { status?: string } }>('/v1/operator/approvals', { onRequest }, async (request) => {
    const { status } = request.query;
    const filter = status === undefined ? undefined : parse(approvalStatusSchema, status, 'status');
    return { approvals: await actions.list(filter) };
  });

  app.get<{ Params: { requestId: string } }>('/v1/operator/approvals/:requestId', { onRequest }, (request) =>
    actions.show(request.params.requestId),
  );

  app.post<{ Params: { requestId: string } }>(
    '/v1/operator/approvals/:requestId/approve',
    { onRequest },
    async (request) => {
      const body = parse(approveBodySchema, request.body ?? {}, 'approval');
      const operator = auth.operatorOf(request).id;
      return actions.approve(request.params.requestId, operator, body.payloadHash, body.comment);
    },
  );

  app.post<{ Params: { requestId: string } }>(
    '/v1/operator/approvals/:requestId/deny',
    { onRequest },
    async (request) => {
      const body = parse(denyBodySchema, request.body ?? {}, 'denial');
      const approval = await actions.deny(
        request.params.requestId,
        auth.operatorOf(request).id,
        body.comment,
      );
      return { approval };
    },
  );

  app.get('/v1/operator/halt', { onRequest }, async () => {
    const halt = await actions.halted();
    return halt === undefined
      ? { halted: false }
      : { halted: true, reason: halt.reason, by: halt.by, at: halt.at.toISOString() };
  });

  app.post('/v1/operator/halt', { onRequest }, async (request) => {
    const body = parse(haltBodySchema, request.body ?? {}, 'halt');
    return actions.halt(auth.operatorOf(request).id, body);
  });

  app.post('/v1/operator/resume', { onRequest }, async (request) => {
    parse(resumeBodySchema, request.body ?? {}, 'resume');
    return actions.resume(auth.operatorOf(request).id);
  });
}
