import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';

import type { OperatorActions } from '../../broker/operator-actions.js';
import type { OperatorAdmin } from '../../broker/operator-admin.js';
import { CofreError } from '../../errors.js';
import type {
  ActivityJson,
  AgentAddedJson,
  AgentRevokedJson,
  AgentsJson,
  AuditStatusJson,
  AuditVerificationJson,
  LimitsJson,
  OperatorAddedJson,
  OperatorRevokedJson,
  OperatorsJson,
  RequestsJson,
  RequestStoryJson,
} from './operator-api-types.js';
import type { OperatorAuth } from './operator-auth.js';
import { endStreamsOnClose, serveEventStream } from './operator-event-stream.js';
import {
  activityQuerySchema,
  agentAddBodySchema,
  approvalStatusSchema,
  approveBodySchema,
  denyBodySchema,
  emptyBodySchema,
  haltBodySchema,
  operatorAddBodySchema,
  principalIdSchema,
  requestIdSchema,
  requestsQuerySchema,
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
 * - Issue 18, the operator console's (when the actions have {@link OperatorActions.admin}): `GET requests`,
 *   `GET requests/{id}` (its story), `GET limits`, `GET activity`, `GET|POST agents`, `POST agents/{id}/revoke`,
 *   `GET|POST operators`, `POST operators/{id}/revoke`, `GET audit`, `POST audit/verify`, `GET events` (SSE); see
 *   `registerConsoleRoutes` and `operator-api-types.ts` for their JSON.
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

  if (actions.admin !== undefined) registerConsoleRoutes(app, actions.admin, auth);
}

/**
 * The operator console's routes (issue 18). Each answer is typed with its wire type from `operator-api-types.ts`, so
 * a drift between what is served and what the console reads fails `tsc`. Tokens appear only in the answers of the
 * two add routes.
 */
function registerConsoleRoutes(app: FastifyInstance, admin: OperatorAdmin, auth: OperatorAuth): void {
  const onRequest = auth.authenticate;
  const by = (request: FastifyRequest): string => auth.operatorOf(request).id;

  app.get('/v1/operator/requests', { onRequest }, async (request): Promise<RequestsJson> => {
    const q = parse(requestsQuerySchema, request.query ?? {}, 'query');
    return admin.views.requests(
      {
        agentId: q.agent,
        account: q.account,
        status: q.status,
        action: q.action,
        before: q.before,
      },
      q.limit ?? 50,
    );
  });

  app.get<{ Params: { requestId: string } }>(
    '/v1/operator/requests/:requestId',
    { onRequest },
    async (request): Promise<RequestStoryJson> =>
      admin.views.story(parse(requestIdSchema, request.params.requestId, 'requestId')),
  );

  app.get('/v1/operator/limits', { onRequest }, (): Promise<LimitsJson> => admin.views.limits());

  app.get('/v1/operator/activity', { onRequest }, async (request): Promise<ActivityJson> => {
    const q = parse(activityQuerySchema, request.query ?? {}, 'query');
    return admin.views.activity(q.window, q.bucket);
  });

  app.get('/v1/operator/agents', { onRequest }, async (): Promise<AgentsJson> => admin.views.agents());

  app.post('/v1/operator/agents', { onRequest }, async (request, reply): Promise<AgentAddedJson> => {
    const body = parse(agentAddBodySchema, request.body ?? {}, 'agent');
    const added = await admin.addAgent(by(request), { id: body.id, policy: body.policy, ttlMs: body.ttl });
    void reply.code(201);
    return added;
  });

  app.post<{ Params: { id: string } }>(
    '/v1/operator/agents/:id/revoke',
    { onRequest },
    async (request): Promise<AgentRevokedJson> => {
      parse(emptyBodySchema, request.body ?? {}, 'revocation');
      return admin.revokeAgent(by(request), parse(principalIdSchema, request.params.id, 'id'));
    },
  );

  app.get('/v1/operator/operators', { onRequest }, async (): Promise<OperatorsJson> => ({
    operators: await admin.views.operators(),
  }));

  app.post('/v1/operator/operators', { onRequest }, async (request, reply): Promise<OperatorAddedJson> => {
    const body = parse(operatorAddBodySchema, request.body ?? {}, 'operator');
    const added = await admin.addOperator(by(request), { id: body.id, ttlMs: body.ttl });
    void reply.code(201);
    return added;
  });

  app.post<{ Params: { id: string } }>(
    '/v1/operator/operators/:id/revoke',
    { onRequest },
    async (request): Promise<OperatorRevokedJson> => {
      parse(emptyBodySchema, request.body ?? {}, 'revocation');
      return admin.revokeOperator(by(request), parse(principalIdSchema, request.params.id, 'id'));
    },
  );

  app.get('/v1/operator/audit', { onRequest }, (): Promise<AuditStatusJson> => admin.verifications.status());

  app.post(
    '/v1/operator/audit/verify',
    { onRequest },
    async (request, reply): Promise<AuditVerificationJson> => {
      parse(emptyBodySchema, request.body ?? {}, 'verification');
      const job = admin.verifications.start(by(request));
      void reply.code(202);
      return job;
    },
  );

  const streams = new Set<() => void>();
  endStreamsOnClose(app, streams);
  app.get('/v1/operator/events', { onRequest }, (request, reply) => {
    serveEventStream(request, reply, admin.events, streams);
  });
}
