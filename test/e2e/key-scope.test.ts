// Issue 12, must show: a withdraw-enabled key on a trade-only account is refused when least privilege is required.
// `cofre serve` as a user runs it (startBrokerServer from YAML) in front of the paper exchange, whose key can
// withdraw (its default, as GET /sapi/v1/account/apiRestrictions reports) while no policy allows withdraw.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { newVenueKey, promoteElsewhere } from './promote-elsewhere.js';
import { errorCodeOf, type ServedFixture, startServedBroker } from './served-broker.js';

let fx: ServedFixture;
let agent: string;

beforeAll(async () => {
  // Both accounts trade through the same paper key; only `strict` requires least privilege.
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  strict: { venue: binance, mode: paper, baseUrl: "${url}", requireLeastPrivilege: true, ${credentials} }`,
    `  loose: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [list_accounts, get_balance, place_order, cancel_order, cancel_all_orders]',
    '        accounts: [strict, loose]',
    // Polled by hand below (checkNow), so the test does not depend on when a timer fires.
    'rotation: { pollInterval: 1h }',
  ]);
  agent = await fx.agentToken('trader-1', 'trader');
});

afterAll(async () => {
  await fx.close();
});

/** The audit log's records so far. */
const audit = (): Record<string, unknown>[] =>
  readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const order = (account: string, clientOrderId: string) =>
  fx.call('POST', '/v1/actions/place_order', agent, {
    account,
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: '0.001',
    clientOrderId,
  });

describe('least privilege at start', () => {
  it('judges every account at start: the one that requires it is refused, the other only warned about', () => {
    const byAccount = Object.fromEntries((fx.server.keyScope ?? []).map((s) => [s.account, s]));
    const problem = (id: string) => `the key can withdraw, but no policy allows withdraw on account "${id}"`;
    expect(byAccount['strict']).toMatchObject({
      state: 'refused',
      required: true,
      problems: [problem('strict')],
    });
    expect(byAccount['loose']).toMatchObject({
      state: 'allowed',
      required: false,
      problems: [problem('loose')],
    });
    expect(byAccount['strict']?.scope).toMatchObject({
      canWithdraw: true,
      canTrade: true,
      ipRestricted: false,
    });
    const messages = fx.logLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain(`least privilege: ${problem('strict')}`);
    expect(messages).toContain(`least privilege: ${problem('loose')}`);
    expect(messages.filter((m) => m.startsWith('refusing to serve account'))).toEqual([
      expect.stringContaining('refusing to serve account "strict": narrow the key at the venue'),
    ]);
  });

  it('refuses every action on the refused account with COFRE_ACCOUNT_REFUSED, sending nothing', async () => {
    const requestsBefore = fx.paper.requests().length;
    const placed = await order('strict', 'ks-strict-1');
    expect(errorCodeOf(placed)).toBe('COFRE_ACCOUNT_REFUSED');
    expect(placed.status).toBe(403);
    expect(placed.body).toMatchObject({ status: 'failed', error: { retryable: false } });
    const message = (placed.body['error'] as { message: string }).message;
    expect(message).toContain('the key can withdraw, but no policy allows withdraw on account "strict"');
    expect(message).toContain('requireLeastPrivilege: false');
    const refusedIds = [placed.body['requestId']];
    for (const [action, input] of [
      ['get_balance', { account: 'strict' }],
      ['cancel_all_orders', { account: 'strict' }],
    ] as const) {
      const answer = await fx.call('POST', `/v1/actions/${action}`, agent, input);
      expect(errorCodeOf(answer), action).toBe('COFRE_ACCOUNT_REFUSED');
      refusedIds.push(answer.body['requestId']);
    }
    // Nothing of it reached the exchange: no order, no request at all.
    expect(fx.paper.orders().some((o) => o.clientOrderId === 'ks-strict-1')).toBe(false);
    expect(fx.paper.requests().length).toBe(requestsBefore);
    // Refused before its intent: the failure is on record, and no credential of the account was read for it.
    for (const id of refusedIds) {
      const records = audit().filter((r) => r['requestId'] === id);
      expect(records.map((r) => r['kind'])).not.toContain('secret-access');
      expect(records.some((r) => JSON.stringify(r).includes('COFRE_ACCOUNT_REFUSED'))).toBe(true);
    }
  });

  it("records the start check's credential reads as key-scope reads under no request", () => {
    const reads = audit().filter((r) => r['kind'] === 'secret-access' && r['purpose'] === 'key-scope');
    expect(reads.map((r) => [r['account'], r['requestId']]).sort()).toEqual([
      ['loose', '-'],
      ['loose', '-'],
      ['strict', '-'],
      ['strict', '-'],
    ]);
  });

  it('still trades on the other account', async () => {
    const placed = await order('loose', 'ks-loose-1');
    expect(placed.body).toMatchObject({ status: 'executed', result: { order: { status: 'closed' } } });
    expect(fx.paper.orders().some((o) => o.clientOrderId === 'ks-loose-1')).toBe(true);
  });

  it('shows the refusal in list_accounts', async () => {
    const listed = await fx.call('POST', '/v1/actions/list_accounts', agent, {});
    expect(listed.body).toMatchObject({
      status: 'executed',
      result: {
        accounts: [
          {
            account: 'strict',
            refused: true,
            problems: ['the key can withdraw, but no policy allows withdraw on account "strict"'],
          },
          { account: 'loose' },
        ],
      },
    });
    const loose = (listed.body['result'] as { accounts: Record<string, unknown>[] }).accounts[1];
    expect(loose).not.toHaveProperty('refused');
  });

  // Next to last: it halts the broker. The paths that skip resolution (a halt's cancels, approved requests) are refused too.
  it("refuses a halt's cancel-all on the refused account and cancels on the other", async () => {
    const resting = await fx.call('POST', '/v1/actions/place_order', agent, {
      account: 'loose',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: '30000',
      amount: '0.001',
      clientOrderId: 'ks-resting-1',
    });
    expect(resting.body).toMatchObject({ status: 'executed', result: { order: { status: 'open' } } });
    const halted = await fx.call('POST', '/v1/operator/halt', await fx.operatorToken('op-1'), {
      reason: 'key scope drill',
      cancelOpenOrders: true,
    });
    expect(halted.status).toBe(200);
    const reports = halted.body['cancelled'] as { account: string; cancelled: number; error?: string }[];
    expect(reports.find((r) => r.account === 'strict')?.error).toMatch(/^COFRE_ACCOUNT_REFUSED: /);
    expect(reports.find((r) => r.account === 'loose')).toMatchObject({ cancelled: 1 });
    expect(fx.paper.orders().find((o) => o.clientOrderId === 'ks-resting-1')?.status).toBe('CANCELED');
  });

  it('serves the refused account again once a rotation makes a narrower key current, at the next poll', async () => {
    expect((await fx.call('POST', '/v1/operator/resume', await fx.operatorToken('op-2'), {})).status).toBe(
      200,
    );
    expect(errorCodeOf(await order('strict', 'ks-before-rotation'))).toBe('COFRE_ACCOUNT_REFUSED');
    // The person makes a key without withdrawals at the venue; `cofre rotate` tests it there and promotes it.
    const narrow = newVenueKey();
    fx.paper.addApiKey(fx.apiKey.apiKey, { ...narrow, restrictions: { enableWithdrawals: false } });
    await promoteElsewhere(fx, narrow, 'strict');
    // The running broker's poll sees the promotion and judges the account on the new key (without waiting for the
    // minute after which a judgement is asked again).
    expect(await fx.server.runtime.credentialVersions.checkNow()).toHaveLength(1);
    expect((await order('strict', 'ks-after-rotation')).body).toMatchObject({ status: 'executed' });
    const sent = fx.paper.requests().filter((r) => r.params['newClientOrderId'] === 'ks-after-rotation');
    expect(sent.map((r) => r.apiKey)).toEqual([narrow.apiKey]);
  });
});
