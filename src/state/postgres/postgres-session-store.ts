import type { AgentSessionRecord, AgentSessionStore } from '../../identity/session-types.js';
import {
  SESSION_INSERT_COLUMNS,
  sessionFromRow,
  sessionIdIssuedTwice,
  type SessionRow,
  sessionValues,
} from '../session-rows.js';
import type { PgDb } from './pg-db.js';
import { isUniqueViolation } from './pg-errors.js';

/** The {@link AgentSessionStore} on PostgreSQL (migration 0005). Holds no token: only SHA-256 of each secret. */
export class PostgresSessionStore implements AgentSessionStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async addAgentSession(session: AgentSessionRecord): Promise<void> {
    try {
      await this.#db.query(
        `INSERT INTO agent_sessions (${SESSION_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        sessionValues(session, (at) => at),
      );
    } catch (err) {
      if (isUniqueViolation(err, 'agent_sessions_pkey')) {
        throw sessionIdIssuedTwice(err);
      }
      throw err;
    }
  }

  async agentSessions(tokenIds: readonly string[]): Promise<readonly AgentSessionRecord[]> {
    if (tokenIds.length === 0) return [];
    const { rows } = await this.#db.query<SessionRow>(
      'SELECT * FROM agent_sessions WHERE token_id = ANY($1::text[])',
      [[...new Set(tokenIds)]],
    );
    return rows.map(sessionFromRow);
  }

  async listAgentSessions(options: {
    readonly agentId?: string;
    readonly now: Date;
  }): Promise<readonly AgentSessionRecord[]> {
    const { rows } = await this.#db.query<SessionRow>(
      'SELECT * FROM agent_sessions WHERE revoked_at IS NULL AND expires_at > $1 AND ($2::text IS NULL OR agent_id = $2) ORDER BY created_at DESC, token_id',
      [options.now, options.agentId ?? null],
    );
    return rows.map(sessionFromRow);
  }

  async revokeAgentSession(tokenId: string, at: Date): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      'UPDATE agent_sessions SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL',
      [at, tokenId],
    );
    return rowCount === 1;
  }

  async revokeAgentSessionsOf(agentId: string, at: Date): Promise<number> {
    const { rowCount } = await this.#db.query(
      // Not LIKE: "_" is a LIKE wildcard and a legal character of agent ids.
      "UPDATE agent_sessions SET revoked_at = $1 WHERE (agent_id = $2 OR starts_with(agent_id, $2 || '/')) AND revoked_at IS NULL",
      [at, agentId],
    );
    return rowCount ?? 0;
  }

  async deleteExpiredAgentSessions(before: Date): Promise<number> {
    const { rowCount } = await this.#db.query('DELETE FROM agent_sessions WHERE expires_at < $1', [before]);
    return rowCount ?? 0;
  }
}
