import { describe, expect, it } from 'vitest';

import { CofreRequestError } from './client-errors.js';
import { actionResponseOf } from './http-exchange.js';

function thrown(fn: () => unknown): CofreRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofreRequestError);
    return err as CofreRequestError;
  }
  throw new Error('expected a throw');
}

const quota = { error: { code: 'COFRE_AGENT_QUOTA_EXCEEDED', message: 'too many', retryable: true } };

describe('actionResponseOf', () => {
  it('passes an action answer through whatever the HTTP status', () => {
    const body = { requestId: 'req_1', status: 'denied', rule: 'r', reason: 'no' };
    expect(actionResponseOf({ status: 403, headers: new Headers(), body })).toBe(body);
  });

  it('throws an error body with its code, the x-request-id and Retry-After in ms', () => {
    const headers = new Headers({ 'x-request-id': 'http_abc', 'retry-after': '2' });
    expect(thrown(() => actionResponseOf({ status: 429, headers, body: quota }))).toMatchObject({
      code: 'COFRE_AGENT_QUOTA_EXCEEDED',
      requestId: 'http_abc',
      retryable: true,
      httpStatus: 429,
      retryAfterMs: 2000,
    });
  });

  it('reads Retry-After as an HTTP date too, and ignores one it cannot read', () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const dated = thrown(() =>
      actionResponseOf({ status: 429, headers: new Headers({ 'retry-after': at }), body: quota }),
    );
    expect(dated.retryAfterMs).toBeGreaterThan(0);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(60_000);
    const garbage = thrown(() =>
      actionResponseOf({ status: 429, headers: new Headers({ 'retry-after': 'soon' }), body: quota }),
    );
    expect(garbage.retryAfterMs).toBeUndefined();
  });

  it('calls anything else not a cofre answer', () => {
    for (const body of [null, 'text', { status: 'weird', requestId: 'x' }, { error: { code: 'X' } }]) {
      expect(thrown(() => actionResponseOf({ status: 200, headers: new Headers(), body }))).toMatchObject({
        code: 'COFRE_CLIENT_RESPONSE_INVALID',
        httpStatus: 200,
      });
    }
  });
});
