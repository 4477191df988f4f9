import pino from 'pino';
import { describe, expect, it } from 'vitest';

import { CofreError } from '../../errors.js';
import { actionToolResult, DATA_NOTICE, errorToolResult } from './mcp-tool-result.js';

const log = pino({ level: 'silent' });

describe('actionToolResult', () => {
  it('puts the data notice first, in the text and in structuredContent', () => {
    const result = actionToolResult({ requestId: 'req_1', status: 'executed', result: { a: 1 } });
    const first = result.content[0];
    expect(first?.type === 'text' && first.text.split('\n')[0]).toBe(DATA_NOTICE);
    expect(Object.keys(result.structuredContent ?? {})[0]).toBe('notice');
    expect(result.isError).toBe(false);
  });

  it('marks denied and failed as errors, pending approval not', () => {
    expect(actionToolResult({ requestId: 'r', status: 'denied', rule: 'default-deny' }).isError).toBe(true);
    expect(actionToolResult({ requestId: 'r', status: 'failed' }).isError).toBe(true);
    expect(actionToolResult({ requestId: 'r', status: 'pending_approval' }).isError).toBe(false);
  });
});

describe('errorToolResult', () => {
  it('keeps the code and message of a CofreError', () => {
    const result = errorToolResult(new CofreError('COFRE_INPUT_INVALID', 'amount: must be positive'), log);
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toEqual({
      notice: DATA_NOTICE,
      error: { code: 'COFRE_INPUT_INVALID', message: 'amount: must be positive', retryable: false },
    });
  });

  it('hides internal and unexpected errors', () => {
    for (const err of [new CofreError('COFRE_INTERNAL', 'account x not configured'), new TypeError('oops')]) {
      const result = errorToolResult(err, log);
      expect(JSON.stringify(result)).not.toMatch(/oops|not configured|TypeError|\bat /);
      expect(result.structuredContent).toMatchObject({ error: { code: 'COFRE_INTERNAL' } });
    }
  });
});
