import type { FastifyInstance } from 'fastify';

import { CofreError, isCofreError } from '../../errors.js';
import {
  ACCESS_TOKEN_TYPE,
  ID_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  type TokenExchange,
  tokenExchangeErrorKind,
  type TokenExchangeParameters,
} from '../../identity/token-exchange.js';
import { AddressRateLimiter } from './address-rate-limiter.js';
import { httpErrorReply } from './http-error.js';

/**
 * The largest token request accepted. The route is unauthenticated (the subject token is the credential), so its
 * body stays small whatever `server.bodyLimit` says: a Kubernetes or GitHub token is 1-2 KB.
 */
export const TOKEN_REQUEST_BODY_LIMIT = 16 * 1024;

/**
 * Token requests per second per client address, and the burst allowed. The route is unauthenticated and writes an
 * audit record for every refusal, so without a bound anyone who can reach it could fill the audit log; a workload
 * exchanges once per token lifetime (minutes), so a busy cluster behind one proxy address still fits.
 */
export const TOKEN_REQUESTS_PER_SECOND = 10;
export const TOKEN_REQUEST_BURST = 30;

/**
 * `POST /v1/token`: OAuth 2.0 Token Exchange (RFC 8693) of a workload identity token for a short-lived cofre token.
 * The body is `application/x-www-form-urlencoded` (RFC 8693 §2.1); a JSON object of string values is accepted too.
 * Answers RFC 8693 §2.2.1 (200, `Cache-Control: no-store`), or an RFC 6749 §5.2 error with cofre's code:
 * `{ error, error_description, code }`, 400 (503 when the issuer's keys cannot be fetched).
 *
 * Registered in its own fastify scope so the form parser and the error shape apply to this route only.
 */
export function registerTokenExchangeRoute(
  app: FastifyInstance,
  exchange: TokenExchange,
  now: () => number = Date.now,
): void {
  const limiter = new AddressRateLimiter(TOKEN_REQUESTS_PER_SECOND, TOKEN_REQUEST_BURST, now);
  const admit = (address: string): void => {
    if (!limiter.admit(address)) {
      throw new CofreError(
        'COFRE_TOKEN_EXCHANGE_RATE_LIMITED',
        `too many token requests from this address (at most ${TOKEN_REQUESTS_PER_SECOND} per second); retry shortly`,
        { details: { retryAfterMs: 1000 } },
      );
    }
  };
  void app.register((scope, _opts, done) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, parsed) => {
        parsed(null, formParameters(body as string));
      },
    );
    scope.setErrorHandler((err, request, reply) => {
      const answer = httpErrorReply(err, request.id, request.log);
      const code = answer.body.error.code;
      const status =
        code === 'COFRE_IDENTITY_ISSUER_UNAVAILABLE' ||
        code === 'COFRE_TOKEN_EXCHANGE_RATE_LIMITED' ||
        answer.status >= 500
          ? answer.status
          : 400;
      return reply
        .code(status)
        .headers(answer.headers)
        .send({
          // RFC 6749 has no token-endpoint error for "cannot check now"; `temporarily_unavailable` (its §4.1.2.1) tells
          // a generic OAuth client to retry, where `invalid_grant` would make it give up on a good token.
          error:
            code === 'COFRE_IDENTITY_ISSUER_UNAVAILABLE' || code === 'COFRE_TOKEN_EXCHANGE_RATE_LIMITED'
              ? 'temporarily_unavailable'
              : isCofreError(err)
                ? tokenExchangeErrorKind(err)
                : 'invalid_request',
          error_description: answer.body.error.message,
          code,
        });
    });
    scope.post('/v1/token', { bodyLimit: TOKEN_REQUEST_BODY_LIMIT }, async (request, reply) => {
      admit(request.socket.remoteAddress ?? 'unknown');
      const result = await exchange.exchange(parametersOf(request.body));
      // Cache-Control: no-store is set on every answer by the server's onRequest hook (RFC 6749 §5.1 asks for it).
      return reply.code(200).send({
        access_token: result.accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: result.expiresIn,
      });
    });
    done();
  });
}

/** The parameters of a form body: each name's values in order. */
function formParameters(body: string): TokenExchangeParameters {
  const parameters = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    parameters.set(name, [...(parameters.get(name) ?? []), value]);
  }
  return parameters;
}

/** The parameters of a parsed body: a form's, or a JSON object's (string values, or arrays of strings). */
function parametersOf(body: unknown): TokenExchangeParameters {
  if (body instanceof Map) return body as TokenExchangeParameters;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'the token request must be a form (application/x-www-form-urlencoded) or a JSON object',
    );
  }
  const parameters = new Map<string, string[]>();
  for (const [name, value] of Object.entries(body)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (!values.every((v) => typeof v === 'string')) {
      throw new CofreError('COFRE_INPUT_INVALID', `\`${name}\` must be a string`);
    }
    parameters.set(name, values);
  }
  return parameters;
}

const oauthError = {
  type: 'object',
  required: ['error', 'error_description', 'code'],
  properties: {
    error: {
      type: 'string',
      enum: [
        'invalid_request',
        'invalid_grant',
        'unsupported_grant_type',
        'invalid_target',
        'temporarily_unavailable',
      ],
      description:
        'RFC 6749 §5.2 / RFC 8693 §2.2.2 error; `temporarily_unavailable` (503) when the issuer could not be reached.',
    },
    error_description: { type: 'string', description: 'What exactly was wrong. Never holds a token.' },
    code: { type: 'string', description: "cofre's error code (docs/errors.md)." },
  },
};

/** The OpenAPI entry of `POST /v1/token`. */
export function tokenExchangePaths(): Record<string, unknown> {
  const request = {
    type: 'object',
    required: ['grant_type', 'subject_token', 'subject_token_type'],
    properties: {
      grant_type: { const: TOKEN_EXCHANGE_GRANT },
      subject_token: {
        type: 'string',
        description:
          "The workload's signed identity (a Kubernetes service-account token, a GitHub Actions OIDC token, a JWT-SVID) from an `agents.exchange` issuer; its `aud` must be that issuer's configured `audience`.",
      },
      subject_token_type: { enum: [JWT_TOKEN_TYPE, ID_TOKEN_TYPE] },
      requested_token_type: { const: ACCESS_TOKEN_TYPE },
      resource: {
        type: 'string',
        description:
          'If given: cofre\'s `server.publicUrl` (or it + "/mcp"); anything else is `invalid_target`.',
      },
      audience: { type: 'string', description: 'As `resource`.' },
    },
  };
  return {
    '/v1/token': {
      post: {
        operationId: 'exchangeToken',
        tags: ['agent'],
        summary: 'exchange a workload identity token (RFC 8693)',
        description:
          "OAuth 2.0 Token Exchange: a workload presents its platform identity and receives a short-lived cofre token (kind `exchange`) for the agent and policy the first matching `agents.exchange` rule names. The token expires after the issuer's `tokenTtl` or at the subject token's own `exp`, whichever is first. No authentication: the subject token is the credential. Body at most 16 KiB. Served only when `agents.exchange` is configured (404 otherwise).",
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': { schema: request },
            'application/json': { schema: request },
          },
        },
        responses: {
          '200': {
            description: 'Issued (RFC 8693 §2.2.1). `Cache-Control: no-store`.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['access_token', 'issued_token_type', 'token_type', 'expires_in'],
                  properties: {
                    access_token: { type: 'string', description: 'A `cofre_st_` bearer token.' },
                    issued_token_type: { const: ACCESS_TOKEN_TYPE },
                    token_type: { const: 'Bearer' },
                    expires_in: { type: 'integer', description: 'Seconds until it expires.' },
                  },
                },
              },
            },
          },
          '400': {
            description:
              'Refused; nothing was issued (COFRE_TOKEN_EXCHANGE_REFUSED for the subject token or target, COFRE_INPUT_INVALID for the request).',
            content: { 'application/json': { schema: oauthError } },
          },
          '429': {
            description:
              'More than 10 token requests per second (bursts of 30) from one client address (COFRE_TOKEN_EXCHANGE_RATE_LIMITED); retry after `Retry-After`.',
            content: { 'application/json': { schema: oauthError } },
          },
          '503': {
            description:
              "The issuer's discovery document or key set could not be fetched (COFRE_IDENTITY_ISSUER_UNAVAILABLE); retry.",
            content: { 'application/json': { schema: oauthError } },
          },
        },
      },
    },
  };
}
