import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createLogger } from '../../audit/create-logger.js';
import { issueAgentToken } from '../../broker/agent-tokens.js';
import { openBrokerRuntime } from '../../broker/broker-runtime.js';
import { loadConfig } from '../../config/load-config.js';
import { CofreError } from '../../errors.js';
import { startPaperExchange } from '../../paper-exchange/paper-exchange.js';
import { BTCUSDT, ETHUSDT } from '../../paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import { createHttpServer } from '../http/http-server.js';
import { type CliIo, println } from './cli-io.js';
import { untilSignal } from './until-signal.js';

const DEMO_DIR = '.cofre-demo';
// Written into the demo directory so `cofre demo` only ever deletes a directory it made itself.
const MARKER = 'COFRE-DEMO';

/** What `cofre demo` started; tests stop it without sending signals. */
export interface DemoHandle {
  readonly url: string;
  readonly dir: string;
  readonly tokenFile: string;
  readonly configFile: string;
  stop(): Promise<void>;
}

/**
 * `cofre demo`: the whole path on one machine with nothing to set up. Starts the paper exchange (Binance-compatible,
 * on loopback), creates demo keys for it in a fresh embedded store, a demo agent, and the broker's HTTP API with MCP,
 * then prints a curl line and MCP client configs that work as printed. Runs until Ctrl-C.
 *
 * Everything lives in `./.cofre-demo`, recreated on every run, so a previous run (even one killed with -9) never
 * gets in the way.
 */
export async function demo(io: CliIo, options: { port?: string; wait?: boolean } = {}): Promise<DemoHandle> {
  const dir = resolve(io.cwd, DEMO_DIR);
  await recreateDemoDir(dir);

  const apiKey = randomBytes(32).toString('hex');
  const apiSecret = randomBytes(32).toString('hex');
  const exchange = await startPaperExchange({
    accounts: [{ apiKey, secret: apiSecret, balances: { USDT: '10000', BTC: '0.5', ETH: '5' } }],
    symbols: [BTCUSDT, ETHUSDT],
    prices: { BTCUSDT: '60000', ETHUSDT: '3000' },
  });

  const cleanup: (() => Promise<unknown>)[] = [() => exchange.stop()];
  const stop = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const configFile = await writeDemoSetup(dir, {
      exchangeUrl: exchange.url,
      apiKey,
      apiSecret,
      port: Number.parseInt(options.port ?? '8787', 10),
    });
    const config = await loadConfig(configFile);

    const tokenFile = join(dir, 'agent.token');
    const state = new SqliteStateStore(config.state.path);
    try {
      const { token } = issueAgentToken(state, {
        id: 'demo-agent',
        policy: 'demo',
        ttlMs: config.agents.tokenTtl,
        now: new Date(),
      });
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    } finally {
      state.close();
    }

    const logger = createLogger({ level: 'warn' });
    const runtime = await openBrokerRuntime(config, { logger });
    cleanup.push(() => runtime.close());
    const server = createHttpServer({
      broker: runtime.broker,
      state: runtime.state,
      logger,
      bodyLimit: config.server.bodyLimit,
    });
    cleanup.push(() => server.close());
    const url = await listen(server, config.server.host, config.server.port);

    printInstructions(io, {
      url,
      dir,
      tokenFile,
      configFile,
      token: (await readFile(tokenFile, 'utf8')).trim(),
    });
    const handle: DemoHandle = { url, dir, tokenFile, configFile, stop };
    if (options.wait !== false) {
      await untilSignal();
      await stop();
      println(io.stderr, '\ncofre demo stopped.');
    }
    return handle;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Writes what the demo runs on into `dir`: an embedded store (with its key file) holding the paper account's keys as
 * `exchanges/paper`, and a `cofre.yaml` with that account (mode paper at `exchangeUrl`), a `demo` policy, and state,
 * audit log and store beside it. Returns the config file's path. The benchmarks reuse it to measure cofre as the demo
 * wires it.
 */
export async function writeDemoSetup(
  dir: string,
  options: { exchangeUrl: string; apiKey: string; apiSecret: string; port: number },
): Promise<string> {
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  const keys = SecretValue.fromText(JSON.stringify({ apiKey: options.apiKey, secret: options.apiSecret }));
  await store.write('exchanges/paper', keys);
  keys.zero();
  await store.close();
  const configFile = join(dir, 'cofre.yaml');
  await writeFile(configFile, demoConfig(options.exchangeUrl, options.port));
  return configFile;
}

async function recreateDemoDir(dir: string): Promise<void> {
  const exists = await access(dir).then(
    () => true,
    () => false,
  );
  if (exists) {
    const ours = await access(join(dir, MARKER)).then(
      () => true,
      () => false,
    );
    if (!ours) {
      throw new CofreError(
        'COFRE_STORE_EXISTS',
        `${dir} exists and was not made by cofre demo; move it away first`,
      );
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, MARKER), 'Made by `cofre demo`; recreated on every run.\n');
}

async function listen(
  server: ReturnType<typeof createHttpServer>,
  host: string,
  port: number,
): Promise<string> {
  try {
    return await server.listen({ host, port });
  } catch (err) {
    // Port 8787 taken (another demo, another program): any free port will do for a demo.
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return server.listen({ host, port: 0 });
  }
}

function demoConfig(exchangeUrl: string, port: number): string {
  return `# Written by \`cofre demo\`; recreated on every run.
backends:
  local:
    type: embedded
    path: cofre.store
    keyFile: cofre.key
accounts:
  paper:
    venue: binance
    mode: paper
    baseUrl: ${JSON.stringify(exchangeUrl)}
    credentials:
      apiKey: local:exchanges/paper#apiKey
      secret: local:exchanges/paper#secret
policies:
  demo:
    accounts: [paper]
    actions: [list_accounts, get_balance, get_ticker, get_open_orders, get_order, preview_order, place_order, cancel_order]
agents:
  tokenTtl: 1d
audit:
  path: audit.jsonl
state:
  path: state.db
server:
  host: 127.0.0.1
  port: ${port}
`;
}

// The installed entry point, so the stdio snippet works from any directory.
const COFRE_BIN = fileURLToPath(new URL('../../../bin/cofre.js', import.meta.url));

function printInstructions(
  io: CliIo,
  d: { url: string; dir: string; tokenFile: string; configFile: string; token: string },
): void {
  const rel = (p: string): string => (p.startsWith(`${io.cwd}/`) ? p.slice(io.cwd.length + 1) : p);
  const token = `$(cat ${rel(d.tokenFile)})`;
  // The demo agent's token may be printed: it trades paper money only and dies with the demo directory.
  const mcpHttp = {
    mcpServers: {
      cofre: { type: 'http', url: `${d.url}/mcp`, headers: { Authorization: `Bearer ${d.token}` } },
    },
  };
  const mcpStdio = {
    mcpServers: {
      cofre: {
        command: process.execPath,
        args: [COFRE_BIN, '--config', d.configFile, 'mcp', '--token-file', d.tokenFile],
      },
    },
  };
  const out = io.stdout;
  println(
    out,
    `cofre demo is running: broker ${d.url}, a paper exchange behind it, demo keys in ${rel(d.dir)}/.`,
  );
  println(out, 'The agent token is in a file; the keys never leave cofre.\n');
  println(out, 'Ask for the balance:');
  println(
    out,
    `  curl -s -H "Authorization: Bearer ${token}" -H 'content-type: application/json' -d '{"account":"paper"}' ${d.url}/v1/actions/get_balance\n`,
  );
  println(out, 'Place an order (the clientOrderId makes it idempotent):');
  println(
    out,
    `  curl -s -H "Authorization: Bearer ${token}" -H 'content-type: application/json' -d '{"account":"paper","symbol":"BTC/USDT","side":"buy","type":"market","amount":"0.001","clientOrderId":"demo-1"}' ${d.url}/v1/actions/place_order\n`,
  );
  println(out, "MCP client over Streamable HTTP (the demo agent's token, paper money only):");
  println(out, `  ${JSON.stringify(mcpHttp)}\n`);
  println(out, 'MCP client over stdio:');
  println(out, `  ${JSON.stringify(mcpStdio)}\n`);
  println(out, 'Stop with Ctrl-C.');
}
