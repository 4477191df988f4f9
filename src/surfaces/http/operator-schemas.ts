import { z } from 'zod';

import { DURATION_PATTERN, parseDuration } from '../../config/duration.js';

// Operator text (comments, halt reasons) ends up in the audit log and in terminals: printable, bounded.
const operatorText = (max: number) =>
  z
    .string()
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must not contain control characters' });

/** `POST /v1/operator/approvals/{requestId}/approve`. */
export const approveBodySchema = z.strictObject({
  payloadHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { error: 'expected the 64 hex digits of the approval payloadHash' })
    .describe('The payloadHash shown with the approval: you approve exactly that payload.'),
  comment: operatorText(500).optional().describe('Recorded with your approval and in the audit log.'),
});

/** `POST /v1/operator/approvals/{requestId}/deny`. */
export const denyBodySchema = z.strictObject({
  comment: operatorText(500).optional().describe('Why; recorded with the denial and in the audit log.'),
});

/** `POST /v1/operator/halt`. */
export const haltBodySchema = z.strictObject({
  reason: operatorText(500).min(1).describe('Why trading stops; shown to everyone who asks.'),
  cancelOpenOrders: z
    .boolean()
    .optional()
    .describe('Also cancel every open order of every account, through the audited path.'),
  revokeAgents: z
    .boolean()
    .optional()
    .describe('Also revoke every agent token and every session token (exchanged, delegated).'),
});

/** `POST /v1/operator/resume` takes no fields. */
export const resumeBodySchema = z.strictObject({});

/** `GET /v1/operator/approvals?status=`. */
export const approvalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'executed']);

// Issue 18: the operator console's routes.

/** Agent and operator ids: as `cofre agent add` and `cofre operator add` take them. */
const principalId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, {
  error: 'use 1 to 64 lowercase letters, digits, "-" and "_", starting with a letter',
});

/** A duration as the config writes one (`30s`, `15m`, `24h`, `7d`), bounded, in milliseconds. */
const durationText = (min: number, max: number, range: string) =>
  z
    .string()
    .regex(DURATION_PATTERN, { error: 'expected a duration like "15m", "1h" or "7d"' })
    .transform((text) => parseDuration(text))
    .refine((ms) => ms >= min && ms <= max, { error: `must be ${range}` });

const DAY = 86_400_000;

/** Identifiers given in a query or a path: printable and bounded (they only ever select). */
const selector = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must not contain control characters' });

/** `GET /v1/operator/requests?agent=&account=&status=&action=&limit=&before=`. */
export const requestsQuerySchema = z.strictObject({
  agent: selector.optional().describe('Only this agent’s requests.'),
  account: selector.optional().describe('Only requests on this account.'),
  status: z.enum(['executing', 'executed', 'denied', 'pending_approval', 'failed']).optional(),
  action: selector.optional().describe('Only this action (place_order, get_balance, …).'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { error: 'expected a whole number from 1 to 500' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 500, { error: 'expected a whole number from 1 to 500' })
    .optional()
    .describe('At most this many (default 50, at most 500).'),
  before: z.iso
    .datetime({ offset: true, error: 'expected an ISO 8601 time (the nextBefore of the previous page)' })
    .transform((text) => new Date(text))
    .optional()
    .describe('Only requests created before this: the previous answer’s nextBefore.'),
});

/** `GET /v1/operator/activity?window=24h&bucket=1h`. */
export const activityQuerySchema = z
  .strictObject({
    window: durationText(60_000, 31 * DAY, 'from 1m to 31d')
      .default(DAY)
      .describe('How far back (default 24h).'),
    bucket: durationText(60_000, 31 * DAY, 'from 1m to 31d')
      .default(3_600_000)
      .describe('Bucket length (default 1h).'),
  })
  .refine((q) => q.bucket <= q.window, { error: 'bucket must not be longer than window', path: ['bucket'] })
  .refine((q) => q.window / q.bucket <= 500, {
    error: 'at most 500 buckets: choose a longer bucket or a shorter window',
    path: ['bucket'],
  });

/** `POST /v1/operator/agents`. */
export const agentAddBodySchema = z.strictObject({
  id: principalId.describe('The new agent’s id.'),
  policy: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Its policy; may be left out when the config has one.'),
  ttl: durationText(60_000, 3650 * DAY, 'from 1m to 3650d')
    .optional()
    .describe('Its token’s lifetime (default agents.tokenTtl).'),
});

/** `POST /v1/operator/operators`. */
export const operatorAddBodySchema = z.strictObject({
  id: principalId.describe('The new operator’s id.'),
  ttl: durationText(60_000, 3650 * DAY, 'from 1m to 3650d')
    .optional()
    .describe('Its token’s lifetime (default 30d).'),
});

/** `{id}` of `POST /v1/operator/agents/{id}/revoke` and `.../operators/{id}/revoke`. */
export const principalIdSchema = principalId;

/** `{requestId}` of `GET /v1/operator/requests/{requestId}`. */
export const requestIdSchema = selector;

/** `POST /v1/operator/audit/verify` and the revoke routes take no fields. */
export const emptyBodySchema = z.strictObject({});
