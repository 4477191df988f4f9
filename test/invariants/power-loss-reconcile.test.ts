// Issue 11, must show: reconciliation after a simulated power loss never sends an order twice. The state store runs
// SQLite in WAL mode with synchronous=NORMAL, so a power loss can take back its last commits (the request's claim,
// its reservation, its answer) while the audit log, synced before anything is sent, keeps the intent. Simulated
// here on the real broker as `cofre serve` wires it (openBrokerRuntime from YAML) in front of the paper exchange:
// the state file is copied while cofre is stopped, an order is placed, cofre stops, and the copy is put back
// (state rolled back, audit log intact; in the second case the outcome's line is lost too). Then cofre starts again
// and the agent retries the same clientOrderId.
import { copyFileSync, existsSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import type { ActionResponse } from '../../src/broker/broker.js';
import { type AttackFixture, startAttackFixture } from '../attacks/attack-fixture.js';
import { RESTING_BUY } from '../resting-buy.js';

let fx: AttackFixture | undefined;

afterEach(async () => {
  await fx?.close();
  fx?.remove();
  fx = undefined;
});

const ORDER = { ...RESTING_BUY, clientOrderId: 'power-1' };

async function start(): Promise<{ fx: AttackFixture; trader: AuthenticatedAgent }> {
  const started = await startAttackFixture((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'addressBook:',
    '  cold-usdt: { asset: USDT, network: TRX, address: "TColdWalletAddressForPowerLossTests01" }',
    'policies:',
    '  trader:',
    '    rules:',
    '      - { allow: [place_order], accounts: [paper], maxNotional: 10000 }',
    '      - { allow: [withdraw], accounts: [paper], destinations: [cold-usdt] }',
    '      - { allow: [get_limits] }',
    '    limits:',
    '      - { per: agent, window: 1d, notional: 1000, quote: USDT }',
    '      - { per: agent, window: 1d, withdrawals: 100, asset: USDT }',
  ]);
  return { fx: started, trader: await started.agent('trader-1', 'trader') };
}

async function respond(f: AttackFixture, agent: AuthenticatedAgent, action: string, input: unknown) {
  const outcome = await f.run(agent, action, input);
  if (!('response' in outcome)) throw new Error(`${action} threw ${outcome.thrown}: ${outcome.message}`);
  return outcome.response;
}

/** Orders the paper exchange received with this clientOrderId (each placement attempt that reached it). */
function ordersReceived(f: AttackFixture, clientOrderId: string): number {
  return f.paper
    .requests()
    .filter(
      (r) =>
        r.method === 'POST' && r.path === '/api/v3/order' && r.params['newClientOrderId'] === clientOrderId,
    ).length;
}

/** The state file and its WAL companion, copied or put back while no process has it open. */
function copyState(dir: string, from: string, to: string): void {
  for (const suffix of ['', '-wal']) {
    const source = join(dir, `${from}${suffix}`);
    const target = join(dir, `${to}${suffix}`);
    rmSync(target, { force: true });
    if (existsSync(source)) copyFileSync(source, target);
  }
  rmSync(join(dir, `${to}-shm`), { force: true });
}

/** Cuts the audit log right after the intent of `requestId`: whole lines, so the chain ends on that record. */
function cutAfterIntent(auditPath: string, requestId: string): void {
  const text = readFileSync(auditPath, 'utf8');
  let offset = 0;
  for (const line of text.split('\n')) {
    offset += Buffer.byteLength(line, 'utf8') + 1;
    const record = line === '' ? {} : (JSON.parse(line) as Record<string, unknown>);
    if (record['kind'] === 'intent' && record['requestId'] === requestId) {
      truncateSync(auditPath, offset);
      return;
    }
  }
  throw new Error(`no intent of ${requestId} in the audit log`);
}

function used(limits: ActionResponse, measure = 'notional'): string | undefined {
  const views = (limits.result as { limits: { measure: string; used: string }[] }).limits;
  return views.find((v) => v.measure === measure)?.used;
}

/** Stops cofre and keeps a consistent copy of its state file: the last state the disk will hold. */
async function snapshot(f: AttackFixture): Promise<void> {
  await f.runtime.close();
  copyState(join(f.auditPath, '..'), 'state.db', 'state.snapshot');
  await f.restart();
}

/** Power loss: cofre stops, its state goes back to the snapshot; the audit log keeps what was synced. */
async function powerLoss(f: AttackFixture, requestId: string, outcomeLost: boolean): Promise<void> {
  await f.runtime.close();
  copyState(join(f.auditPath, '..'), 'state.snapshot', 'state.db');
  if (outcomeLost) cutAfterIntent(f.auditPath, requestId);
  const outcomes = f.audit().filter((r) => r['kind'] === 'outcome' && r['requestId'] === requestId);
  expect(outcomes).toHaveLength(outcomeLost ? 0 : 1);
  await f.restart();
}

describe.each([
  { lost: 'the state (claim, reservation, answer)', outcomeLost: false },
  { lost: 'the state and the outcome line of the audit log', outcomeLost: true },
])('after a power loss that took back $lost', ({ outcomeLost }) => {
  it('restores the request from its intent, sends nothing again, answers the retry as a replay, and counts the order', async () => {
    const started = await start();
    fx = started.fx;
    const { trader } = started;
    await snapshot(fx);

    const placed = await respond(fx, trader, 'place_order', ORDER);
    expect(placed.status).toBe('executed');
    expect(ordersReceived(fx, ORDER.clientOrderId)).toBe(1);
    expect(used(await respond(fx, trader, 'get_limits', {}))).toBe('50');

    await powerLoss(fx, placed.requestId, outcomeLost);
    // Reconciliation ran before the runtime was handed over: the request is back, executing, with its key.
    expect(fx.runtime.restoredFromAudit).toMatchObject({
      from: 'position',
      restored: [{ requestId: placed.requestId, outcome: 'restored' }],
      skipped: [],
    });
    expect((await fx.runtime.state.request(placed.requestId))?.status).toBe('executing');
    // A retry before the venue was asked: in progress, not sent.
    const early = await respond(fx, trader, 'place_order', ORDER);
    expect(early.error?.code).toBe('COFRE_REQUEST_IN_PROGRESS');
    expect(ordersReceived(fx, ORDER.clientOrderId)).toBe(1);
    // The reservation is back: the budget counts the order while its outcome is unknown.
    expect(used(await respond(fx, trader, 'get_limits', {}))).toBe('50');

    // The signed-request window passed (as runtime.reconcileInterrupted's second pass sees it): settle at the venue.
    const report = await fx.runtime.broker.reconcileInterrupted(new Date(Date.now() + 1_000));
    expect(report.resolved).toEqual([{ requestId: placed.requestId, status: 'executed' }]);

    const retried = await respond(fx, trader, 'place_order', ORDER);
    expect(retried).toMatchObject({ requestId: placed.requestId, status: 'executed', replayed: true });
    expect((retried.result as { order: { clientOrderId: string } }).order.clientOrderId).toBe(
      ORDER.clientOrderId,
    );
    expect(ordersReceived(fx, ORDER.clientOrderId)).toBe(1);
    expect(used(await respond(fx, trader, 'get_limits', {}))).toBe('50');

    // Another start finds nothing to restore: the row is there, and the horizon moved past the intent.
    await fx.restart();
    expect(fx.runtime.restoredFromAudit?.restored).toEqual([]);
    expect((await respond(fx, trader, 'place_order', ORDER)).replayed).toBe(true);
    expect(ordersReceived(fx, ORDER.clientOrderId)).toBe(1);
  });
});

describe('after a power loss that took back a withdrawal and its outcome line', () => {
  it('restores it by its clientWithdrawId and never withdraws twice', async () => {
    const started = await start();
    fx = started.fx;
    const { trader } = started;
    const WITHDRAWAL = {
      account: 'paper',
      asset: 'USDT',
      amount: '25',
      destination: 'cold-usdt',
      clientWithdrawId: 'power-w1',
    };
    await snapshot(fx);
    const sent = await respond(fx, trader, 'withdraw', WITHDRAWAL);
    expect(sent.status).toBe('executed');
    expect(fx.paper.withdrawals()).toHaveLength(1);

    await powerLoss(fx, sent.requestId, true);
    expect(fx.runtime.restoredFromAudit?.restored).toEqual([
      { requestId: sent.requestId, outcome: 'restored' },
    ]);
    expect((await respond(fx, trader, 'withdraw', WITHDRAWAL)).error?.code).toBe('COFRE_REQUEST_IN_PROGRESS');
    expect(used(await respond(fx, trader, 'get_limits', {}), 'withdrawals')).toBe('25');

    const report = await fx.runtime.broker.reconcileInterrupted(new Date(Date.now() + 1_000));
    expect(report.resolved).toEqual([{ requestId: sent.requestId, status: 'executed' }]);
    const retried = await respond(fx, trader, 'withdraw', WITHDRAWAL);
    expect(retried).toMatchObject({ requestId: sent.requestId, status: 'executed', replayed: true });
    expect(fx.paper.withdrawals()).toHaveLength(1);
    expect(used(await respond(fx, trader, 'get_limits', {}), 'withdrawals')).toBe('25');
  });
});
