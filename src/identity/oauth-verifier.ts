import type { JWTPayload } from 'jose';

import type { AuthenticatedAgent } from '../broker/agent-tokens.js';
import type { DeepReadonly } from '../config/deep-freeze.js';
import type { OAuthIssuerConfig } from '../config/identity-config.js';
import { CofreError } from '../errors.js';
import { ACTION_CLASSES, type ActionClass } from './action-classes.js';
import type { OAuthVerifier } from './agent-authenticator.js';
import { matchAgentRule } from './claim-rules.js';
import { createJwtIssuer, type JwtIssuer, unverifiedIssuer } from './jwt-issuer.js';

/**
 * cofre as an OAuth 2.0 protected resource (MCP authorization; RFC 9068 JWT access tokens): the agent a bearer JWT
 * from one of the `agents.oauth` authorization servers stands for.
 *
 * Checked, in order, and refused with `COFRE_UNAUTHENTICATED` naming what failed:
 * - the issuer (`iss`, read unverified only to choose the key set) is one configured, exactly;
 * - signature with that issuer's key set (discovered, cached, refetched on an unknown key id; `alg: none`, HMAC and
 *   algorithms not configured are refused), `iss`, `exp` (required) and `nbf` with the issuer's `clockSkew`;
 * - `aud` names cofre (RFC 8707 audience binding): the issuer's `audience`, by default `publicUrl` and
 *   `publicUrl/mcp`; a token issued for another resource is refused;
 * - a rule maps the claims to an agent and policy (first match wins).
 *
 * The scopes (`scope`, space-separated, RFC 9068 §2.2.3; or `scp`, an array) become the agent's `actionClasses`; the
 * broker refuses an action of another class with `COFRE_INSUFFICIENT_SCOPE`. A key set that cannot be fetched is
 * `COFRE_IDENTITY_ISSUER_UNAVAILABLE` (retryable).
 *
 * SECURITY: no token passthrough. The access token is read here and dropped: it is not kept on the agent, not
 * logged, not stored, and never sent on to a venue, a service or anything else (MCP authorization forbids passing it
 * upstream; cofre's own credentials do that work). Only `iss`, `sub` and `exp` are kept, for delegation.
 *
 * Safe to call concurrently; issuers' key sets are shared across requests.
 */
export function createOAuthVerifier(
  issuers: readonly DeepReadonly<OAuthIssuerConfig>[],
  publicUrl: string,
): OAuthVerifier {
  const trusted = new Map(
    issuers.map((config) => [
      config.issuer,
      {
        config,
        jwt: createJwtIssuer(config),
        audience: config.audience ?? defaultAudience(publicUrl),
      },
    ]),
  );
  return {
    async verify(token, now) {
      const issuer = unverifiedIssuer(token);
      const entry = issuer === undefined ? undefined : trusted.get(issuer);
      if (issuer === undefined || entry === undefined) {
        throw new CofreError(
          'COFRE_UNAUTHENTICATED',
          issuer === undefined
            ? 'the access token names no issuer (`iss`)'
            : // The issuer is the token's own claim, not a secret; naming it tells the caller which server to fix.
              `the access token's issuer ${JSON.stringify(issuer.slice(0, 200))} is not trusted (not in agents.oauth)`,
        );
      }
      const claims = await entry.jwt.verify(token, {
        audience: entry.audience,
        refusal: 'COFRE_UNAUTHENTICATED',
        now,
      });
      return agentOf(entry.config, entry.jwt, claims);
    },
  };
}

/** cofre's own resource identifiers (RFC 9728 `resource`): the API root and the MCP endpoint. */
export function defaultAudience(publicUrl: string): readonly string[] {
  return [publicUrl, `${publicUrl}/mcp`];
}

function agentOf(
  config: DeepReadonly<OAuthIssuerConfig>,
  jwt: JwtIssuer,
  claims: JWTPayload,
): AuthenticatedAgent {
  const match = matchAgentRule(config.rules, claims);
  if (match === undefined) {
    throw new CofreError(
      'COFRE_UNAUTHENTICATED',
      `the access token from ${jwt.issuer} is valid, but no rule of agents.oauth maps its claims to an agent (none matched, or the agent id a rule made is not valid)`,
    );
  }
  const granted = scopesOf(claims);
  const actionClasses = new Set<ActionClass>(
    ACTION_CLASSES.filter((actionClass) => granted.has(config.scopes[actionClass])),
  );
  return {
    id: match.agentId,
    policy: match.policy,
    via: 'oauth',
    actionClasses,
    credential: {
      kind: 'oauth',
      issuer: jwt.issuer,
      subject: typeof claims.sub === 'string' ? claims.sub : '',
      // jwtVerify required `exp`, so it is a number here.
      expiresAt: new Date((claims.exp ?? 0) * 1000),
    },
  };
}

/** The scopes a token grants: `scope` (a space-separated string, RFC 8693 §4.2 / RFC 9068) or `scp` (an array). */
function scopesOf(claims: JWTPayload): ReadonlySet<string> {
  const { scope, scp } = claims;
  const listed: unknown[] = [
    ...(typeof scope === 'string' ? scope.split(' ') : []),
    ...(Array.isArray(scp) ? (scp as unknown[]) : typeof scp === 'string' ? scp.split(' ') : []),
  ];
  return new Set(listed.filter((s): s is string => typeof s === 'string' && s !== ''));
}
