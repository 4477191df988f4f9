import { randomBytes } from 'node:crypto';

import type { AuditSink } from '../audit/audit-log.js';
import { CofreError, type ErrorCode } from '../errors.js';
import type { OperatorRecord } from '../state/control-store.js';
import type { StateStore } from '../state/state-store.js';
import { issueAgentToken, type IssuedToken } from './agent-tokens.js';
import { type IssuedOperatorToken, issueOperatorToken } from './operator-tokens.js';

// Who may use cofre: adding and revoking agents and operators, each change an `operator` audit record naming the
// operator who made it. One implementation for `cofre agent|operator add|revoke` (the operator is `local:<os user>`)
// and the operator API (the operator is the token's or the console session's).

/** A change to who may use cofre, for its `operator` record. */
export interface TokenChange {
  readonly action: 'agent-add' | 'agent-revoke' | 'operator-add' | 'operator-revoke';
  /** The agent's or operator's id. */
  readonly id: string;
  /** The id part of the token (`cofre_<tokenId>.…`), never the token. */
  readonly tokenId: string | undefined;
  readonly detail?: Readonly<Record<string, string>>;
}

/**
 * Appends the `operator` record of a token change made by `operator`. SECURITY: it holds the token's id, never the
 * token or its hash.
 */
export function recordTokenChange(audit: AuditSink, change: TokenChange, operator: string): Promise<void> {
  const agent = change.action.startsWith('agent-') ? change.id : '-';
  return audit.append({
    kind: 'operator',
    requestId: `${change.action}_${randomBytes(9).toString('base64url')}`,
    agent,
    action: change.action,
    operator,
    detail: {
      id: change.id,
      ...(change.tokenId === undefined ? {} : { tokenId: change.tokenId }),
      ...change.detail,
    },
  });
}

/**
 * Records a revocation that has already taken effect. A revocation is never held back by the audit log (stopping
 * is always allowed); if it cannot be recorded this fails loudly (`COFRE_AUDIT_UNAVAILABLE`), saying the revocation
 * stands.
 */
export async function recordRevocation(
  audit: AuditSink,
  change: TokenChange,
  operator: string,
): Promise<void> {
  try {
    await recordTokenChange(audit, change, operator);
  } catch (err) {
    throw new CofreError(
      'COFRE_AUDIT_UNAVAILABLE',
      `${change.id} is revoked, but the revocation could not be written to the audit log (fix the log, then note the revocation by hand)`,
      { cause: err },
    );
  }
}

/**
 * The policy a new agent runs under: `given`, or the only one when the config has one. Otherwise throws `code`
 * naming the config's policies, so the caller can pick one.
 */
export function choosePolicy(
  policies: readonly string[],
  given: string | undefined,
  code: ErrorCode,
  hint = 'choose a policy',
): string {
  const policy = given ?? (policies.length === 1 ? policies[0] : undefined);
  if (policy === undefined || !policies.includes(policy)) {
    throw new CofreError(
      code,
      `${policy === undefined ? hint : `no policy "${policy}" in the config`} (policies: ${policies.join(', ') || 'none'})`,
    );
  }
  return policy;
}

/**
 * Issues an agent token (through `issue`, default {@link issueAgentToken}; `cofre agent add --token-file` writes
 * the file as it issues) and records it. SECURITY: a token whose issue cannot be recorded is revoked at once and
 * `onUnrecorded` runs (to remove a token file); it is never handed out.
 */
export async function addAgent(
  state: StateStore,
  audit: AuditSink,
  input: { readonly id: string; readonly policy: string; readonly ttlMs: number; readonly now: Date },
  operator: string,
  options: {
    readonly issue?: (input: {
      id: string;
      policy: string;
      ttlMs: number;
      now: Date;
    }) => Promise<IssuedToken>;
    readonly onUnrecorded?: () => Promise<void>;
  } = {},
): Promise<IssuedToken> {
  const issued = await (options.issue ?? ((i) => issueAgentToken(state, i)))({ ...input });
  try {
    await recordTokenChange(
      audit,
      {
        action: 'agent-add',
        id: issued.agent.id,
        tokenId: issued.agent.tokenId,
        detail: { policy: input.policy, expiresAt: issued.agent.expiresAt.toISOString() },
      },
      operator,
    );
  } catch (err) {
    await state.revokeAgent(issued.agent.id, new Date());
    await options.onUnrecorded?.();
    throw err;
  }
  return issued;
}

/** What {@link revokeAgent} did. */
export interface AgentRevocation {
  /** Whether the agent's own token was revoked (false: it had none, only session tokens). */
  readonly revokedAgent: boolean;
  /** Session tokens revoked: its own and its sub-agents' (exchanged or delegated). */
  readonly sessions: number;
}

/**
 * Revokes an agent's token and every session token of it and its sub-agents at once (running servers check on
 * every request), then records it. `COFRE_AGENT_NOT_FOUND` when there was nothing live to revoke.
 */
export async function revokeAgent(
  state: StateStore,
  audit: AuditSink,
  id: string,
  at: Date,
  operator: string,
): Promise<AgentRevocation> {
  const tokenId = (await state.listAgents()).find((a) => a.id === id && a.revokedAt === undefined)?.tokenId;
  const revokedAgent = await state.revokeAgent(id, at);
  const sessions = await state.revokeAgentSessionsOf(id, at);
  if (!revokedAgent && sessions === 0) {
    throw new CofreError('COFRE_AGENT_NOT_FOUND', `no active agent "${id}" and no live session token of it`);
  }
  await recordRevocation(
    audit,
    {
      action: 'agent-revoke',
      id,
      tokenId,
      ...(sessions === 0 ? {} : { detail: { sessionsRevoked: String(sessions) } }),
    },
    operator,
  );
  return { revokedAgent, sessions };
}

/** Issues an operator token and records it; like {@link addAgent}, an unrecorded token is revoked at once. */
export async function addOperator(
  state: StateStore,
  audit: AuditSink,
  input: { readonly id: string; readonly ttlMs: number; readonly now: Date },
  operator: string,
): Promise<IssuedOperatorToken> {
  const issued = await issueOperatorToken(state, { ...input });
  try {
    await recordTokenChange(
      audit,
      {
        action: 'operator-add',
        id: issued.operator.id,
        tokenId: issued.operator.tokenId,
        detail: { expiresAt: issued.operator.expiresAt.toISOString() },
      },
      operator,
    );
  } catch (err) {
    await state.revokeOperator(issued.operator.id, new Date());
    throw err;
  }
  return issued;
}

/** Revokes an operator's token (checked on every request) and records it; `COFRE_OPERATOR_NOT_FOUND` if none. */
export async function revokeOperator(
  state: StateStore,
  audit: AuditSink,
  id: string,
  at: Date,
  operator: string,
): Promise<void> {
  const tokenId = (await state.listOperators()).find(
    (o: OperatorRecord) => o.id === id && o.revokedAt === undefined,
  )?.tokenId;
  if (!(await state.revokeOperator(id, at))) {
    throw new CofreError('COFRE_OPERATOR_NOT_FOUND', `no active operator "${id}"`);
  }
  await recordRevocation(audit, { action: 'operator-revoke', id, tokenId }, operator);
}
