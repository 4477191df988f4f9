import { z } from 'zod';

import {
  activityQuerySchema,
  agentAddBodySchema,
  operatorAddBodySchema,
  requestsQuerySchema,
} from './operator-schemas.js';

// Issue 18: the operator console's routes in the OpenAPI document, merged by `openapi-operator.ts`. The shapes are
// those of `operator-api-types.ts` (the routes are typed with them); bodies and queries come from the zod schemas the
// routes validate with.

type JsonSchema = Record<string, unknown>;

const iso = { type: 'string', format: 'date-time' } as const;
const text = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const decimal = { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$', description: 'Decimal text.' } as const;
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const array = (items: JsonSchema) => ({ type: 'array', items });
const object = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...(description === undefined ? {} : { description }),
});
const point = nullable(object({ seq: int, at: iso }));
const status = { type: 'string', enum: ['active', 'revoked', 'expired'] };

/** The console's schemas, merged into the document's components. */
export const consoleSchemas = {
  RequestSummary: object(
    {
      requestId: text,
      agent: text,
      action: text,
      account: nullable(text),
      status: { type: 'string', enum: requestsQuerySchema.shape.status.unwrap().options },
      rule: nullable(text),
      reason: nullable(text),
      errorCode: nullable(text),
      createdAt: iso,
      updatedAt: iso,
    },
    'One request an agent made, from its stored (scrubbed) answer.',
  ),
  Agent: object({
    id: text,
    policy: text,
    status,
    createdAt: iso,
    expiresAt: iso,
    revokedAt: nullable(iso),
    sessions: { ...int, description: 'Live session tokens of it and its sub-agents.' },
  }),
  Operator: object({ id: text, status, createdAt: iso, expiresAt: iso, revokedAt: nullable(iso) }),
  AuditVerification: object(
    {
      id: text,
      state: { type: 'string', enum: ['running', 'passed', 'failed'] },
      by: text,
      startedAt: iso,
      finishedAt: nullable(iso),
      records: { ...int, description: 'Records checked so far.' },
      total: nullable({ ...int, description: 'Records in the chain when it started.' }),
      findings: array(text),
      lastCheckpoint: point,
    },
    'A run of the audit chain verifier.',
  ),
} as const;

/** The query parameters of a zod object schema, as OpenAPI parameters. */
function queryParameters(schema: z.ZodType): unknown[] {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const json = (description: string, schema: JsonSchema) => ({
  description,
  content: { 'application/json': { schema } },
});
const errorReply = (description: string) => json(description, ref('Error'));
const idParameter = { name: 'id', in: 'path', required: true, schema: text };

/** Builds one operation; `operation` is `openapi-operator.ts`'s (tags, security, common errors). */
type Operation = (
  operationId: string,
  summary: string,
  extra: { body?: z.ZodType; parameters?: unknown[]; responses: Record<string, unknown> },
) => unknown;

/** The console's `/v1/operator/` paths. */
export function consolePaths(operation: Operation): Record<string, unknown> {
  return {
    '/v1/operator/requests': {
      get: operation('listRequests', 'requests of every agent, newest first, filtered and paged', {
        parameters: queryParameters(requestsQuerySchema),
        responses: {
          '200': json(
            'A page of requests; `nextBefore` (null on the last page) is the `before` of the next one.',
            object({ requests: array(ref('RequestSummary')), nextBefore: nullable(iso) }),
          ),
        },
      }),
    },
    '/v1/operator/requests/{requestId}': {
      get: operation('requestStory', "one request's story: answer, approval, audit records, timings", {
        parameters: [{ name: 'requestId', in: 'path', required: true, schema: text }],
        responses: {
          '200': json(
            'The stored request and answer, its approval, and every audit record naming it, oldest first.',
            object({
              request: ref('RequestSummary'),
              response: { description: 'The answer the agent got (scrubbed).' },
              approval: nullable(ref('Approval')),
              audit: array(
                object(
                  { seq: int, at: iso, kind: text, fields: { type: 'object' } },
                  'An audit record as written.',
                ),
              ),
              timings: array(object({ seq: int, kind: text, afterMs: int })),
            }),
          ),
          '404': errorReply('No such request in the state store (COFRE_REQUEST_NOT_FOUND).'),
        },
      }),
    },
    '/v1/operator/limits': {
      get: operation('listLimits', 'every limit of every agent with its usage now', {
        responses: {
          '200': json(
            'Limits (one per budget), agents and policies.',
            object({
              limits: array(
                object({
                  limit: text,
                  key: text,
                  measure: text,
                  scope: text,
                  windowMs: nullable(int),
                  unit: nullable(text),
                  cap: decimal,
                  used: decimal,
                  remaining: decimal,
                  policies: array(text),
                  agents: array(text),
                }),
              ),
              agents: array(ref('Agent')),
              policies: array(text),
              at: iso,
            }),
          ),
        },
      }),
    },
    '/v1/operator/activity': {
      get: operation('activity', 'requests per time bucket, oldest first', {
        parameters: queryParameters(activityQuerySchema),
        responses: {
          '200': json(
            'Counts per bucket, by status.',
            object({
              windowMs: int,
              bucketMs: int,
              buckets: array(
                object({ start: iso, executed: int, denied: int, failed: int, pendingApproval: int }),
              ),
            }),
          ),
        },
      }),
    },
    '/v1/operator/agents': {
      get: operation('listAgents', 'agents with their policy and live sessions', {
        responses: {
          '200': json(
            'Agents and the policies of the config.',
            object({ agents: array(ref('Agent')), policies: array(text) }),
          ),
        },
      }),
      post: operation('addAgent', 'add an agent; its token is in this answer only', {
        body: agentAddBodySchema,
        responses: {
          '201': json('The agent and its token, shown once.', object({ agent: ref('Agent'), token: text })),
        },
      }),
    },
    '/v1/operator/agents/{id}/revoke': {
      post: operation('revokeAgent', 'revoke an agent, its sessions and its sub-agents', {
        parameters: [idParameter],
        responses: {
          '200': json('Revoked.', object({ revoked: { type: 'boolean' }, sessions: int })),
          '404': errorReply('No live agent or session of that id (COFRE_AGENT_NOT_FOUND).'),
        },
      }),
    },
    '/v1/operator/operators': {
      get: operation('listOperators', 'operators', {
        responses: { '200': json('Operators.', object({ operators: array(ref('Operator')) })) },
      }),
      post: operation('addOperator', 'add an operator; its token is in this answer only', {
        body: operatorAddBodySchema,
        responses: {
          '201': json(
            'The operator and its token, shown once.',
            object({ operator: ref('Operator'), token: text }),
          ),
        },
      }),
    },
    '/v1/operator/operators/{id}/revoke': {
      post: operation('revokeOperator', "revoke an operator's token", {
        parameters: [idParameter],
        responses: {
          '200': json('Revoked.', object({ revoked: { type: 'boolean' } })),
          '404': errorReply('No active operator of that id (COFRE_OPERATOR_NOT_FOUND).'),
        },
      }),
    },
    '/v1/operator/audit': {
      get: operation('auditStatus', "the audit chain's ends and this process's latest verification", {
        responses: {
          '200': json(
            'Where the chain is kept, its last record and checkpoint, the running or latest verification.',
            object({
              store: { type: 'string', enum: ['file', 'postgres'] },
              head: point,
              lastCheckpoint: point,
              verification: nullable(ref('AuditVerification')),
            }),
          ),
        },
      }),
    },
    '/v1/operator/audit/verify': {
      post: operation('verifyAudit', 'verify the whole audit chain in the background (one run at a time)', {
        responses: {
          '202': json('The verification started, or the one already running.', ref('AuditVerification')),
        },
      }),
    },
    '/v1/operator/events': {
      get: operation('operatorEvents', 'live change events (Server-Sent Events)', {
        responses: {
          '200': {
            description:
              'A `text/event-stream`: `event: approvals|halt|requests|audit-verification|ping` and one line of JSON `data:` each. A snapshot of each on connect, then each change (polled about every second), `ping` every 15 s.',
            content: { 'text/event-stream': { schema: text } },
          },
        },
      }),
    },
  };
}
