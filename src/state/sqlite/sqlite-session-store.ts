import type Database from 'better-sqlite3';

import type { AgentSessionRecord, AgentSessionStore } from '../../identity/session-types.js';
import {
  SESSION_INSERT_COLUMNS,
  sessionFromRow,
  sessionIdIssuedTwice,
  type SessionRow,
  sessionValues,
} from '../session-rows.js';

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
      `INSERT INTO agent_sessions (${SESSION_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      this.#insert.run(...sessionValues(session, (at) => at.getTime()));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw sessionIdIssuedTwice(err);
      }
      throw err;
    }
  }

  agentSessions(tokenIds: readonly string[]): readonly AgentSessionRecord[] {
    // A chain is a handful of ids (agents.delegation.maxDepth ≤ 8): one indexed lookup each.
    const found: AgentSessionRecord[] = [];
    for (const id of new Set(tokenIds)) {
      const row = this.#byId.get(id) as SessionRow | undefined;
      if (row !== undefined) found.push(sessionFromRow(row));
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
    return rows.map(sessionFromRow);
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
