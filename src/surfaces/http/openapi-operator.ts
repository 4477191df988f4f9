import { z } from 'zod';

import { consolePaths, consoleSchemas } from './openapi-operator-console.js';
import {
  approvalStatusSchema,
  approveBodySchema,
  denyBodySchema,
  haltBodySchema,
} from './operator-schemas.js';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema (2020-12) of an operator request body, from the zod schema the route validates with. */
function bodySchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return rest;
}

const iso = { type: 'string', format: 'date-time' } as const;
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });

/** Schemas of the operator API, merged into the document's components. */
export const operatorSchemas = {
  Approval: {
    type: 'object',
    description: 'A request waiting for (or decided by) operators, bound to the exact payload it will send.',
    required: ['requestId', 'agent', 'action', 'status', 'payload', 'payloadHash', 'rule', 'required'],
    properties: {
      requestId: { type: 'string' },
      agent: { type: 'string' },
      action: { type: 'string' },
      account: nullable({ type: 'string' }),
      status: { type: 'string', enum: approvalStatusSchema.options },
      payload: { description: 'The canonical resolved action and the decision that asked for approval.' },
      payloadHash: {
        type: 'string',
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 of the canonical payload; approve this.',
      },
      rule: { type: 'string' },
      required: { type: 'integer', minimum: 1, description: 'Distinct operators needed.' },
      approvers: { type: 'array', items: { type: 'string' }, description: 'Who may approve; empty: anyone.' },
      approvals: {
        type: 'array',
        items: {
          type: 'object',
          properties: { operator: { type: 'string' }, at: iso, comment: nullable({ type: 'string' }) },
        },
      },
      decidedBy: nullable({ type: 'string' }),
      comment: nullable({ type: 'string' }),
      createdAt: iso,
      expiresAt: iso,
      decidedAt: nullable(iso),
    },
  },
  HaltState: {
    type: 'object',
    required: ['halted'],
    properties: { halted: { type: 'boolean' }, reason: { type: 'string' }, by: { type: 'string' }, at: iso },
  },
  ...consoleSchemas,
} as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: JsonSchema) => ({
  description,
  content: { 'application/json': { schema } },
});
const errorReply = (description: string) => json(description, ref('Error'));
const requestIdParameter = { name: 'requestId', in: 'path', required: true, schema: { type: 'string' } };

const operatorErrors = {
  '400': errorReply('Invalid body or query (COFRE_INPUT_INVALID).'),
  '401': errorReply('Missing, unknown, expired or revoked operator token (COFRE_UNAUTHENTICATED).'),
  '403': errorReply('An agent token on an operator route (COFRE_OPERATOR_TOKEN_REQUIRED).'),
  '500': errorReply('Internal error; the message names the request id to find in the server log.'),
};

function operation(
  operationId: string,
  summary: string,
  extra: { body?: z.ZodType; parameters?: unknown[]; responses: Record<string, unknown> },
) {
  return {
    operationId,
    tags: ['operator'],
    summary,
    security: [{ operatorToken: [] }],
    ...(extra.parameters === undefined ? {} : { parameters: extra.parameters }),
    ...(extra.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(extra.body) } },
          },
        }),
    responses: { ...extra.responses, ...operatorErrors },
  };
}

/** The `/v1/operator/` paths of the OpenAPI document. */
export function operatorPaths(): Record<string, unknown> {
  const approval = json('The approval.', ref('Approval'));
  return {
    '/v1/operator/approvals': {
      get: operation('listApprovals', 'list approvals, pending first', {
        parameters: [
          { name: 'status', in: 'query', required: false, schema: bodySchema(approvalStatusSchema) },
        ],
        responses: {
          '200': json('Approvals.', {
            type: 'object',
            properties: { approvals: { type: 'array', items: ref('Approval') } },
          }),
        },
      }),
    },
    '/v1/operator/approvals/{requestId}': {
      get: operation('showApproval', 'show one approval with its payload and hash', {
        parameters: [requestIdParameter],
        responses: { '200': approval, '404': errorReply('No such approval (COFRE_APPROVAL_NOT_FOUND).') },
      }),
    },
    '/v1/operator/approvals/{requestId}/approve': {
      post: operation('approveRequest', 'approve exactly the payload with this hash', {
        parameters: [requestIdParameter],
        body: approveBodySchema,
        responses: {
          '200': json(
            '`recorded` (more approvals needed: `remaining`) or `executed` (the quorum was reached and the payload sent once; `response` is the request answer the agent gets).',
            {
              type: 'object',
              required: ['outcome', 'approval'],
              properties: {
                outcome: { type: 'string', enum: ['recorded', 'executed'] },
                remaining: { type: 'integer' },
                approval: ref('Approval'),
                response: ref('ActionResponse'),
              },
            },
          ),
          '403': errorReply(
            'An agent token (COFRE_OPERATOR_TOKEN_REQUIRED), or not among the named approvers (COFRE_APPROVAL_NOT_APPROVER).',
          ),
          '404': errorReply('No such approval (COFRE_APPROVAL_NOT_FOUND).'),
          '409': errorReply(
            'Not pending any more (COFRE_APPROVAL_NOT_PENDING), another payload hash (COFRE_APPROVAL_HASH_MISMATCH), or you already approved it (COFRE_APPROVAL_ALREADY_VOTED).',
          ),
        },
      }),
    },
    '/v1/operator/approvals/{requestId}/deny': {
      post: operation('denyRequest', 'deny a pending approval', {
        parameters: [requestIdParameter],
        body: denyBodySchema,
        responses: {
          '200': json('Denied.', { type: 'object', properties: { approval: ref('Approval') } }),
          '404': errorReply('No such approval (COFRE_APPROVAL_NOT_FOUND).'),
          '409': errorReply('Not pending any more (COFRE_APPROVAL_NOT_PENDING).'),
        },
      }),
    },
    '/v1/operator/halt': {
      get: operation('haltState', 'is trading halted?', {
        responses: { '200': json('The kill switch.', ref('HaltState')) },
      }),
      post: operation('halt', 'halt every new action (persisted: a restart stays halted)', {
        body: haltBodySchema,
        responses: {
          '200': json('Halted; once answered, no new action reaches a venue.', {
            type: 'object',
            properties: {
              halt: {
                type: 'object',
                properties: { reason: { type: 'string' }, by: { type: 'string' }, at: iso },
              },
              revokedAgents: { type: 'array', items: { type: 'string' } },
              cancelled: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    account: { type: 'string' },
                    cancelled: { type: 'integer' },
                    error: { type: 'string' },
                  },
                },
              },
            },
          }),
        },
      }),
    },
    '/v1/operator/resume': {
      post: operation('resume', 'lift the halt', {
        responses: {
          '200': json('`resumed: false` when it was not halted.', {
            type: 'object',
            properties: { resumed: { type: 'boolean' } },
          }),
        },
      }),
    },
    ...consolePaths(operation),
  };
}
