// `cofre serve` as a user runs it, for the end-to-end tests: a cofre.yaml on disk (so the CLI can run on the same
// state file), an embedded secret store, SQLite state and a JSONL audit log in a temp dir, served by
// startBrokerServer (the one wiring of `cofre serve`: HTTP, MCP at /mcp, the operator API) on a loopback port, in
// front of the project's paper exchange, which counts what actually reached it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino } from 'pino';

import { issueAgentToken } from '../../src/broker/agent-tokens.js';
import { issueOperatorToken } from '../../src/broker/operator-tokens.js';
import { loadConfig } from '../../src/config/load-config.js';
import {
  type PaperExchange,
  type PaperExchangeOptions,
  startPaperExchange,
} from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { type BrokerServer, startBrokerServer } from '../../src/surfaces/cli/broker-server.js';

const API_KEY = `E2eKey${randomBytes(16).toString('hex')}`;
const API_SECRET = randomBytes(32).toString('hex');

/** What an HTTP call answered. */
/**
 * The approval tests' `trader` policy, as config lines under `policies:`: orders up to 500 USDT are allowed, from 500
 * to 5,000 USDT they wait for an operator.
 */
export const TRADER_POLICY: readonly string[] = [
  '  trader:',
  '    rules:',
  '      - name: small',
  '        allow: [place_order]',
  '        accounts: [paper]',
  '        maxNotional: 500',
  '      - name: large',
  '        approve: [place_order]',
  '        accounts: [paper]',
  '        minNotional: 500',
  '        maxNotional: 5000',
];

/**
 * The `paper` account and agent limits of the tests that keep hundreds of orders in flight (bursts, rotation under
 * load), as config lines: a deep account queue, quotas no test reaches, and a reference price that stays cached for
 * the whole test — on a loaded machine a ticker refetch in the middle of a burst would wait in the account queue
 * behind the orders the test holds at the exchange.
 */
export function burstAccountLines(url: string, credentials: string): string[] {
  return [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials}, queue: { maxQueued: 1000 } }`,
    'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
    'orders: { referencePriceMaxAge: 60s }',
  ];
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface ServedFixture {
  readonly dir: string;
  /** The paper account's first API key and secret, stored at `local:exchanges/paper` (rotation tests replace it). */
  readonly apiKey: { readonly apiKey: string; readonly secret: string };
  readonly paper: PaperExchange;
  /** The running server; replaced by {@link ServedFixture.restart}. */
  readonly server: BrokerServer;
  readonly url: string;
  /** Every line the server logged (warn and above). */
  readonly logLines: string[];
  /** Moves the clock of the broker, its policy and the operator API forward (approval expiry). */
  advance(ms: number): void;
  /** Issues a token for a new agent with the given policy. */
  agentToken(id: string, policy: string): Promise<string>;
  /** Issues a token for a new operator. */
  operatorToken(id: string): Promise<string>;
  /** One HTTP request to the served API, over a real socket. */
  call(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown): Promise<HttpAnswer>;
  /** Stops the server and starts it again on the same config and state file (the paper exchange keeps running). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a paper exchange (100,000 USDT and 2 BTC, BTC/USDT at 60,000) and a served broker over it.
 * `configLines(url, credentials)` returns the config between `backends:` and `audit:`/`state:` (accounts, agents,
 * policies, approvals), given the paper exchange's URL and the `credentials:` mapping of the stored keys.
 */
export async function startServedBroker(
  configLines: (url: string, credentials: string) => string[],
  paperOptions: Partial<PaperExchangeOptions> = {},
  options: {
    /** More settings of the `local` backend, e.g. `cache: { ttl: 1s, staleIfError: 0 }`. */
    readonly localBackend?: string;
    /** More entries of the embedded store, by name (plain text values), e.g. a service's API key. */
    readonly secrets?: Readonly<Record<string, string>>;
    /** The loopback port to serve on (default: any free one), for a config that names its own URL (`publicUrl`). */
    readonly port?: number;
    /** The `state:` config line (default SQLite in the temp dir), e.g. PostgreSQL with its URL in `secrets`. */
    readonly state?: string;
  } = {},
): Promise<ServedFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-e2e-'));
  const paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: API_SECRET, balances: { USDT: '100000', BTC: '2' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
    ...paperOptions,
  });
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  await store.write(
    'exchanges/paper',
    SecretValue.fromText(JSON.stringify({ apiKey: API_KEY, secret: API_SECRET })),
  );
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    await store.write(name, SecretValue.fromText(value));
  }
  await store.close();
  const credentials =
    'credentials: { apiKey: "local:exchanges/paper#apiKey", secret: "local:exchanges/paper#secret" }';
  const configPath = join(dir, 'cofre.yaml');
  writeFileSync(
    configPath,
    [
      `backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key${options.localBackend === undefined ? '' : `, ${options.localBackend}`} } }`,
      ...configLines(paper.url, credentials),
      'audit: { path: audit.jsonl }',
      options.state ?? 'state: { path: cofre-state.db }',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const config = await loadConfig(configPath);
  const logLines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  let skew = 0;
  const now = (): Date => new Date(Date.now() + skew);
  const serve = (): Promise<BrokerServer> =>
    startBrokerServer(config, { logger, verify: false, host: '127.0.0.1', port: options.port ?? 0, now });
  let server = await serve();

  const fixture: ServedFixture = {
    dir,
    apiKey: { apiKey: API_KEY, secret: API_SECRET },
    paper,
    logLines,
    get server() {
      return server;
    },
    get url() {
      return server.url;
    },
    advance(ms) {
      skew += ms;
    },
    async agentToken(id, policy) {
      return (await issueAgentToken(server.runtime.state, { id, policy, ttlMs: 3_600_000, now: new Date() }))
        .token;
    },
    async operatorToken(id) {
      return (await issueOperatorToken(server.runtime.state, { id, ttlMs: 3_600_000, now: new Date() }))
        .token;
    },
    async call(method, path, token, body) {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async restart() {
      await server.close();
      server = await serve();
    },
    async close() {
      await server.close();
      await paper.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The error code of an HTTP error answer. */
export function errorCodeOf(answer: HttpAnswer): string | undefined {
  // Both shapes carry `error.code`: a refused request and an action's answer with status `failed`.
  return (answer.body['error'] as { code?: string } | undefined)?.code;
}
