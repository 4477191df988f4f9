import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { CofreError } from '../errors.js';
import type { ActionClass } from '../identity/action-classes.js';
import type { DelegationGrant } from '../identity/delegation-types.js';
import type { AgentRecord, StateStore } from '../state/state-store.js';
import { looksLikeOperatorToken } from './operator-tokens.js';

const TOKEN_PATTERN = /^cofre_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;
const AGENT_ID = /^[a-z][a-z0-9_-]{0,63}$/;

/** A newly issued token: shown to the operator once, never stored. */
export interface IssuedToken {
  readonly agent: AgentRecord;
  readonly token: string;
}

/** The agent a valid token belongs to. */
export interface AuthenticatedAgent {
  /** The acting agent: audit records, request ownership, quotas and idempotency keys are its. */
  readonly id: string;
  /** The policy that decides; for a delegated agent, its chain's root's (narrowed by {@link grants}). */
  readonly policy: string;
  /**
   * Issue 17: how it proved who it is. Absent or `token`: a `cofre agent add` token; `oauth`: a JWT access token
   * from `agents.oauth`; `exchange`: a token from `POST /v1/token`; `delegation`: from `POST /v1/tokens/delegate`.
   */
  readonly via?: 'token' | 'oauth' | 'exchange' | 'delegation' | undefined;
  /**
   * Agents it acts on behalf of, nearest first (a delegated token's parent, then the parent's parent...). The last
   * one is the principal: policy questions are asked for it, so its agent-scoped limits are the budget the whole
   * chain draws from. Absent or empty: it acts for itself.
   */
  readonly onBehalfOf?: readonly string[] | undefined;
  /** Delegation grants of its chain, root-most first: a request must fit every one (see `DelegationGrant`). */
  readonly grants?: readonly DelegationGrant[] | undefined;
  /** OAuth: the classes of action its access token's scopes allow. Absent: every class (cofre's own tokens). */
  readonly actionClasses?: ReadonlySet<ActionClass> | undefined;
  /** The credential presented, for delegating from it (a child never outlives it, and dies when it is revoked). */
  readonly credential?: AgentCredential | undefined;
}

/** The credential an agent authenticated with, as delegation needs it. Holds no secret. */
export type AgentCredential =
  | { readonly kind: 'agent'; readonly tokenId: string; readonly expiresAt: Date }
  | {
      readonly kind: 'session';
      readonly tokenId: string;
      readonly expiresAt: Date;
      /** The session's own stored ancestors (nearest first), which a child inherits after the session itself. */
      readonly ancestors: readonly { readonly kind: 'agent' | 'session'; readonly tokenId: string }[];
    }
  | { readonly kind: 'oauth'; readonly issuer: string; readonly subject: string; readonly expiresAt: Date };

/** The agent whose policy and agent-scoped budgets apply to `agent`'s requests: the root of its delegation chain. */
export function principalOf(agent: AuthenticatedAgent): string {
  return agent.onBehalfOf?.at(-1) ?? agent.id;
}

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Issues an agent token: `cofre_<tokenId>.<secret>` with a 96-bit public id (to find the record) and a 256-bit
 * secret (base64url). Only SHA-256 of the secret is stored; a plain hash is enough because the secret is random and
 * long, unlike a password.
 */
export async function issueAgentToken(
  state: StateStore,
  input: { id: string; policy: string; ttlMs: number; now: Date },
): Promise<IssuedToken> {
  if (!AGENT_ID.test(input.id)) {
    throw new CofreError(
      'COFRE_USAGE',
      `invalid agent id "${input.id}"; use lowercase letters, digits, "-" and "_"`,
    );
  }
  const tokenId = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const agent: AgentRecord = {
    id: input.id,
    policy: input.policy,
    tokenId,
    tokenHash: hash(secret),
    createdAt: input.now,
    expiresAt: new Date(input.now.getTime() + input.ttlMs),
    revokedAt: undefined,
  };
  await state.addAgent(agent);
  return { agent, token: `cofre_${tokenId}.${secret}` };
}

// Compared against when the token id is unknown, so unknown ids cost the same hash-and-compare as known ones.
const DECOY_HASH = hash('cofre-decoy');

/**
 * Checks a bearer token. Unknown, malformed, expired and revoked tokens all get the same `COFRE_UNAUTHENTICATED`
 * answer, so a caller cannot tell which (SECURITY: no oracle for valid ids). The hash comparison is constant time.
 * An operator token is refused with `COFRE_AGENT_TOKEN_REQUIRED` (by its shape).
 */
export async function authenticateAgent(
  state: StateStore,
  token: string | undefined,
  now: Date,
): Promise<AuthenticatedAgent> {
  // SECURITY: operator tokens act for a person, never for an agent; said by name so the mix-up is easy to fix.
  if (looksLikeOperatorToken(token)) {
    throw new CofreError(
      'COFRE_AGENT_TOKEN_REQUIRED',
      'this is an agent route and the token given is an operator token; give the agent its own token (cofre agent add)',
    );
  }
  const match = token === undefined ? null : TOKEN_PATTERN.exec(token);
  const agent = match?.[1] === undefined ? undefined : await state.agentByTokenId(match[1]);
  const presented = hash(match?.[2] ?? '');
  const equal = timingSafeEqual(presented, agent?.tokenHash ?? DECOY_HASH);
  if (
    agent === undefined ||
    !equal ||
    agent.revokedAt !== undefined ||
    now.getTime() >= agent.expiresAt.getTime()
  ) {
    throw new CofreError('COFRE_UNAUTHENTICATED', 'invalid, expired or revoked agent token');
  }
  return {
    id: agent.id,
    policy: agent.policy,
    via: 'token',
    credential: { kind: 'agent', tokenId: agent.tokenId, expiresAt: agent.expiresAt },
  };
}
