import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { AuthenticatedAgent } from '../broker/agent-tokens.js';
import { CofreError } from '../errors.js';
import type { StateStore } from '../state/state-store.js';
import type { DelegationGrant } from './delegation-types.js';
import type { AgentSessionRecord, SessionAncestor } from './session-types.js';

// `cofre_st_` then the same 16 + 43 characters as an agent token: the prefix alone tells the two apart (an agent
// token has exactly 16 characters before the dot), so authentication never looks in the wrong table.
const SESSION_TOKEN = /^cofre_st_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

/** Does `token` have the shape of a session token (exchange or delegation)? Says nothing about its validity. */
export function looksLikeSessionToken(token: string | undefined): boolean {
  return token !== undefined && token.startsWith('cofre_st_');
}

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** What a new session token is for; see {@link AgentSessionRecord}. */
export interface SessionToIssue {
  readonly agentId: string;
  readonly policy: string;
  readonly kind: AgentSessionRecord['kind'];
  readonly onBehalfOf?: readonly string[];
  readonly ancestors?: readonly SessionAncestor[];
  /**
   * The chain's grants, root-most first, the new one last; its `tokenId` is filled in here (the id is made here).
   */
  readonly grants?: readonly (Omit<DelegationGrant, 'tokenId'> & { readonly tokenId?: string })[];
  readonly subject?: string;
  readonly now: Date;
  readonly expiresAt: Date;
}

/** A newly issued session token: handed to the caller once, never stored. */
export interface IssuedSession {
  readonly session: AgentSessionRecord;
  readonly token: string;
}

/**
 * Issues a short-lived token `cofre_st_<tokenId>.<secret>` (96-bit id, 256-bit secret, SHA-256 of the secret
 * stored), as {@link issueAgentToken} does for agent tokens.
 */
export async function issueAgentSession(state: StateStore, input: SessionToIssue): Promise<IssuedSession> {
  const tokenId = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const grants = input.grants?.map((grant, i, all) =>
    i === all.length - 1 && input.kind === 'delegation' ? { ...grant, tokenId } : grant,
  );
  const session: AgentSessionRecord = {
    tokenId,
    tokenHash: hash(secret),
    agentId: input.agentId,
    policy: input.policy,
    kind: input.kind,
    onBehalfOf: input.onBehalfOf ?? [],
    ancestors: input.ancestors ?? [],
    grants: grants === undefined || grants.length === 0 ? undefined : JSON.stringify(grants),
    subject: input.subject,
    createdAt: input.now,
    expiresAt: input.expiresAt,
    revokedAt: undefined,
  };
  await state.addAgentSession(session);
  return { session, token: `cofre_st_${tokenId}.${secret}` };
}

const DECOY_HASH = hash('cofre-session-decoy');

function unauthenticated(): CofreError {
  return new CofreError('COFRE_UNAUTHENTICATED', 'invalid, expired or revoked agent token');
}

function live(
  record: { readonly revokedAt: Date | undefined; readonly expiresAt: Date },
  now: Date,
): boolean {
  return record.revokedAt === undefined && now.getTime() < record.expiresAt.getTime();
}

/**
 * Checks a session token, and every stored credential it depends on: a delegated token stops working on its next
 * request once its parent (or any ancestor, or the root agent's own token) is revoked or expires. Same single answer
 * as agent tokens for every failure (no oracle); the hash comparison is constant time.
 */
export async function authenticateAgentSession(
  state: StateStore,
  token: string,
  now: Date,
): Promise<AuthenticatedAgent> {
  const match = SESSION_TOKEN.exec(token);
  const tokenId = match?.[1];
  const [session] = tokenId === undefined ? [] : await state.agentSessions([tokenId]);
  const equal = timingSafeEqual(hash(match?.[2] ?? ''), session?.tokenHash ?? DECOY_HASH);
  if (session === undefined || !equal || !live(session, now)) throw unauthenticated();

  const sessionAncestors = session.ancestors.filter((a) => a.kind === 'session').map((a) => a.tokenId);
  if (sessionAncestors.length > 0) {
    const found = await state.agentSessions(sessionAncestors);
    if (found.length !== new Set(sessionAncestors).size || !found.every((s) => live(s, now))) {
      throw unauthenticated();
    }
  }
  for (const ancestor of session.ancestors) {
    if (ancestor.kind !== 'agent') continue;
    const agent = await state.agentByTokenId(ancestor.tokenId);
    if (agent === undefined || !live(agent, now)) throw unauthenticated();
  }

  const grants = session.grants === undefined ? undefined : (JSON.parse(session.grants) as DelegationGrant[]);
  return {
    id: session.agentId,
    policy: session.policy,
    via: session.kind,
    onBehalfOf: session.onBehalfOf.length === 0 ? undefined : session.onBehalfOf,
    grants,
    credential: {
      kind: 'session',
      tokenId: session.tokenId,
      expiresAt: session.expiresAt,
      ancestors: session.ancestors,
    },
  };
}
