// `cofre serve --workers 2` stopped by SIGTERM while orders are in flight at the exchange: every worker finishes its
// requests (answered, with their outcome on record) before the primary closes the audit log and exits.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parse, stringify } from 'yaml';

import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { cli, startCliProcess, tempDir } from './cli-harness.js';
import { freePort, parentOf, postOnOwnConnection } from './serve-test-tools.js';

const API_KEY = `StopKey${randomBytes(12).toString('hex')}`;
const API_SECRET = randomBytes(32).toString('hex');
const IN_FLIGHT = 4;

/** While `holding`, order POSTs wait at the exchange until released. */
const venue = { holding: true, held: 0, release: (): void => undefined, released: Promise.resolve() };
venue.released = new Promise((done) => (venue.release = done));

let dir: string;
let remove: () => void;
let exchange: PaperExchange;

/** One order on a connection of its own. */
function place(port: number, token: string, clientOrderId: string): Promise<Record<string, unknown>> {
  return postOnOwnConnection(`http://127.0.0.1:${port}/v1/actions/place_order`, token, {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '59000',
    amount: '0.001',
    clientOrderId,
  }).then((answer) => answer.body);
}

/** Waits, turn by turn of the event loop, until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  exchange = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: API_SECRET, balances: { USDT: '100000', BTC: '2' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
    holdRequest: (req) => {
      if (!venue.holding || req.method !== 'POST' || req.path !== '/api/v3/order') return undefined;
      venue.held++;
      return venue.released;
    },
  });
  expect((await cli(dir, ['init'])).code).toBe(0);
  const put = await cli(
    dir,
    ['secret', 'put', 'exchanges/paper', '--field', 'apiKey', '--field', 'secret'],
    `${API_KEY}\n${API_SECRET}\n`,
  );
  expect(put.code).toBe(0);
  const path = join(dir, 'cofre.yaml');
  const config = parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
  (config['accounts']?.['paper'] as Record<string, unknown>)['baseUrl'] = exchange.url;
  config['agents'] = { quotas: { requestsPerSecond: 10_000, burst: 10_000, concurrency: 1_000 } };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  expect((await cli(dir, ['agent', 'add', 'bot', '--token-file', 'bot.token'])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  venue.release();
  await exchange.stop();
  remove();
});

/** The live children of process `pid` (Linux). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

describe('cofre serve --workers 2, stopped', () => {
  it('lets every worker finish the orders it has in flight, then exits with a verifiable audit log', async () => {
    const port = await freePort();
    const server = startCliProcess(dir, ['serve', '--workers', '2', '--port', String(port)]);
    onTestFinished(() => server.stop()); // also when the test fails: no cofre left running
    await server.waitFor(/workers: 2 \(pids \d+, \d+\)/);
    const token = readFileSync(join(dir, 'bot.token'), 'utf8').trim();
    const answers = Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => place(port, token, `stop-${i}`)));
    await until(() => venue.held === IN_FLIGHT);

    const stopped = server.stop(); // SIGTERM to the primary
    const pids = /workers: 2 \(pids (\d+), (\d+)\)/.exec(await server.waitFor(/./))?.slice(1) ?? [];
    for (const pid of pids) await server.waitFor(new RegExp(`"worker":${pid},"msg":"worker stopping`));
    await server.waitFor(/stopping the workers/);
    venue.release();

    expect((await answers).map((a) => a['status'])).toEqual(Array(IN_FLIGHT).fill('executed'));
    await stopped;
    expect(exchange.orders().filter((o) => o.clientOrderId.includes('stop-'))).toHaveLength(IN_FLIGHT);
    const outcomes = readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"kind":"outcome"') && l.includes('"action":"place_order"'));
    expect(outcomes).toHaveLength(IN_FLIGHT);
    const verify = await cli(dir, ['audit', 'verify']);
    expect(verify.stdout + verify.stderr).toMatch(/VERIFIED/);
  });

  it('gives up, exiting non-zero, when workers keep crashing', async () => {
    const port = await freePort();
    const server = startCliProcess(dir, ['serve', '--workers', '2', '--port', String(port)]);
    onTestFinished(() => server.stop()); // also when the test fails: no cofre left running
    const started = await server.waitFor(/workers: 2 \(pids (\d+), \d+\)/);
    const primary = parentOf(Number(/workers: 2 \(pids (\d+)/.exec(started)?.[1]));
    for (let crash = 1; crash < 5; crash++) {
      const [victim, other] = childrenOf(primary);
      process.kill(victim ?? 0, 'SIGKILL');
      await server.waitFor(
        new RegExp(`"pid":${victim},"code":null,"signal":"SIGKILL","msg":"a worker exited`),
      );
      let replacement: number | undefined;
      while (replacement === undefined) {
        replacement = childrenOf(primary).find((pid) => pid !== other && pid !== victim);
        await new Promise((r) => setTimeout(r, 20));
      }
      await server.waitFor(new RegExp(`"worker":${replacement},"component":"http","msg":"Server listening`));
    }
    process.kill(childrenOf(primary)[0] ?? 0, 'SIGKILL');
    const output = await server.waitFor(/COFRE_WORKERS_FAILED: 5 workers crashed within 60 s/);
    expect(output).toMatch(/too many crashes, stopping/);
  });
});
