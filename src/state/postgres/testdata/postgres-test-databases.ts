import { randomBytes } from 'node:crypto';

import pg from 'pg';

import type { PostgresPeer } from '../../../../test/peers/peers.js';
import type { PostgresStateConfig } from '../../../config/config-schema.js';

/**
 * For tests (issue 16): one embedded PostgreSQL per test file, a fresh database per test, so tests stay fast and
 * independent. Not part of the product: imported by `*.test.ts` files only.
 */
export class PostgresTestDatabases {
  readonly peer: PostgresPeer;
  #count = 0;

  /** On a server the test file started (`startPostgres()` of test/peers, which src/ may not import). */
  constructor(peer: PostgresPeer) {
    this.peer = peer;
  }

  /** Creates an empty database and returns its name. */
  async create(): Promise<string> {
    const name = `t_${++this.#count}_${randomBytes(3).toString('hex')}`;
    await this.admin(async (client) => {
      await client.query(`CREATE DATABASE ${name}`);
    });
    return name;
  }

  /** Runs `fn` with a superuser connection to `database` (default: `postgres`). */
  async admin<T>(fn: (client: pg.Client) => Promise<T>, database = this.peer.database): Promise<T> {
    const client = new pg.Client({
      ...this.endpoint(database),
      user: this.peer.user,
      password: this.peer.password,
    });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  /** The connection string of `database` as the superuser. SECURITY: tests only; holds the password. */
  url(database: string, login: { user: string; password: string } = this.peer): string {
    return `postgresql://${encodeURIComponent(login.user)}:${encodeURIComponent(login.password)}@${this.peer.host}:${this.peer.port}/${database}`;
  }

  /**
   * A `state.type: postgres` config for `database`, its URL under the secret reference `test:url` (see
   * {@link secrets}), over plain TCP on loopback.
   */
  config(overrides: Partial<PostgresStateConfig> = {}): PostgresStateConfig {
    return {
      type: 'postgres',
      url: 'test:url',
      port: 5432,
      ssl: 'disable',
      pool: { max: 5, connectTimeout: 5_000, idleTimeout: 10_000, statementTimeout: 10_000 },
      heartbeat: 2_000,
      lease: 15_000,
      retention: { requests: 30 * 86_400_000 },
      ...overrides,
    };
  }

  /** A resolver answering `test:url` with the superuser's connection string to `database`. */
  secrets(database: string): { resolve: (reference: string) => Promise<string> } {
    const url = this.url(database);
    return {
      resolve: (reference) =>
        reference === 'test:url' ? Promise.resolve(url) : Promise.reject(new Error(`no secret ${reference}`)),
    };
  }

  async stop(): Promise<void> {
    await this.peer.stop();
  }

  private endpoint(database: string): { host: string; port: number; database: string } {
    return { host: this.peer.host, port: this.peer.port, database };
  }
}
