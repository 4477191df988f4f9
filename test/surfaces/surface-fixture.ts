// A real broker for the surface tests: SQLite state, allow-list policy, JSONL audit in a temp dir, and a ccxt venue
// account talking to the project's paper exchange on loopback. Credentials are canaries, so a test can grep every
// response and log line for them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import pino, { type Logger } from 'pino';

import { JsonlAuditLog } from '../../src/audit/audit-log.js';
import { type AuthenticatedAgent, issueAgentToken } from '../../src/broker/agent-tokens.js';
import { Broker } from '../../src/broker/broker.js';
import type { AccountConfig, PolicyConfig } from '../../src/config/config-schema.js';
import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { RulePolicy } from '../../src/policy/rule-policy.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { openVenueAccount } from '../../src/venues/ccxt-venue-account.js';
import type { VenueAccount } from '../../src/venues/venue-account.js';
import { encodingsOf } from '../invariants/canary.js';

export const CANARY_KEY = `CanaryKey${randomBytes(20).toString('hex')}`;
export const CANARY_SECRET = `canary-secret-${randomBytes(20).toString('hex')}`;

const REFS = { apiKey: 'local:exchanges/paper#apiKey', secret: 'local:exchanges/paper#secret' };

export const ALL_ACTIONS = [
  'list_accounts',
  'get_balance',
  'get_ticker',
  'get_open_orders',
  'get_order',
  'preview_order',
  'place_order',
  'cancel_order',
] as const;

export interface SurfaceFixture {
  readonly broker: Broker;
  readonly state: SqliteStateStore;
  readonly paper: PaperExchange;
  readonly auditPath: string;
  /** Every line the broker's and the server's logger wrote, as text. */
  readonly logLines: string[];
  readonly logger: Logger;
  /** Issues a token for a new agent with the given policy. */
  issue(id: string, policy: string, ttlMs?: number): Promise<{ token: string; agent: AuthenticatedAgent }>;
  /** Every secret-bearing string a test must never see: the canaries and their encodings. */
  forbidden(extra?: readonly string[]): string[];
  close(): Promise<void>;
}

/** Starts the paper exchange and wires a broker on top of it. */
export async function startSurfaceFixture(): Promise<SurfaceFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cofre-surfaces-'));
  const paper = await startPaperExchange({
    accounts: [{ apiKey: CANARY_KEY, secret: CANARY_SECRET, balances: { USDT: '100000', BTC: '2' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });

  const accounts: Record<string, AccountConfig> = {
    paper: { venue: 'binance', mode: 'paper', baseUrl: paper.url, credentials: REFS },
    other: { venue: 'binance', mode: 'paper', baseUrl: paper.url, credentials: REFS },
  };
  const policies: Record<string, PolicyConfig> = {
    trader: { accounts: ['paper'], actions: [...ALL_ACTIONS] },
    reader: { accounts: ['paper'], actions: ['list_accounts', 'get_balance'] },
  };

  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(line);
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);

  const state = new SqliteStateStore(join(dir, 'state.db'));
  const audit = new JsonlAuditLog(join(dir, 'audit.jsonl'));
  const venues = new Map<string, Promise<VenueAccount>>();
  const venue = (id: string): Promise<VenueAccount> => {
    let open = venues.get(id);
    if (open === undefined) {
      const account = accounts[id];
      if (account === undefined) throw new Error(`no account ${id}`);
      open = openVenueAccount(id, account, () =>
        Promise.resolve({
          apiKey: SecretValue.fromText(CANARY_KEY),
          secret: SecretValue.fromText(CANARY_SECRET),
        }),
      );
      venues.set(id, open);
    }
    return open;
  };

  const broker = new Broker({
    accounts,
    policy: new RulePolicy({ policies, accounts, now: () => new Date() }),
    audit,
    state,
    venue,
    logger,
  });

  return {
    broker,
    state,
    paper,
    auditPath: join(dir, 'audit.jsonl'),
    logLines,
    logger,
    async issue(id, policy, ttlMs = 3_600_000) {
      const issued = await issueAgentToken(state, { id, policy, ttlMs, now: new Date() });
      return { token: issued.token, agent: { id, policy } };
    },
    forbidden(extra = []) {
      return [CANARY_KEY, CANARY_SECRET, ...extra].flatMap((v) => encodingsOf(v));
    },
    async close() {
      for (const open of venues.values()) await (await open).close();
      await audit.close();
      state.close();
      await paper.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The audit log as text (for leak checks). */
export function readAudit(fixture: SurfaceFixture): Promise<string> {
  return readFile(fixture.auditPath, 'utf8').catch(() => '');
}
