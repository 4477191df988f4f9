// `cofre serve --workers 2` run as a user runs it (a real primary and two real workers, one SQLite state file, one
// audit log, the paper exchange counting what reached it): limits, idempotency, the halt and the audit chain are
// exact across workers, a killed worker is replaced, and a primary that cannot write the log stops every worker's
// orders. Each request opens its own connection, so node:cluster hands them to the workers in turn.
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import type { PaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { paper } from '../../src/surfaces/cli/paper.js';
import { workerCount } from '../../src/surfaces/cli/serve.js';
import { consoleRequest, login } from '../console/console-client.js';
import { cli, type RunningCli, startCliProcess, tempDir } from './cli-harness.js';
import { freePort, parentOf, type PostAnswer, postOnOwnConnection } from './serve-test-tools.js';

let dir: string;
let remove: () => void;
let exchange: PaperExchange;
let server: RunningCli;
let base: string;
const tokens: Record<string, string> = {};
/** The workers serving after the replacement test. */
let serving: number[] = [];

type Answer = PostAnswer;

/** One request on a connection of its own (no keep-alive), so each may land on another worker. */
function post(path: string, token: string, body: unknown): Promise<Answer> {
  return postOnOwnConnection(`${base}${path}`, token, body);
}

const code = (a: Answer): unknown => (a.body['error'] as { code?: string } | undefined)?.code;

let nextOrder = 0;
function order(fields: Record<string, string> = {}): Record<string, string> {
  nextOrder++;
  return {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '59000',
    amount: '0.005', // 295 USDT
    clientOrderId: `w-${nextOrder}`,
    ...fields,
  };
}

/** `cofre init`, then the test's policy: orders up to 500 USDT, at most 1,000 USDT per agent and day. */
async function configure(): Promise<number> {
  expect((await cli(dir, ['init'])).code).toBe(0);
  const path = join(dir, 'cofre.yaml');
  const config = parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
  const paperPort = await freePort();
  const port = await freePort();
  (config['accounts']?.['paper'] as Record<string, unknown>)['baseUrl'] = `http://127.0.0.1:${paperPort}`;
  config['agents'] = { quotas: { requestsPerSecond: 10_000, burst: 10_000, concurrency: 1_000 } };
  config['policies'] = {
    trader: {
      rules: [
        { allow: ['get_balance', 'get_open_orders', 'cancel_order', 'get_limits'], accounts: ['paper'] },
        { allow: ['place_order'], accounts: ['paper'], maxNotional: 500 },
      ],
      limits: [{ name: 'daily', per: 'agent', window: '24h', notional: 1000, quote: 'USDT' }],
    },
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return port;
}

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  const port = await configure();
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
  exchange = await paper(io, {}, { createKeys: true, wait: false });
  for (const agent of ['reader', 'limits', 'idempotent', 'halted', 'audit']) {
    const added = await cli(dir, [
      'agent',
      'add',
      agent,
      '--policy',
      'trader',
      '--token-file',
      `${agent}.token`,
    ]);
    expect(added.code).toBe(0);
    tokens[agent] = readFileSync(join(dir, `${agent}.token`), 'utf8').trim();
  }
  const operator = await cli(dir, ['operator', 'add', 'alice']);
  tokens['alice'] = /cofre_op_\S+/.exec(operator.stdout)?.[0] ?? '';
  leftExecuting('req_left_before_start');
  server = startCliProcess(dir, ['serve', '--workers', '2', '--port', String(port)]);
  await server.waitFor(/workers: 2 \(pids \d+, \d+\)/);
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await server.stop();
  await exchange.stop();
  remove();
});

/** A balance read a stopped worker left `executing` two minutes ago (older than the signed-request window). */
function leftExecuting(requestId: string): void {
  const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
  try {
    const at = new Date(Date.now() - 120_000);
    const claim = { requestId, agentId: 'reader', action: 'get_balance', account: 'paper' } as const;
    state.claimRequest({
      ...claim,
      idempotencyKey: undefined,
      input: undefined,
      status: 'executing',
      response: undefined,
      createdAt: at,
      updatedAt: at,
    });
  } finally {
    state.close();
  }
}

function statusOf(requestId: string): string | undefined {
  const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
  try {
    return state.request(requestId)?.status;
  } finally {
    state.close();
  }
}

/** Whether process `pid` holds the audit log open (Linux: its file descriptors in /proc). */
function holdsAuditLog(pid: number): boolean {
  const log = join(dir, 'cofre-audit.jsonl');
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === log;
    } catch {
      return false; // closed meanwhile
    }
  });
}

/**
 * Resolves once worker `pid` has logged a request it answered (its log line follows its answer, so it is waited for;
 * a worker that answered nothing never resolves and the test times out).
 */
function servedBy(pid: number | undefined): Promise<string> {
  return server.waitFor(new RegExp(`"worker":${pid ?? 0},"component":"http","reqId"`));
}

function workerPids(output: string): number[] {
  const lines = [...output.matchAll(/workers: 2 \(pids (\d+), (\d+)\)/g)];
  return (lines.at(-1)?.slice(1) ?? []).map(Number);
}

describe('cofre serve --workers 2', () => {
  it('serves from both workers, on one port', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        post('/v1/actions/get_balance', tokens['reader'] ?? '', { account: 'paper' }),
      ),
    );
    expect(answers.map((a) => a.body['status'])).toEqual(Array(8).fill('executed'));
    const pids = workerPids(await server.waitFor(/workers: 2/));
    expect(pids).toHaveLength(2);
    for (const pid of pids) await servedBy(pid);
  });

  it('never lets orders racing on many connections spend past the notional cap', async () => {
    const before = exchange.orders().length;
    const answers = await Promise.all(
      Array.from({ length: 16 }, () => post('/v1/actions/place_order', tokens['limits'] ?? '', order())),
    );
    const executed = answers.filter((a) => a.body['status'] === 'executed').length;
    // 1,000 USDT a day at 295 USDT an order: three, whichever worker took each.
    expect(executed).toBe(3);
    expect(answers.filter((a) => a.body['status'] === 'denied')).toHaveLength(13);
    expect(exchange.orders().length - before).toBe(3);
  });

  it('sends an order the same clientOrderId names once, however many connections race with it', async () => {
    const same = order({ clientOrderId: 'w-once', amount: '0.001' });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => post('/v1/actions/place_order', tokens['idempotent'] ?? '', same)),
    );
    expect(answers.some((a) => a.body['status'] === 'executed')).toBe(true);
    expect(exchange.orders().filter((o) => o.clientOrderId.endsWith('w-once'))).toHaveLength(1);
  });

  it('halts every worker from the operator API and from `cofre halt`, and resumes them all', async () => {
    const token = tokens['halted'] ?? '';
    const balances = (): Promise<Answer[]> =>
      Promise.all(
        Array.from({ length: 6 }, () => post('/v1/actions/get_balance', token, { account: 'paper' })),
      );
    const operatorCall = (path: string, body: unknown): Promise<Answer> =>
      post(path, tokens['alice'] ?? '', body);

    expect((await operatorCall('/v1/operator/halt', { reason: 'drill' })).status).toBe(200);
    expect((await balances()).map(code)).toEqual(Array(6).fill('COFRE_HALTED'));
    // The resume lands on the other worker than the halt: the halt held in the first one's memory is lifted too.
    expect((await operatorCall('/v1/operator/resume', {})).status).toBe(200);
    expect((await balances()).map((a) => a.body['status'])).toEqual(Array(6).fill('executed'));

    expect((await cli(dir, ['halt', '--reason', 'cli drill'])).code).toBe(0);
    expect((await balances()).map(code)).toEqual(Array(6).fill('COFRE_HALTED'));
    expect((await cli(dir, ['resume'])).code).toBe(0);
    expect((await balances()).map((a) => a.body['status'])).toEqual(Array(6).fill('executed'));
  });

  // Issue 18: one console for the whole pool, in one worker, over that worker's operator actions (which halt every
  // worker through the primary).
  it('serves the console from exactly one worker, and a halt from it stops every worker', async () => {
    const output = await server.waitFor(/console: http:\/\/127\.0\.0\.1:\d+/);
    const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? '';
    expect(output.match(/console: http/g)).toHaveLength(1);
    const session = await login(consoleUrl, tokens['alice'] ?? '');
    const asOperator = { cookie: session.cookie, 'x-cofre-csrf': session.csrf, origin: consoleUrl };
    const sessions = await Promise.all(
      Array.from({ length: 6 }, () =>
        consoleRequest(consoleUrl, 'GET', '/console/session', { headers: { cookie: session.cookie } }),
      ),
    );
    // Sessions live in one process's memory: every connection found the session, so one worker served them all.
    expect(sessions.map((a) => a.status)).toEqual(Array(6).fill(200));
    const balances = (): Promise<Answer[]> =>
      Promise.all(
        Array.from({ length: 6 }, () =>
          post('/v1/actions/get_balance', tokens['halted'] ?? '', { account: 'paper' }),
        ),
      );
    const halt = await consoleRequest(consoleUrl, 'POST', '/v1/operator/halt', {
      headers: asOperator,
      body: { reason: 'console drill' },
    });
    expect(halt.status).toBe(200);
    expect((await balances()).map(code)).toEqual(Array(6).fill('COFRE_HALTED'));
    const resume = await consoleRequest(consoleUrl, 'POST', '/v1/operator/resume', {
      headers: asOperator,
      body: {},
    });
    expect(resume.status).toBe(200);
    expect((await balances()).map((a) => a.body['status'])).toEqual(Array(6).fill('executed'));
    const consolePids = new Set(
      [
        ...(await server.waitFor(/"component":"console"/)).matchAll(/"worker":(\d+),"component":"console"/g),
      ].map((m) => m[1]),
    );
    expect(consolePids.size).toBe(1);
  });

  it('refuses every order, on every worker, while the primary cannot append to the audit log', async () => {
    const log = join(dir, 'cofre-audit.jsonl');
    const before = exchange.orders().length;
    // A directory where the log was: the primary's next write reopens the path and fails (even as root).
    renameSync(log, `${log}.aside`);
    mkdirSync(log);
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          post('/v1/actions/place_order', tokens['audit'] ?? '', order({ amount: '0.001' })),
        ),
      );
      expect(answers.map(code)).toEqual(Array(6).fill('COFRE_AUDIT_UNAVAILABLE'));
      expect(exchange.orders().length).toBe(before);
    } finally {
      rmdirSync(log);
      renameSync(`${log}.aside`, log);
    }
    const again = await post('/v1/actions/place_order', tokens['audit'] ?? '', order({ amount: '0.001' }));
    expect(again.body['status']).toBe('executed');
  });

  it('settles what a stopped cofre left executing once, in the first worker', async () => {
    let status = statusOf('req_left_before_start');
    for (let i = 0; i < 200 && status === 'executing'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = statusOf('req_left_before_start');
    }
    expect(status).toBe('failed');
  });

  it('replaces a killed worker while the other keeps serving; the replacement settles nothing', async () => {
    const [victim, survivor] = workerPids(await server.waitFor(/workers: 2/));
    // Stands for a request the killed worker was executing: only a full start (or `cofre request reconcile`) settles
    // it, never a replacement while other workers may be executing theirs.
    leftExecuting('req_of_the_killed_worker');
    process.kill(victim ?? 0, 'SIGKILL');
    const output = await server.waitFor(
      /a worker exited; starting a replacement[\s\S]*"worker":\d+,"component":"http","msg":"Server listening/,
    );
    expect(output).toMatch(
      new RegExp(`"pid":${victim},"code":null,"signal":"SIGKILL","msg":"a worker exited`),
    );
    const replacement = Number(
      /a worker exited; starting a replacement[\s\S]*"worker":(\d+),"component":"http","msg":"Server listening/.exec(
        output,
      )?.[1],
    );
    expect([victim, survivor]).not.toContain(replacement);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        post('/v1/actions/get_balance', tokens['reader'] ?? '', { account: 'paper' }),
      ),
    );
    expect(answers.map((a) => a.body['status'])).toEqual(Array(6).fill('executed'));
    await servedBy(survivor);
    await servedBy(replacement);
    serving = [survivor ?? 0, replacement];
    // Given the time the first worker took to settle one (the test above), a replacement that settled would have.
    for (let i = 0; i < 120 && statusOf('req_of_the_killed_worker') === 'executing'; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(statusOf('req_of_the_killed_worker')).toBe('executing');
  });

  it('leaves one audit chain that `cofre audit verify` accepts, with every record written by the primary', async () => {
    expect(serving).toHaveLength(2);
    for (const pid of serving) expect(holdsAuditLog(pid)).toBe(false);
    expect(holdsAuditLog(parentOf(serving[0] ?? 0))).toBe(true);
    const verify = await cli(dir, ['audit', 'verify']);
    expect(verify.stdout + verify.stderr).toMatch(/VERIFIED/);
    expect(verify.code).toBe(0);
  });
});

describe('the number of workers', () => {
  it('takes a count up to 4 per core, and auto or 0 for one per core; refuses anything else', () => {
    expect(workerCount('auto', 2)).toBe(2);
    expect(workerCount('0', 2)).toBe(2);
    expect(workerCount(1, 2)).toBe(1);
    expect(workerCount('8', 2)).toBe(8);
    for (const bad of ['9', '-1', '1.5', 'two', '']) {
      expect(() => workerCount(bad, 2)).toThrow(/invalid number of workers/);
    }
  });
});
