import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { Broker } from '../../broker/broker.js';
import { delegationInputSchema } from '../../identity/delegation.js';
import type { AgentAuth } from './agent-auth.js';

/** The path of the delegation route. */
export const DELEGATE_PATH = '/v1/tokens/delegate';

/**
 * Issue 17: `POST /v1/tokens/delegate`, an agent mints a narrower child token for a sub-agent (identity/delegation.ts
 * holds the rules). Authenticated like the action routes (before the body is read). Answers 201 `{ token, agent,
 * expiresAt, grant, onBehalfOf }` with `Cache-Control: no-store`: SECURITY: this answer is the only place the child
 * token ever appears (it is stored hashed, audited by id only). A request for any right beyond the caller's is 403
 * `COFRE_DELEGATION_REFUSED` naming each one; a malformed one 400 `COFRE_INPUT_INVALID`.
 */
export function registerDelegateRoute(
  app: FastifyInstance,
  options: { readonly broker: Broker; readonly auth: AgentAuth },
): void {
  const { broker, auth } = options;
  app.post(DELEGATE_PATH, { onRequest: auth.authenticate }, async (request, reply) => {
    const minted = await broker.delegate(auth.agentOf(request), request.body ?? {});
    return reply.code(201).header('cache-control', 'no-store').header('pragma', 'no-cache').send({
      token: minted.token,
      agent: minted.agent,
      expiresAt: minted.expiresAt.toISOString(),
      grant: minted.grant,
      onBehalfOf: minted.onBehalfOf,
    });
  });
}

const errorRef = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The route's entry in the OpenAPI document (merged into `paths`). */
export function delegatePaths(): Record<string, unknown> {
  const { $schema: _dialect, ...body } = z.toJSONSchema(delegationInputSchema, {
    io: 'input',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  const limit = {
    type: 'object',
    required: ['measure', 'windowMs', 'cap'],
    properties: {
      measure: { type: 'string', enum: ['notional', 'orders', 'withdrawals'] },
      unit: { type: 'string' },
      windowMs: { type: 'integer' },
      cap: { type: 'string' },
    },
  };
  const list = { type: 'array', items: { type: 'string' } };
  return {
    [DELEGATE_PATH]: {
      post: {
        operationId: 'delegate',
        tags: ['agent'],
        summary: 'mint a narrower token for a sub-agent',
        description:
          'Mints a child token whose rights are a subset of yours: fewer accounts, actions or symbols, its own limits (drawn in addition to yours: the child spends your budget too), a shorter life. Absent lists inherit yours; an empty list means none. Revoking your token revokes the child. The token is shown only in this answer.',
        security: [{ agentToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: body } } },
        responses: {
          '201': {
            description: 'Minted. Keep the token secret; it is not shown again.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['token', 'agent', 'expiresAt', 'grant', 'onBehalfOf'],
                  properties: {
                    token: { type: 'string', description: 'The child token (`cofre_st_...`).' },
                    agent: { type: 'string', description: 'The child agent id, `<your id>/<name>`.' },
                    expiresAt: { type: 'string', format: 'date-time' },
                    grant: {
                      type: 'object',
                      required: ['tokenId'],
                      properties: {
                        tokenId: { type: 'string', description: "The child token's public id." },
                        accounts: list,
                        actions: list,
                        symbols: list,
                        limits: { type: 'array', items: limit },
                      },
                    },
                    onBehalfOf: { ...list, description: 'Who the child acts for, nearest first.' },
                  },
                },
              },
            },
          },
          '400': errorRef('Invalid request (COFRE_INPUT_INVALID).'),
          '401': errorRef('Missing, unknown, expired or revoked agent token (COFRE_UNAUTHENTICATED).'),
          '403': errorRef(
            'A right asked for is beyond yours, the chain is too deep, or delegation is off (COFRE_DELEGATION_REFUSED); the message names each.',
          ),
          '503': errorRef('The audit log is unavailable (COFRE_AUDIT_UNAVAILABLE); nothing was minted.'),
        },
      },
    },
  };
}
