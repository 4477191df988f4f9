import { randomBytes } from 'node:crypto';

import type { AuditSink } from '../audit/audit-log.js';
import type { DeepReadonly } from '../config/deep-freeze.js';
import type { ExchangeIssuerConfig as ExchangeIssuerConfigOutput } from '../config/identity-config.js';
import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import type { StateStore } from '../state/state-store.js';
import { issueAgentSession } from './agent-sessions.js';
import { matchAgentRule } from './claim-rules.js';
import { createJwtIssuer, type JwtIssuer, looksLikeJwt, unverifiedIssuer } from './jwt-issuer.js';

type ExchangeIssuerConfig = DeepReadonly<ExchangeIssuerConfigOutput>;

// RFC 8693 §3: the identifiers this exchange speaks.
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The RFC 6749 §5.2 / RFC 8693 §2.2.2 error a refusal is answered with. */
export type TokenExchangeErrorKind =
  'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_target';

/**
 * A token exchange request's parameters, as the form (or JSON) body carried them: each parameter's values in order
 * (RFC 8693 allows `resource` and `audience` more than once). Unknown parameters are ignored (RFC 6749 §3.2).
 */
export type TokenExchangeParameters = ReadonlyMap<string, readonly string[]>;

/** What a successful exchange issued: the RFC 8693 §2.2.1 answer's content. */
export interface TokenExchangeResult {
  readonly accessToken: string;
  readonly expiresAt: Date;
  /** Seconds from issuance to `expiresAt`, rounded down (at least 1): RFC 8693's `expires_in`. */
  readonly expiresIn: number;
  readonly agentId: string;
}

/** What {@link createTokenExchange} needs. */
export interface TokenExchangeOptions {
  /** `agents.exchange`: the issuers whose tokens are exchanged. */
  readonly issuers: readonly ExchangeIssuerConfig[];
  /** `server.publicUrl`: the only `resource`/`audience` a caller may ask for (and it + `/mcp`). */
  readonly publicUrl: string | undefined;
  readonly state: StateStore;
  /** Each issuance and each refusal is recorded here (kind `identity`); never a token. */
  readonly audit: AuditSink;
  readonly now: () => Date;
}

/** `POST /v1/token` without the HTTP: checks a subject token and issues a short-lived session token for it. */
export interface TokenExchange {
  /**
   * Exchanges a subject token. Refusals are CofreErrors whose `details.error` is the RFC error kind
   * (`TokenExchangeErrorKind`); nothing is issued then. Safe to call concurrently.
   */
  exchange(parameters: TokenExchangeParameters): Promise<TokenExchangeResult>;
}

/** The RFC error kind a refusal thrown by {@link TokenExchange.exchange} carries (`invalid_request` if unknown). */
export function tokenExchangeErrorKind(err: unknown): TokenExchangeErrorKind {
  const kind = isCofreError(err) ? err.details?.['error'] : undefined;
  return kind === 'invalid_grant' || kind === 'unsupported_grant_type' || kind === 'invalid_target'
    ? kind
    : isCofreError(err, 'COFRE_TOKEN_EXCHANGE_REFUSED')
      ? 'invalid_grant'
      : 'invalid_request';
}

function refusal(kind: TokenExchangeErrorKind, code: ErrorCode, message: string): CofreError {
  return new CofreError(code, message, { details: { error: kind } });
}

/** What is known of a subject token before it is verified, or after, for the audit record. Never the token. */
interface Subject {
  issuer?: string | undefined;
  subject?: string | undefined;
  agentId?: string | undefined;
  rule?: string | undefined;
  expiresAt?: Date | undefined;
}

/**
 * RFC 8693 token exchange for workload identities (Kubernetes service-account tokens, GitHub Actions OIDC tokens,
 * JWT-SVIDs). The steps, in order:
 *
 * 1. the request: grant type, subject token type (a JWT or an ID token), `requested_token_type` (an access token if
 *    given), `resource`/`audience` (cofre itself if given: RFC 8707, a token for another resource is refused);
 * 2. the issuer, chosen by the token's unverified `iss` among `agents.exchange` (only to choose: step 3 checks it);
 * 3. verification with that issuer's keys (jose: signature, algorithm list, `iss`, `aud` = the issuer's `audience`,
 *    `exp` required, `nbf`, clock skew);
 * 4. the first rule whose claims match names the agent and policy;
 * 5. a session token that expires at `now + tokenTtl` or the subject token's own `exp`, whichever is first: the
 *    exchanged token never outlives the identity it came from.
 *
 * SECURITY: the subject token and the issued token never reach the audit log, a log line or an error message; the
 * audit record holds the issuer, `sub`, agent, rule and expiry. A subject token is not single-use (a Kubernetes
 * token is presented many times during its life); what stops its replay after expiry is step 3 and step 5.
 */
export function createTokenExchange(options: TokenExchangeOptions): TokenExchange {
  // One verifier per issuer for the life of the server, so the key set cache is shared by every exchange.
  const issuers = new Map<string, { config: ExchangeIssuerConfig; verifier: JwtIssuer }>(
    options.issuers.map((config) => [config.issuer, { config, verifier: createJwtIssuer(config) }]),
  );
  const resources = options.publicUrl === undefined ? [] : [options.publicUrl, `${options.publicUrl}/mcp`];

  const record = async (
    subject: Subject,
    outcome:
      | { readonly status: 'issued'; readonly tokenId: string }
      | { readonly status: 'refused'; readonly err: CofreError },
  ): Promise<void> => {
    await options.audit.append({
      kind: 'identity',
      requestId: `token_${randomBytes(9).toString('base64url')}`,
      agent: subject.agentId ?? '-',
      action: 'token-exchange',
      status: outcome.status,
      ...(subject.rule === undefined ? {} : { rule: subject.rule }),
      detail: {
        ...(subject.issuer === undefined ? {} : { issuer: subject.issuer }),
        ...(subject.subject === undefined ? {} : { subject: subject.subject }),
        ...(subject.expiresAt === undefined ? {} : { expiresAt: subject.expiresAt.toISOString() }),
        ...(outcome.status === 'issued'
          ? { tokenId: outcome.tokenId }
          : { code: outcome.err.code, reason: outcome.err.message }),
      },
    });
  };

  const exchange = async (
    parameters: TokenExchangeParameters,
    subject: Subject,
  ): Promise<TokenExchangeResult & { readonly tokenId: string }> => {
    const now = options.now();
    const one = (name: string): string | undefined => {
      const values = parameters.get(name) ?? [];
      if (values.length > 1) {
        throw refusal('invalid_request', 'COFRE_INPUT_INVALID', `\`${name}\` may be given only once`);
      }
      return values[0];
    };
    const grantType = one('grant_type');
    if (grantType !== TOKEN_EXCHANGE_GRANT) {
      throw refusal(
        grantType === undefined ? 'invalid_request' : 'unsupported_grant_type',
        'COFRE_INPUT_INVALID',
        grantType === undefined
          ? `\`grant_type\` is missing; it must be ${TOKEN_EXCHANGE_GRANT}`
          : `this endpoint only does token exchange: \`grant_type\` must be ${TOKEN_EXCHANGE_GRANT}`,
      );
    }
    const token = one('subject_token');
    if (token === undefined || token === '') {
      throw refusal('invalid_request', 'COFRE_INPUT_INVALID', '`subject_token` is missing');
    }
    const tokenType = one('subject_token_type');
    if (tokenType !== JWT_TOKEN_TYPE && tokenType !== ID_TOKEN_TYPE) {
      throw refusal(
        'invalid_request',
        'COFRE_INPUT_INVALID',
        `\`subject_token_type\` must be ${JWT_TOKEN_TYPE} or ${ID_TOKEN_TYPE} (a signed JWT from an \`agents.exchange\` issuer)`,
      );
    }
    const requested = one('requested_token_type');
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
      throw refusal(
        'invalid_request',
        'COFRE_INPUT_INVALID',
        `cofre issues only access tokens: \`requested_token_type\` must be ${ACCESS_TOKEN_TYPE} or absent`,
      );
    }
    if (parameters.has('actor_token')) {
      throw refusal(
        'invalid_request',
        'COFRE_INPUT_INVALID',
        '`actor_token` is not supported (delegation is POST /v1/tokens/delegate)',
      );
    }
    for (const name of ['resource', 'audience'] as const) {
      for (const target of parameters.get(name) ?? []) {
        if (resources.includes(target.replace(/\/+$/, ''))) continue;
        throw refusal(
          'invalid_target',
          'COFRE_TOKEN_EXCHANGE_REFUSED',
          resources.length === 0
            ? `\`${name}\` was given, but this cofre has no \`server.publicUrl\` to compare it with; leave it out`
            : `\`${name}\` names another resource; cofre issues tokens only for itself (${resources.join(' or ')})`,
        );
      }
    }

    if (!looksLikeJwt(token)) {
      throw refusal(
        'invalid_grant',
        'COFRE_TOKEN_EXCHANGE_REFUSED',
        'the subject token is not a signed JWT (compact JWS)',
      );
    }
    const iss = unverifiedIssuer(token);
    const issuer = iss === undefined ? undefined : issuers.get(iss);
    // Only a configured issuer is recorded: any other `iss` is whatever an unauthenticated caller chose to write.
    subject.issuer = issuer?.config.issuer;
    if (issuer === undefined) {
      throw refusal(
        'invalid_grant',
        'COFRE_TOKEN_EXCHANGE_REFUSED',
        iss === undefined
          ? 'the subject token names no issuer (`iss`)'
          : 'the subject token was issued by an issuer this cofre does not exchange for (not in `agents.exchange`)',
      );
    }
    const claims = await issuer.verifier.verify(token, {
      audience: issuer.config.audience,
      refusal: 'COFRE_TOKEN_EXCHANGE_REFUSED',
      now,
    });
    subject.subject = typeof claims.sub === 'string' ? claims.sub : undefined;
    const match = matchAgentRule(issuer.config.rules, claims);
    if (match === undefined) {
      throw refusal(
        'invalid_grant',
        'COFRE_TOKEN_EXCHANGE_REFUSED',
        "no rule of this issuer matches the subject token's claims (or the agent template yields no valid agent id)",
      );
    }
    subject.agentId = match.agentId;
    subject.rule = `agents.exchange[${options.issuers.indexOf(issuer.config)}].${match.rule}`;
    // `exp` is required by the verifier; the skew it allows must not extend the issued token's life.
    const subjectExpiry = (claims.exp ?? 0) * 1000;
    const expiresAt = new Date(Math.min(now.getTime() + issuer.config.tokenTtl, subjectExpiry));
    subject.expiresAt = expiresAt;
    if (expiresAt.getTime() <= now.getTime()) {
      throw refusal('invalid_grant', 'COFRE_TOKEN_EXCHANGE_REFUSED', 'the subject token has expired');
    }
    const { session, token: accessToken } = await issueAgentSession(options.state, {
      agentId: match.agentId,
      policy: match.policy,
      kind: 'exchange',
      subject: `${issuer.config.issuer} ${subject.subject ?? '-'}`,
      now,
      expiresAt,
    });
    return {
      accessToken,
      expiresAt,
      expiresIn: Math.max(1, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)),
      agentId: match.agentId,
      tokenId: session.tokenId,
    };
  };

  return {
    async exchange(parameters) {
      const subject: Subject = {};
      let result: TokenExchangeResult & { readonly tokenId: string };
      try {
        result = await exchange(parameters, subject);
      } catch (err) {
        const known = isCofreError(err)
          ? err
          : new CofreError('COFRE_INTERNAL', 'the token exchange failed', { cause: err });
        // A refusal that cannot be recorded is still a refusal; the audit failure is the one reported.
        await record(subject, { status: 'refused', err: known });
        throw known;
      }
      // SECURITY (fail closed): an issuance the audit log cannot record is revoked and refused.
      try {
        await record(subject, { status: 'issued', tokenId: result.tokenId });
      } catch (err) {
        await options.state.revokeAgentSession(result.tokenId, options.now());
        throw isCofreError(err)
          ? err
          : new CofreError(
              'COFRE_AUDIT_UNAVAILABLE',
              'the token exchange could not be recorded in the audit log, so nothing was issued',
              { cause: err },
            );
      }
      const { tokenId: _stored, ...issued } = result;
      return issued;
    },
  };
}
