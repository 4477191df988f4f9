// Issue 16's cross-process proofs run against what an operator deploys: N real `cofre serve` processes (the built
// `bin/cofre.js`, so `npm run build` first) sharing one PostgreSQL database for state and audit, in front of the
// project's paper exchange, which counts what actually reached it. The paper exchange runs in the test's process so a
// test can hold orders there (in flight at the venue) and read its book; everything cofre does goes over real sockets
// between real processes. The config is written as a user writes it: the connection string is kept in cofre's own
// embedded store (`local:state/url`), `cofre state migrate` runs first, agents and operators are added with the CLI.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createAuditKeys } from '../../src/audit/audit-keys.js';
import {
  type PaperExchange,
  type PaperExchangeOptions,
  startPaperExchange,
} from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import type { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';

export const CLI = fileURLToPath(new URL('../../bin/cofre.js', import.meta.url));
const API_KEY = 'ReplicaPaperKey0000000000000000000000000000000000000000000000000';
const API_SECRET = 'ReplicaPaperSecret00000000000000000000000000000000000000000000000';

/** What an HTTP call answered. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The error code of a refused request or of an action's `failed` answer. */
export function errorCodeOf(answer: HttpAnswer): string | undefined {
  return (answer.body['error'] as { code?: string } | undefined)?.code;
}

/** What a `cofre` command printed and its exit code. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `cofre serve` process of the cluster. */
export interface Replica {
  readonly index: number;
  readonly url: string;
  readonly pid: number;
  /** Everything it printed (its request log and start-up lines). */
  output(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** kill -9: no shutdown, no exit handlers, sockets cut. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Config lines under `policies:` (indented by two spaces). */
  readonly policies: readonly string[];
  readonly replicas?: number;
  /** More top-level config lines (approvals, say). */
  readonly extra?: readonly string[];
  /** `state.heartbeat` and `state.lease` (default 500ms and 3s: a dead replica is adopted quickly). */
  readonly heartbeat?: string;
  readonly lease?: string;
  readonly paper?: Partial<PaperExchangeOptions>;
}

export interface Cluster {
  readonly dir: string;
  readonly configPath: string;
  readonly database: string;
  readonly paper: PaperExchange;
  readonly replicas: readonly Replica[];
  /** Runs `cofre -c <config> <args>` to completion (the built CLI, its own process). */
  cli(args: readonly string[], input?: string): Promise<CliRun>;
  /** Adds an agent with `cofre agent add --token-file` and returns its token. */
  agent(id: string, policy: string): Promise<string>;
  /** Adds an operator with `cofre operator add` and returns its token. */
  operator(id: string): Promise<string>;
  /** One HTTP request to replica `index`, over a real socket. */
  call(
    index: number,
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body?: unknown,
  ): Promise<HttpAnswer>;
  /** Places a limit buy of BTC/USDT through replica `index`. */
  order(
    index: number,
    token: string,
    input: { amount: string; price?: string; clientOrderId: string },
  ): Promise<HttpAnswer>;
  /**
   * Order requests the exchange received with this clientOrderId, accepted or not: "sent twice" shows here even when
   * the exchange refuses the duplicate.
   */
  sentToExchange(clientOrderId: string): number;
  /** Rows of a query on the cluster's database, as the superuser. */
  sql<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** The audit records (parsed lines) in PostgreSQL, in chain order. */
  auditRecords(): Promise<Record<string, unknown>[]>;
  /** Stops every replica and the paper exchange, removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts a paper exchange (1,000,000 USDT, BTC/USDT at 60,000), writes a config whose state is a fresh database on
 * `dbs`, migrates it with `cofre state migrate`, and starts `replicas` (default 3) `cofre serve` processes on it.
 */
export async function startCluster(dbs: PostgresTestDatabases, options: ClusterOptions): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-replicas-'));
  const database = await dbs.create();
  const paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: API_SECRET, balances: { USDT: '1000000', BTC: '10' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
    ...options.paper,
  });
  const configPath = await writeClusterConfig(dir, paper.url, dbs.url(database), options);
  const started: Replica[] = [];
  const cli = (args: readonly string[], input = ''): Promise<CliRun> =>
    runCofre(dir, ['-c', configPath, ...args], input);
  const must = async (args: readonly string[]): Promise<CliRun> => {
    const run = await cli(args);
    if (run.code !== 0) throw new Error(`cofre ${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
    return run;
  };
  const cluster: Cluster = {
    dir,
    configPath,
    database,
    paper,
    replicas: started,
    cli,
    async agent(id, policy) {
      const file = join(dir, `${id}.token`);
      await must(['agent', 'add', id, '--policy', policy, '--token-file', file]);
      return readFileSync(file, 'utf8').trim();
    },
    async operator(id) {
      const run = await must(['operator', 'add', id]);
      const token = /cofre_op_[A-Za-z0-9_.-]+/.exec(run.stdout)?.[0];
      if (token === undefined) throw new Error(`no operator token in: ${run.stdout}`);
      return token;
    },
    async call(index, method, path, token, body) {
      const replica = started[index];
      if (replica === undefined) throw new Error(`no replica ${String(index)}`);
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${replica.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    order(index, token, input) {
      return cluster.call(index, 'POST', '/v1/actions/place_order', token, {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        price: input.price ?? '59000',
        amount: input.amount,
        clientOrderId: input.clientOrderId,
      });
    },
    sentToExchange(clientOrderId) {
      return paper
        .requests()
        .filter(
          (r) =>
            r.method === 'POST' &&
            r.path === '/api/v3/order' &&
            r.params['newClientOrderId'] === clientOrderId,
        ).length;
    },
    async sql<T>(text: string, params: readonly unknown[] = []) {
      return dbs.admin(async (c) => (await c.query(text, [...params])).rows as T[], database);
    },
    async auditRecords() {
      const rows = await cluster.sql<{ line: string }>('SELECT line FROM audit_records ORDER BY seq');
      return rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
    },
    async close() {
      await Promise.all(started.map((r) => r.stop()));
      await paper.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await must(['state', 'migrate']);
    for (let i = 0; i < (options.replicas ?? 3); i++) started.push(await startReplica(dir, configPath, i));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** The store (paper keys, audit keys, the connection string) and `cofre.yaml` of a cluster; returns the config path. */
async function writeClusterConfig(
  dir: string,
  exchangeUrl: string,
  connectionString: string,
  options: ClusterOptions,
): Promise<string> {
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  try {
    await store.write(
      'exchanges/paper',
      SecretValue.fromText(JSON.stringify({ apiKey: API_KEY, secret: API_SECRET })),
    );
    await store.write('state/url', SecretValue.fromText(connectionString));
    await createAuditKeys(store);
  } finally {
    await store.close();
  }
  const configPath = join(dir, 'cofre.yaml');
  writeFileSync(
    configPath,
    [
      'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${exchangeUrl}", credentials: { apiKey: "local:exchanges/paper#apiKey", secret: "local:exchanges/paper#secret" }, queue: { maxQueued: 1000 } }`,
      'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000, deniedPerMinute: 10000, deniedBurst: 10000 } }',
      'orders: { referencePriceMaxAge: 60s }',
      'policies:',
      ...options.policies,
      ...(options.extra ?? []),
      'audit: { path: audit.jsonl, signingKey: local:audit/signing-key, hmacKey: local:audit/hmac-key }',
      'state:',
      '  type: postgres',
      '  url: local:state/url',
      '  ssl: disable # the embedded server listens on loopback only',
      `  heartbeat: ${options.heartbeat ?? '500ms'}`,
      `  lease: ${options.lease ?? '3s'}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return configPath;
}

/** Runs the built `cofre` to completion in `cwd`. */
export function runCofre(cwd: string, args: readonly string[], input = ''): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: cwd },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** A free TCP port on 127.0.0.1 (closed again; the replica binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((done) => server.close(done));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => {
      socket.destroy();
      done(false);
    });
    socket.connect(port, '127.0.0.1');
  });
}

/** Starts `cofre serve` on a free port and waits until it accepts connections (or fails with its output). */
export async function startReplica(dir: string, configPath: string, index: number): Promise<Replica> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, '-c', configPath, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    { cwd: dir, env: { PATH: process.env['PATH'] ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let exited = false;
  child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const closed = new Promise<void>((done) => {
    child.once('exit', () => {
      exited = true;
      done();
    });
  });
  // The test process may die first (a crashed worker): the replica must not outlive it.
  const onExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const started = Date.now();
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      await closed;
      throw new Error(`cofre serve (replica ${String(index)}) did not start:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (!exited) child.kill(sig);
    await closed;
    process.removeListener('exit', onExit);
  };
  return {
    index,
    url: `http://127.0.0.1:${String(port)}`,
    pid: child.pid ?? 0,
    output: () => output,
    exited: () => exited,
    kill9: () => signal('SIGKILL'),
    async stop() {
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 10_000);
      await signal('SIGTERM');
      clearTimeout(timer);
    },
  };
}

/** Polls `check` every 200 ms until it returns true; fails naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`waited ${String(timeoutMs / 1000)} s for ${what}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}
