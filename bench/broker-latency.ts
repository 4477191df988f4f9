// Order latency through cofre against the alternatives, side by side in one run (bench/README.md explains the
// setup and how to read it):
//   a. ccxt directly: cofre's own venue account (src/venues/ccxt-venue-account.ts) with in-memory credentials,
//      which is ccxt as cofre configures it, minus cofre's HTTP surface, policy, state and audit;
//   b. cofre's HTTP API: POST /v1/actions/place_order, wired as `cofre demo` wires it;
//   c. nginx adding X-MBX-APIKEY in front of the exchange, for a client that signs its own requests;
//   d. that same client-signed request straight to the exchange: the baseline nginx's cost is measured against.
// The paper exchange runs in a process of its own. Every order is a market buy that must fill; any failure aborts.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Agent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { JsonlAuditLog } from '../src/audit/audit-log.js';
import { createLogger } from '../src/audit/create-logger.js';
import { type AuthenticatedAgent, issueAgentToken } from '../src/broker/agent-tokens.js';
import type { openBrokerRuntime } from '../src/broker/broker-runtime.js';
import { loadConfig } from '../src/config/load-config.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { SqliteStateStore } from '../src/state/sqlite/sqlite-state-store.js';
import { startBrokerServer } from '../src/surfaces/cli/broker-server.js';
import { writeDemoSetup } from '../src/surfaces/cli/paper-provisioning.js';
import { openVenueAccount } from '../src/venues/ccxt-venue-account.js';
import type { VenueAccount } from '../src/venues/venue-account.js';
import { firstLine, spawnTracked, stopChild } from './child-process.js';
import { claimAndFinish } from './claim-finish.js';
import { keepAliveAgent, post } from './http-post.js';
import { compareLoad, type LoadResult, type LoadShape, measure, type Sample } from './measure.js';
import { findNginx, type NginxProxy, startNginx } from './nginx-proxy.js';
import { placeSignedMarketOrder } from './signed-order-client.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const CONCURRENCY = [1, 8] as const;
const SHAPE = { count: 300, warmup: 30, rounds: 5, roundWarmup: 8, maxSeconds: 10 } as const;
// nginx's added latency is a fraction of a millisecond: rows c and d take ten times the samples to resolve it.
const SIGNED_COUNT = SHAPE.count * 10;
const ORDER = { symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001' } as const;

/** One way of placing an order, given a fresh client order id. */
type PlaceOrder = (clientOrderId: string) => Promise<void>;

/** Prints the order-latency tables. */
export async function brokerLatencyBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-broker-');
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const apiKey = randomBytes(32).toString('hex');
    const secret = randomBytes(32).toString('hex');

    let sequence = 0;
    const nextId = (): string => `bench-${(sequence++).toString(36)}`;
    const exchange = await startExchangeProcess(apiKey, secret);
    stops.push(() => exchange.stop());
    const exchangeUrl = exchange.url;
    // The paper exchange's cost per order grows with the orders it holds (it scans them all for a duplicate client
    // order id), so each round starts from a fresh one, warmed up before anything is measured.
    const freshExchange = async (): Promise<void> => {
      await exchange.restart();
      const warm = keepAliveAgent(4);
      try {
        await compareLoad(
          [
            {
              label: 'warm-up',
              op: () => placeSignedMarketOrder(warm, { baseUrl: exchangeUrl, apiKey, secret }, nextId()),
            },
          ],
          { count: 0, concurrency: 4, warmup: 200, rounds: 1, roundWarmup: 0, maxSeconds: 10 },
        );
      } finally {
        warm.destroy();
      }
    };
    const nginx = await startNginxIfInstalled(dir, exchangeUrl, apiKey, stops);
    const cofre = await startCofre(dir, exchangeUrl, apiKey, secret, stops);
    const direct = await openVenueAccount('direct', cofre.account, () =>
      Promise.resolve({ apiKey: SecretValue.fromText(apiKey), secret: SecretValue.fromText(secret) }),
    );
    stops.push(() => direct.close());

    const cases = (
      maxSockets: number,
    ): { label: string; count?: number; place: PlaceOrder; close?: () => void }[] => {
      const toExchange = keepAliveAgent(maxSockets);
      const toNginx = keepAliveAgent(maxSockets);
      const toCofre = keepAliveAgent(maxSockets);
      return [
        {
          label: 'd. signed request, direct',
          count: SIGNED_COUNT,
          place: (id) => placeSignedMarketOrder(toExchange, { baseUrl: exchangeUrl, apiKey, secret }, id),
          close: () => {
            toExchange.destroy();
          },
        },
        ...(nginx === undefined
          ? []
          : [
              {
                label: 'c. signed request, via nginx',
                count: SIGNED_COUNT,
                place: (id: string) => placeSignedMarketOrder(toNginx, { baseUrl: nginx.url, secret }, id),
                close: () => {
                  toNginx.destroy();
                },
              },
            ]),
        { label: 'a. ccxt directly', place: (id) => placeDirect(direct, id) },
        {
          label: 'b. cofre HTTP API',
          place: (id) => placeViaCofre(toCofre, cofre.url, cofre.token, id),
          close: () => {
            toCofre.destroy();
          },
        },
      ];
    };

    const shipped = 'ccxt limiter on (as shipped)';
    console.log(
      `\n## Placing orders: ccxt directly, through cofre, through nginx\n\n` +
        `${SHAPE.count} market orders per case (${SIGNED_COUNT} for c and d) after ${SHAPE.warmup} unmeasured, ` +
        `in ${SHAPE.rounds} interleaved rounds (at most ${SHAPE.maxSeconds} s per case and round).`,
    );
    if (nginx === undefined) {
      console.log(
        '\nnginx is not installed, so rows c and the ratio are missing: install the Debian package `nginx` ' +
          '(`apt-get install nginx`); the benchmark runs it unprivileged with its own config.',
      );
    } else {
      console.log(`\nnginx ${nginx.version}, one worker, upstream keep-alive.`);
    }

    for (const limiter of [shipped, 'ccxt limiter bypassed'] as const) {
      const restore = limiter === shipped ? undefined : await bypassCcxtLimiter();
      try {
        for (const concurrency of CONCURRENCY) {
          const shape: LoadShape = { ...SHAPE, concurrency };
          const list = cases(concurrency);
          const results = await compareLoad(
            list.map((c) => ({ label: c.label, count: c.count, op: () => c.place(nextId()) })),
            shape,
            freshExchange,
          );
          for (const c of list) c.close?.();
          reportLoad(`${limiter}, ${concurrency} in flight`, results);
        }
      } finally {
        restore?.();
      }
    }

    await breakdown(dir, direct, cofre, nextId, freshExchange);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await removeTempDir(dir);
  }
}

/**
 * Makes ccxt's rate limiter a no-op in this process (for every instance, cofre's included) until the returned
 * function is called. ccxt's `fetch2` awaits `throttle(cost)` before each request; the leaky bucket behind it is a
 * `Throttler` whose prototype all instances share. cofre pins `enableRateLimit` to true, so this is the only way to
 * measure cofre's own cost apart from the limiter's; cofre's code is unchanged.
 */
export async function bypassCcxtLimiter(): Promise<() => void> {
  const ccxt = await import('ccxt');
  const probe = new ccxt.binance({}) as unknown as { throttler: object };
  const proto = Object.getPrototypeOf(probe.throttler) as { throttle: (cost?: number) => Promise<void> };
  const original = proto.throttle;
  proto.throttle = () => Promise.resolve();
  return () => {
    proto.throttle = original;
  };
}

async function placeDirect(account: VenueAccount, clientOrderId: string): Promise<void> {
  const order = await account.placeOrder({ ...ORDER, price: undefined, clientOrderId });
  if (order.status !== 'closed') {
    throw new Error(`ccxt order ${clientOrderId} did not fill: ${JSON.stringify(order)}`);
  }
}

async function placeViaCofre(agent: Agent, url: string, token: string, clientOrderId: string): Promise<void> {
  const answer = await post(
    agent,
    new URL('/v1/actions/place_order', url),
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    JSON.stringify({ account: 'paper', ...ORDER, clientOrderId }),
  );
  checkCofreOrder(answer.status, answer.body, clientOrderId);
}

function checkCofreOrder(status: number, body: string, clientOrderId: string): void {
  const parsed = JSON.parse(body) as { status?: string; result?: { order?: { status?: string } } };
  if (status !== 200 || parsed.status !== 'executed' || parsed.result?.order?.status !== 'closed') {
    throw new Error(`cofre order ${clientOrderId} failed: HTTP ${status} ${body.slice(0, 400)}`);
  }
}

/** The paper exchange's process; `restart` replaces it with a fresh one on the same port. */
export interface ExchangeProcess {
  readonly url: string;
  /** The current process's id (a restart changes it). */
  readonly pid: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts bench/paper-exchange-process.ts (one account with `apiKey`/`secret` and large balances) on a free port. */
export async function startExchangeProcess(apiKey: string, secret: string): Promise<ExchangeProcess> {
  const script = fileURLToPath(new URL('./paper-exchange-process.ts', import.meta.url));
  const launch = async (
    port: number | undefined,
  ): Promise<{ child: ChildProcess; url: string; port: number }> => {
    // The same node and loader (tsx) as this process.
    const child = spawnTracked(process.execPath, [...process.execArgv, script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin?.write(`${JSON.stringify({ apiKey, secret, port })}\n`);
    try {
      const answer = JSON.parse(await firstLine(child, 'the paper exchange process')) as {
        url: string;
        port: number;
      };
      return { child, ...answer };
    } catch (err) {
      await stopChild(child);
      throw err;
    }
  };
  let current = await launch(undefined);
  return {
    url: current.url,
    get pid() {
      return current.child.pid ?? 0;
    },
    restart: async () => {
      await stopChild(current.child);
      current = await launch(current.port);
    },
    stop: () => stopChild(current.child),
  };
}

async function startNginxIfInstalled(
  dir: string,
  upstream: string,
  apiKey: string,
  stops: (() => Promise<unknown>)[],
): Promise<NginxProxy | undefined> {
  const binary = await findNginx();
  if (binary === undefined) return undefined;
  const nginx = await startNginx(binary, { dir, upstream, apiKey });
  stops.push(() => nginx.stop());
  return nginx;
}

interface CofreUnderTest {
  readonly url: string;
  readonly token: string;
  readonly agent: AuthenticatedAgent;
  readonly account: Awaited<ReturnType<typeof loadConfig>>['accounts'][string];
  readonly runtime: Awaited<ReturnType<typeof openBrokerRuntime>>;
}

/**
 * cofre as `cofre demo` provisions and wires it (`writeDemoSetup`, then `startBrokerServer`, the wiring `cofre serve`
 * uses, and one agent), except that it logs at `info` like `cofre serve` (one line per request), to a file.
 */
async function startCofre(
  dir: string,
  exchangeUrl: string,
  apiKey: string,
  secret: string,
  stops: (() => Promise<unknown>)[],
): Promise<CofreUnderTest> {
  const configFile = await writeDemoSetup(dir, { exchangeUrl, apiKey, apiSecret: secret, port: 0 });
  // The demo's policy as it is (rules, price band, limits reserved and settled on every order), with its daily cap
  // raised so that thousands of bench orders measure the path instead of running into the cap.
  await writeFile(
    configFile,
    (await readFile(configFile, 'utf8')).replace(
      'notional: 20000, quote: USDT',
      'notional: 1000000000, quote: USDT',
    ),
  );
  const loaded = await loadConfig(configFile);
  // One bench agent stands for many agents at load: its per-agent quotas (10 requests per second by default) would
  // refuse most of the load. The account queue keeps its defaults: it is part of what is measured.
  const config = {
    ...loaded,
    agents: {
      ...loaded.agents,
      quotas: { ...loaded.agents.quotas, requestsPerSecond: 1e4, burst: 1e5, concurrency: 1000 },
    },
  };
  const account = config.accounts['paper'];
  if (account === undefined) throw new Error('bench config has no paper account');

  const logger = createLogger({
    destination: pino.destination({ dest: join(dir, 'cofre.log'), sync: true }),
  });
  // `cofre serve`'s own wiring, without its start-up check (the setup above was just written).
  const server = await startBrokerServer(config, { logger, verify: false });
  stops.push(() => server.close());
  const { runtime, url } = server;
  const { token } = await issueAgentToken(runtime.state, {
    id: 'bench-agent',
    policy: 'demo',
    ttlMs: config.agents.tokenTtl,
    now: new Date(),
  });
  return { url, token, agent: { id: 'bench-agent', policy: 'demo' }, account, runtime };
}

/**
 * Where cofre's added time goes, limiter bypassed, one order in flight: the venue calls the broker makes for a
 * market order, the broker without HTTP, and the two durable writes of the request path measured alone.
 */
async function breakdown(
  dir: string,
  direct: VenueAccount,
  cofre: CofreUnderTest,
  nextId: () => string,
  beforeRound: () => Promise<void>,
): Promise<void> {
  const restore = await bypassCcxtLimiter();
  const shape: LoadShape = { ...SHAPE, concurrency: 1 };
  const toCofre = keepAliveAgent(1);
  let rows: LoadResult[];
  try {
    rows = await compareLoad(
      [
        { label: 'ccxt: create order', op: () => placeDirect(direct, nextId()) },
        {
          label: 'ccxt: ticker, then create order (the venue calls the broker makes)',
          op: async () => {
            await direct.fetchTicker(ORDER.symbol);
            await placeDirect(direct, nextId());
          },
        },
        {
          label: 'cofre broker.execute list_accounts, in process (policy, state, audit, scrub; no venue)',
          op: async () => {
            const response = await cofre.runtime.broker.execute(cofre.agent, 'list_accounts', {});
            if (response.status !== 'executed') throw new Error(`list_accounts: ${JSON.stringify(response)}`);
          },
        },
        {
          label: 'cofre broker.execute place_order, in process (no HTTP)',
          op: async () => {
            const id = nextId();
            const response = await cofre.runtime.broker.execute(cofre.agent, 'place_order', {
              account: 'paper',
              ...ORDER,
              clientOrderId: id,
            });
            checkCofreOrder(200, JSON.stringify(response), id);
          },
        },
        {
          label: 'cofre HTTP API place_order',
          op: () => placeViaCofre(toCofre, cofre.url, cofre.token, nextId()),
        },
      ],
      shape,
      beforeRound,
    );
  } finally {
    toCofre.destroy();
    restore();
  }
  reportLoad('Where the time goes: ccxt limiter bypassed, 1 in flight', rows);

  // The request path's durable writes, alone, on the same file system as the benchmark's cofre.
  const audit = new JsonlAuditLog(join(dir, 'alone', 'audit.jsonl'));
  const state = new SqliteStateStore(join(dir, 'alone', 'state.db'));
  const event = {
    kind: 'intent',
    requestId: 'req_0123456789abcdefghijklmn',
    agent: 'bench-agent',
    action: 'place_order',
    account: 'paper',
    decision: 'allow',
    rule: 'policies.demo',
    detail: { account: 'paper', ...ORDER, clientOrderId: 'bench-0' },
  } as const;
  let n = 0;
  const samples: Sample[] = [
    await measure('audit append: write + fdatasync (the broker does 2 per order)', 300, () =>
      audit.append(event),
    ),
    await measure('SQLite: claim + finish a request (2 WAL commits)', 300, () =>
      claimAndFinish(state, `req_${n++}`),
    ),
  ];
  await audit.close();
  state.close();
  console.log('\n| durable write, alone | p50 ms | p99 ms | mean ms |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const s of samples) {
    console.log(
      `| ${s.label} | ${(s.p50us / 1000).toFixed(2)} | ${(s.p99us / 1000).toFixed(2)} | ${(s.meanUs / 1000).toFixed(2)} |`,
    );
  }
}

/** Prints one block of load results and, when rows a–d are all there, cofre's added latency against nginx's. */
function reportLoad(title: string, results: readonly LoadResult[]): void {
  console.log(`\n### ${title}\n`);
  console.log('| path | orders | orders/s | p50 ms | p99 ms | mean ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const done = r.capped ? `${r.done} (time cap)` : String(r.done);
    console.log(
      `| ${r.label} | ${done} | ${r.perSecond.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} | ${r.meanMs.toFixed(2)} |`,
    );
  }
  const row = (prefix: string): LoadResult | undefined => results.find((r) => r.label.startsWith(prefix));
  const [a, b, c, d] = [row('a.'), row('b.'), row('c.'), row('d.')];
  if (a === undefined || b === undefined || c === undefined || d === undefined) return;
  const added = (x: LoadResult, base: LoadResult, q: 'p50ms' | 'p99ms'): number => x[q] - base[q];
  const line = (q: 'p50ms' | 'p99ms'): string => {
    const cofre = added(b, a, q);
    const nginx = added(c, d, q);
    const ratio = nginx > 0 ? `${(cofre / nginx).toFixed(1)}x` : 'n/a (nginx within noise)';
    return `${q.slice(0, 3)}: cofre adds ${cofre.toFixed(2)} ms (b − a), nginx adds ${nginx.toFixed(2)} ms (c − d), ratio ${ratio}`;
  };
  console.log(`\n${line('p50ms')}; ${line('p99ms')}`);
}
