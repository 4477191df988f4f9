import { CofreError } from '../errors.js';
import type { AgentSessionRecord, SessionAncestor } from '../identity/session-types.js';

// Issue 17: the `agent_sessions` table as both stores lay it out (SQLite: JSON as text, times as ms; PostgreSQL:
// jsonb, timestamptz). One column list, one binding and one mapping, so the two cannot drift apart.

/** The columns an INSERT names, in the order {@link sessionValues} binds them. */
export const SESSION_INSERT_COLUMNS =
  'token_id, token_hash, agent_id, policy, kind, on_behalf_of, ancestors, grants, subject, created_at, expires_at';

/** The values of a new session row, in {@link SESSION_INSERT_COLUMNS} order; `time` writes a Date as the driver wants. */
export function sessionValues(session: AgentSessionRecord, time: (at: Date) => Date | number): unknown[] {
  return [
    session.tokenId,
    session.tokenHash,
    session.agentId,
    session.policy,
    session.kind,
    JSON.stringify(session.onBehalfOf),
    JSON.stringify(session.ancestors),
    session.grants ?? null,
    session.subject ?? null,
    time(session.createdAt),
    time(session.expiresAt),
  ];
}

/** A row as either driver returns it: JSON columns as text (SQLite) or parsed (jsonb), times as ms or Dates. */
export interface SessionRow {
  token_id: string;
  token_hash: Buffer;
  agent_id: string;
  policy: string;
  kind: 'exchange' | 'delegation';
  on_behalf_of: string | string[];
  ancestors: string | SessionAncestor[];
  grants: string | null;
  subject: string | null;
  created_at: number | Date;
  expires_at: number | Date;
  revoked_at: number | Date | null;
}

export function sessionFromRow(row: SessionRow): AgentSessionRecord {
  return {
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    agentId: row.agent_id,
    policy: row.policy,
    kind: row.kind,
    onBehalfOf:
      typeof row.on_behalf_of === 'string' ? (JSON.parse(row.on_behalf_of) as string[]) : row.on_behalf_of,
    ancestors:
      typeof row.ancestors === 'string' ? (JSON.parse(row.ancestors) as SessionAncestor[]) : row.ancestors,
    grants: row.grants ?? undefined,
    subject: row.subject ?? undefined,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
  };
}

/** What a primary-key conflict on a new session means: 96 random bits drawn twice, which is a bug to report. */
export function sessionIdIssuedTwice(cause: unknown): CofreError {
  return new CofreError('COFRE_INTERNAL', 'a session token id was issued twice', { cause });
}
