import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import pino from 'pino';
import { describe, expect, it } from 'vitest';

import { ACTION_NAMES } from '../../broker/actions.js';
import { CofreError, errorCatalogue, type ErrorCode } from '../../errors.js';
import { actionToolResult, DATA_NOTICE, errorToolResult } from './mcp-tool-result.js';
import { toolInputSchema, toolOutputSchema } from './mcp-tool-schemas.js';

const log = pino({ level: 'silent' });
// The validator the MCP SDK client runs on every result of a tool with an outputSchema.
const ajv = new AjvJsonSchemaValidator();

describe('toolOutputSchema', () => {
  it.each(ACTION_NAMES)('%s: an object schema every non-executed answer satisfies', (name) => {
    const schema = toolOutputSchema(name);
    expect(schema).toMatchObject({ type: 'object', $schema: 'http://json-schema.org/draft-07/schema#' });
    const valid = ajv.getValidator(schema);
    const code: ErrorCode = 'COFRE_VENUE_REJECTED';
    for (const result of [
      actionToolResult({
        requestId: 'req_1',
        status: 'denied',
        rule: 'default-deny',
        reason: 'no rule allows it',
      }),
      actionToolResult({
        requestId: 'req_1',
        status: 'pending_approval',
        rule: 'large',
        reason: 'waits',
        approval: { expiresAt: '2026-01-01T00:00:00.000Z', payloadHash: 'ab'.repeat(32) },
      }),
      actionToolResult({
        requestId: 'req_1',
        status: 'failed',
        error: { code, message: 'refused', retryable: false, venueText: 'Order does not exist.' },
      }),
      errorToolResult(new CofreError('COFRE_INPUT_INVALID', 'amount: must be positive'), log),
      errorToolResult(new TypeError('unexpected'), log),
    ]) {
      const checked = valid(result.structuredContent);
      expect(checked.errorMessage, JSON.stringify(result.structuredContent)).toBeUndefined();
    }
    expect(valid({ notice: DATA_NOTICE, requestId: 'req_1', status: 'executed' }).valid).toBe(false);
  });

  // A failed answer carries any code of the catalogue; the schema's pattern must admit every one of them.
  it('admits every code of the error catalogue', () => {
    const valid = ajv.getValidator(toolOutputSchema('get_balance'));
    for (const code of Object.keys(errorCatalogue)) {
      const error = { code, message: 'm', retryable: false };
      expect(valid({ notice: DATA_NOTICE, error }).valid, code).toBe(true);
    }
    expect(
      valid({ notice: DATA_NOTICE, error: { code: 'E_OTHER', message: 'm', retryable: false } }).valid,
    ).toBe(false);
  });
});

describe('toolInputSchema', () => {
  it('is the JSON Schema the SDK would have listed: draft-07, an object', () => {
    for (const name of ACTION_NAMES) {
      expect(toolInputSchema(name)).toMatchObject({
        type: 'object',
        $schema: 'http://json-schema.org/draft-07/schema#',
      });
    }
    expect(toolInputSchema('place_order')['required']).toContain('clientOrderId');
  });
});
