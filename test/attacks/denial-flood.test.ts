// Regression (issue 8, item 18): denied requests were free to send in unlimited numbers; 3,000 in 16 s each wrote a
// state row and an audit line, grew the state DB by 1 MB and slowed other agents' requests 20×. Attacks a real
// broker (openBrokerRuntime, default quotas) in front of the paper exchange.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import { type AttackFixture, type Outcome, startAttackFixture } from './attack-fixture.js';

const FLOOD = 300;

let fx: AttackFixture;
let attacker: AuthenticatedAgent;
let bystander: AuthenticatedAgent;

beforeAll(async () => {
  fx = await startAttackFixture((url, credentials) => [
    // Default agent quotas: what `cofre serve` runs with.
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    '  balance-only: { accounts: [paper], actions: [get_balance] }',
  ]);
  attacker = await fx.agent('attacker-1', 'balance-only');
  bystander = await fx.agent('bystander-1', 'balance-only');
});

afterAll(async () => {
  await fx.close();
  fx.remove();
});

const order = (i: number) => ({
  account: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  amount: '0.001',
  price: '30000',
  clientOrderId: `deny-${i}`,
});

describe('a flood of denied requests', () => {
  it('is refused in memory after a small budget, with one summary in the audit log, and others are unaffected', async () => {
    const outcomes: Outcome[] = [];
    const started = Date.now();
    for (let i = 0; i < FLOOD; i++) outcomes.push(await fx.run(attacker, 'place_order', order(i)));

    const recorded = outcomes.filter((o) => 'response' in o);
    const refused = outcomes.filter((o) => 'thrown' in o);
    for (const o of recorded) expect('response' in o && o.response.status).toBe('denied');
    for (const o of refused) {
      expect(o).toMatchObject({ thrown: 'COFRE_AGENT_QUOTA_EXCEEDED', retryable: true });
    }
    // Default quotas: a burst of 10 denials, then 30 a minute, is recorded one by one (the bound allows for a slow
    // machine; no timing is asserted).
    const minutes = (Date.now() - started) / 60_000;
    expect(recorded.length).toBeLessThanOrEqual(10 + Math.ceil(minutes * 30) + 1);
    expect(refused.length).toBe(FLOOD - recorded.length);

    // Only the recorded denials left a state row and an audit line each.
    const ids = recorded.map((o) => ('response' in o ? o.response.requestId : ''));
    for (const id of ids) expect((await fx.runtime.state.request(id))?.status).toBe('denied');
    const attackerLines = () => fx.audit().filter((l) => l['agent'] === 'attacker-1');
    expect(attackerLines().filter((l) => l['kind'] === 'intent')).toHaveLength(recorded.length);

    // Another agent is served as usual.
    const other = await fx.run(bystander, 'get_balance', { account: 'paper' });
    expect('response' in other && other.response.status).toBe('executed');

    // On close (or every minute), one summary record per agent counts what was refused.
    await fx.close();
    const summaries = attackerLines().filter((l) => l['kind'] === 'quota');
    expect(summaries).toHaveLength(1);
    const detail = summaries[0]?.['detail'] as { refused: Record<string, number>; deniedAndRecorded: number };
    const counted = Object.values(detail.refused).reduce((a, b) => a + b, 0);
    expect(counted).toBe(refused.length);
    expect(detail.deniedAndRecorded).toBe(recorded.length);
    expect(fx.audit().filter((l) => l['agent'] === 'bystander-1' && l['kind'] === 'quota')).toEqual([]);
  });
});
