import { z } from 'zod';

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
