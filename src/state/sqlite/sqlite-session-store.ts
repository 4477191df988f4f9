import type Database from 'better-sqlite3';

import { CofreError } from '../../errors.js';
import type { AgentSessionRecord, AgentSessionStore, SessionAncestor } from '../../identity/session-types.js';

/** Schema version 6 (issue 17): short-lived tokens issued by exchange and delegation. Idempotent. */
export function migrateTo6(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS agent_sessions (
  token_id TEXT PRIMARY KEY,
  token_hash BLOB NOT NULL,
  agent_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  kind TEXT NOT NULL,
  on_behalf_of TEXT NOT NULL,
  ancestors TEXT NOT NULL,
  grants TEXT,
  subject TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS agent_sessions_agent ON agent_sessions (agent_id);
CREATE INDEX IF NOT EXISTS agent_sessions_expires ON agent_sessions (expires_at);
`);
}

interface SessionRow {
  token_id: string;
  token_hash: Buffer;
  agent_id: string;
  policy: string;
  kind: 'exchange' | 'delegation';
  on_behalf_of: string;
  ancestors: string;
  grants: string | null;
  subject: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** The {@link AgentSessionStore} of one state file. Holds no token: only SHA-256 of each secret. */
export class SqliteSessionStore implements AgentSessionStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #byId: Database.Statement;
  readonly #revoke: Database.Statement;
  readonly #revokeOf: Database.Statement;
  readonly #deleteExpired: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO agent_sessions (token_id, token_hash, agent_id, policy, kind, on_behalf_of, ancestors, grants, subject, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)',
    );
    this.#byId = db.prepare('SELECT * FROM agent_sessions WHERE token_id = ?');
    this.#revoke = db.prepare(
      'UPDATE agent_sessions SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL',
    );
    // Not LIKE: "_" is a LIKE wildcard and a legal character of agent ids.
    this.#revokeOf = db.prepare(
      "UPDATE agent_sessions SET revoked_at = @at WHERE (agent_id = @agent OR substr(agent_id, 1, length(@agent) + 1) = @agent || '/') AND revoked_at IS NULL",
    );
    this.#deleteExpired = db.prepare('DELETE FROM agent_sessions WHERE expires_at < ?');
  }

  addAgentSession(session: AgentSessionRecord): void {
    try {
      this.#insert.run(
        session.tokenId,
        session.tokenHash,
        session.agentId,
        session.policy,
        session.kind,
        JSON.stringify(session.onBehalfOf),
        JSON.stringify(session.ancestors),
        session.grants ?? null,
        session.subject ?? null,
        session.createdAt.getTime(),
        session.expiresAt.getTime(),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new CofreError('COFRE_INTERNAL', 'a session token id was issued twice', { cause: err });
      }
      throw err;
    }
  }

  agentSessions(tokenIds: readonly string[]): readonly AgentSessionRecord[] {
    // A chain is a handful of ids (agents.delegation.maxDepth ≤ 8): one indexed lookup each.
    const found: AgentSessionRecord[] = [];
    for (const id of new Set(tokenIds)) {
      const row = this.#byId.get(id) as SessionRow | undefined;
      if (row !== undefined) found.push(toSession(row));
    }
    return found;
  }

  listAgentSessions(options: {
    readonly agentId?: string;
    readonly now: Date;
  }): readonly AgentSessionRecord[] {
    const where = options.agentId === undefined ? '' : 'AND agent_id = ?';
    const rows = this.#db
      .prepare(
        `SELECT * FROM agent_sessions WHERE revoked_at IS NULL AND expires_at > ? ${where} ORDER BY created_at DESC, token_id`,
      )
      .all(
        ...(options.agentId === undefined
          ? [options.now.getTime()]
          : [options.now.getTime(), options.agentId]),
      ) as SessionRow[];
    return rows.map(toSession);
  }

  revokeAgentSession(tokenId: string, at: Date): boolean {
    return this.#revoke.run(at.getTime(), tokenId).changes === 1;
  }

  revokeAgentSessionsOf(agentId: string, at: Date): number {
    return this.#revokeOf.run({ at: at.getTime(), agent: agentId }).changes;
  }

  deleteExpiredAgentSessions(before: Date): number {
    return this.#deleteExpired.run(before.getTime()).changes;
  }
}

function toSession(row: SessionRow): AgentSessionRecord {
  return {
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    agentId: row.agent_id,
    policy: row.policy,
    kind: row.kind,
    onBehalfOf: JSON.parse(row.on_behalf_of) as string[],
    ancestors: JSON.parse(row.ancestors) as SessionAncestor[],
    grants: row.grants ?? undefined,
    subject: row.subject ?? undefined,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
  };
}
