import pino from 'pino';
import { describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../broker/broker.js';
import { CofreError, type ErrorCode } from '../../errors.js';
import { bearerChallengeHeader, httpErrorReply, httpStatusForResponse } from './http-error.js';

const log = pino({ level: 'silent' });

function response(status: ActionResponse['status'], code?: ErrorCode): ActionResponse {
  return {
    requestId: 'req_1',
    status,
    ...(code === undefined ? {} : { error: { code, message: 'm', retryable: false } }),
  };
}

describe('httpStatusForResponse', () => {
  it.each([
    ['executed', undefined, 200],
    ['pending_approval', undefined, 202],
    ['denied', undefined, 403],
    ['failed', 'COFRE_VENUE_REJECTED', 502],
    ['failed', 'COFRE_VENUE_UNAVAILABLE', 502],
    ['failed', 'COFRE_VENUE_OUTCOME_UNKNOWN', 502],
    ['failed', 'COFRE_INPUT_INVALID', 400],
    ['failed', 'COFRE_REQUEST_IN_PROGRESS', 409],
    ['failed', 'COFRE_CREDENTIALS_UNAVAILABLE', 503],
    ['failed', 'COFRE_ACCOUNT_NOT_FOUND', 404],
    ['failed', 'COFRE_INTERNAL', 500],
    ['failed', undefined, 502],
  ] as const)('%s with %s is %i', (status, code, http) => {
    expect(httpStatusForResponse('place_order', response(status, code))).toBe(http);
  });

  it('answers get_request 200 whatever the stored status', () => {
    expect(httpStatusForResponse('get_request', response('denied'))).toBe(200);
    expect(httpStatusForResponse('get_request', response('failed', 'COFRE_VENUE_REJECTED'))).toBe(200);
  });
});

describe('httpErrorReply', () => {
  it.each([
    ['COFRE_UNAUTHENTICATED', 401],
    ['COFRE_INPUT_INVALID', 400],
    ['COFRE_ACTION_UNKNOWN', 400],
    ['COFRE_ORIGIN_REFUSED', 403],
    ['COFRE_REQUEST_NOT_FOUND', 404],
    ['COFRE_METHOD_NOT_ALLOWED', 405],
    ['COFRE_BODY_TOO_LARGE', 413],
    ['COFRE_MEDIA_TYPE_UNSUPPORTED', 415],
    ['COFRE_AUDIT_UNAVAILABLE', 503],
    ['COFRE_INTERNAL', 500],
  ] as const)('maps %s to %i', (code, status) => {
    expect(httpErrorReply(new CofreError(code, 'message'), 'http_1', log).status).toBe(status);
  });

  it('answers an agent over its quota 429 with Retry-After in whole seconds', () => {
    const err = new CofreError('COFRE_AGENT_QUOTA_EXCEEDED', 'too many requests', {
      details: { quota: 'rate', retryAfterMs: 1_200 },
    });
    const answer = httpErrorReply(err, 'r', log);
    expect(answer.status).toBe(429);
    expect(answer.headers).toEqual({ 'retry-after': '2' });
    expect(answer.body.error).toMatchObject({ code: 'COFRE_AGENT_QUOTA_EXCEEDED', retryable: true });
  });

  it('adds WWW-Authenticate to 401 only', () => {
    expect(httpErrorReply(new CofreError('COFRE_UNAUTHENTICATED', 'x'), 'http_1', log).headers).toEqual({
      'www-authenticate': 'Bearer realm="cofre"',
    });
    expect(httpErrorReply(new CofreError('COFRE_INPUT_INVALID', 'x'), 'http_1', log).headers).toEqual({});
  });

  it('hides an unexpected error behind a generic message with the request id', () => {
    const reply = httpErrorReply(new Error('secret-ish detail'), 'http_abc', log);
    expect(reply.status).toBe(500);
    expect(reply.body.error.code).toBe('COFRE_INTERNAL');
    expect(reply.body.error.message).toContain('http_abc');
    expect(JSON.stringify(reply)).not.toContain('secret-ish');
  });

  it('never passes a parser message through (it can quote the body)', () => {
    const parserError = Object.assign(new SyntaxError('Unexpected token in "BODY-TEXT"'), {
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      statusCode: 400,
    });
    const reply = httpErrorReply(parserError, 'http_1', log);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply)).not.toContain('BODY-TEXT');
  });

  it('turns other fastify client errors into COFRE_INPUT_INVALID and server errors into 500', () => {
    expect(httpErrorReply(Object.assign(new Error('x'), { statusCode: 400 }), 'r', log).body.error.code).toBe(
      'COFRE_INPUT_INVALID',
    );
    expect(httpErrorReply(Object.assign(new Error('x'), { statusCode: 503 }), 'r', log).status).toBe(500);
  });
});

describe('bearerChallengeHeader (RFC 6750 §3, RFC 9728 §5.1)', () => {
  const metadata = 'https://cofre.example.com/.well-known/oauth-protected-resource';

  it('names the resource metadata, and no error when no token came', () => {
    const err = new CofreError('COFRE_UNAUTHENTICATED', 'no token');
    expect(bearerChallengeHeader(err, { tokenPresented: false, resourceMetadata: metadata })).toBe(
      `Bearer realm="cofre", resource_metadata="${metadata}"`,
    );
  });

  it('says invalid_token with the reason when a token was refused, quoting nothing it cannot quote', () => {
    const err = new CofreError('COFRE_UNAUTHENTICATED', 'the issuer "x\\y" is not trusted — sorry');
    expect(bearerChallengeHeader(err, { tokenPresented: true, resourceMetadata: metadata })).toBe(
      `Bearer realm="cofre", error="invalid_token", error_description="the issuer 'x'y' is not trusted ? sorry", resource_metadata="${metadata}"`,
    );
  });

  it('says insufficient_scope with the scope that grants the class at the token issuer', () => {
    const err = new CofreError('COFRE_INSUFFICIENT_SCOPE', 'no trade', { details: { actionClass: 'trade' } });
    const header = bearerChallengeHeader(err, {
      tokenPresented: true,
      resourceMetadata: metadata,
      scopeFor: (c) => (c === 'trade' ? 'exchange:trade' : undefined),
    });
    expect(header).toBe(
      `Bearer realm="cofre", error="insufficient_scope", error_description="no trade", scope="exchange:trade", resource_metadata="${metadata}"`,
    );
  });

  it('adds no challenge to other refusals', () => {
    expect(
      bearerChallengeHeader(new CofreError('COFRE_IDENTITY_ISSUER_UNAVAILABLE', 'down'), {
        tokenPresented: true,
      }),
    ).toBeUndefined();
  });
});
