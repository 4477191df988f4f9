// `cofre policy explain` and `cofre policy test`, through the CLI as a user runs them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ISSUE_9_CONFIG } from '../../src/policy/testdata/issue-9-policy.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { cli, tempDir } from './cli-harness.js';

let dir: string;
let remove: () => void;

beforeEach(() => {
  ({ dir, remove } = tempDir());
  writeFileSync(join(dir, 'cofre.yaml'), ISSUE_9_CONFIG);
});

afterEach(() => {
  remove();
});

// Monday 2026-06-01, 12:00 in Lisbon: inside the example's trading hours.
const NOW = '2026-06-01T11:00:00Z';
const order = (notional: { amount: string; price: string }, symbol = 'BTC/USDT') =>
  JSON.stringify({
    account: 'paper-binance',
    symbol,
    side: 'buy',
    type: 'limit',
    ...notional,
    referencePrice: notional.price,
  });

describe('cofre policy explain', () => {
  it('prints the decision, every rule with why, and the limits drawn on', async () => {
    const r = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'paper-trader',
      '--action',
      'place_order',
      '--input',
      order({ amount: '0.1', price: '80000' }),
      '--now',
      NOW,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision: deny\n');
    expect(r.stdout).toContain(
      'reason:   place_order on paper-binance is allowed up to maxNotional 500 USDT by policies.paper-trader.rules[1]; this order is 8000 USDT',
    );
    expect(r.stdout).toMatch(
      /policies\.paper-trader\.rules\[0\]\s+allow\s+enforce\s+no\s+does not list place_order/,
    );
    expect(r.stdout).toMatch(
      /policies\.paper-trader\.rules\[2\]\s+approve\s+enforce\s+no\s+maxNotional: up to maxNotional 5000 USDT; this order is 8000 USDT/,
    );
    expect(r.stdout).toMatch(
      /policies\.paper-trader\.rules\[4\]\s+deny\s+enforce\s+no\s+symbols: only for symbols \*\/BUSD; not for BTC\/USDT/,
    );
    expect(r.stdout).toContain('limits: none drawn on');
    expect(r.stdout).toMatch(/policy: {3}paper-trader \(sha256 [0-9a-f]{64}\)/);
  });

  it("judges as an agent under its policy from the state store, listing the limits' keys", async () => {
    expect(
      (await cli(dir, ['agent', 'add', 'bot-1', '--policy', 'paper-trader', '--token-file', 't'])).code,
    ).toBe(0);
    // 300 USDT of bot-1's daily notional already spent: explain shows it beside the limit.
    const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
    const key = 'agent:bot-1|notional|USDT|86400000';
    state.reserve(
      'req-earlier',
      [{ limit: 'daily', key, measure: 'notional', windowMs: 86_400_000, cap: '10000', amount: '300' }],
      new Date(NOW),
    );
    state.settleReservation('req-earlier', { kind: 'commit', at: new Date(NOW) });
    state.close();
    const r = await cli(dir, [
      'policy',
      'explain',
      '--agent',
      'bot-1',
      '--action',
      'place_order',
      '--input',
      order({ amount: '0.01', price: '80000' }),
      '--now',
      NOW,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision: approval\nrule:     policies.paper-trader.rules[2]\n');
    expect(r.stdout).toMatch(
      /policies\.paper-trader\.limits\[0\]\s+agent:bot-1\|notional\|USDT\|86400000\s+10000\s+800\s+300/,
    );
    const json = await cli(dir, [
      'policy',
      'explain',
      '--agent',
      'bot-1',
      '--action',
      'list_accounts',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      policy: 'paper-trader',
      decision: { decision: 'allow' },
    });
  });

  it('refuses what it cannot judge with a usage error naming the fix', async () => {
    const both = await cli(dir, [
      'policy',
      'explain',
      '--agent',
      'a',
      '--policy',
      'p',
      '--action',
      'get_balance',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('name either an agent (--agent <id>) or a policy (--policy <name>)');
    const badInput = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'paper-trader',
      '--action',
      'place_order',
      '--input',
      '{"account":"paper-binance","symbol":"BTC/USDT","side":"buy","type":"limit","amount":"-1"}',
    ]);
    expect(badInput.code).toBe(2);
    expect(badInput.stderr).toContain(
      'input for place_order is not valid: amount: expected a non-negative decimal',
    );
    const noAgent = await cli(dir, ['policy', 'explain', '--agent', 'ghost', '--action', 'get_balance']);
    expect(noAgent.code).toBe(1);
    expect(noAgent.stderr).toContain('COFRE_AGENT_NOT_FOUND');
    const action = await cli(dir, [
      'policy',
      'explain',
      '--policy',
      'paper-trader',
      '--action',
      'sell_everything',
    ]);
    expect(action.code).toBe(2);
    expect(action.stderr).toContain('unknown action "sell_everything"');
  });
});

describe('cofre policy test', () => {
  const cases = (expectations: string) => `- name: small order waits for approval
  policy: paper-trader
  action: place_order
  input: { account: paper-binance, symbol: BTC/USDT, side: buy, type: limit, amount: "0.01", price: "40000", referencePrice: "40000" }
  now: ${NOW}
  expect: ${expectations}
- name: BUSD is never traded
  policy: paper-trader
  action: place_order
  input: { account: paper-binance, symbol: ETH/BUSD, side: sell, type: market, amount: 1, referencePrice: 3000 }
  expect: { decision: deny, rule: "policies.paper-trader.rules[4]" }
- name: withdrawal to the cold wallet
  policy: paper-trader
  action: withdraw
  input: { account: paper-binance, asset: USDT, amount: 500, destination: cold-usdt }
  expect: { decision: approval }
`;

  it('passes a file whose cases all hold, printing each', async () => {
    writeFileSync(
      join(dir, 'policy.test.yaml'),
      cases('{ decision: approval, rule: "policies.paper-trader.rules[2]" }'),
    );
    const r = await cli(dir, ['policy', 'test', 'policy.test.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'PASS  small order waits for approval\nPASS  BUSD is never traded\nPASS  withdrawal to the cold wallet\n3 passed, 0 failed\n',
    );
    expect(r.code).toBe(0);
  });

  it('fails with exit 1 and says what each failing case got', async () => {
    writeFileSync(
      join(dir, 'policy.test.yaml'),
      cases('{ decision: allow, rule: "policies.paper-trader.rules[1]" }'),
    );
    const r = await cli(dir, ['policy', 'test', 'policy.test.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'FAIL  small order waits for approval: expected allow by policies.paper-trader.rules[1], got approval by policies.paper-trader.rules[2]',
    );
    expect(r.stdout).toContain('2 passed, 1 failed');
    expect(r.stderr).toContain('COFRE_POLICY_TEST_FAILED: 1 of 3 policy test case(s) failed');
  });

  it('refuses a malformed file with a usage error', async () => {
    writeFileSync(join(dir, 'bad.yaml'), '- { action: place_order, expect: { decision: maybe } }\n');
    const r = await cli(dir, ['policy', 'test', 'bad.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected a list of cases');
  });
});

describe("the README's policy example", () => {
  it('is a valid config and decides as the README says', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseConfig } = await import('../../src/config/load-config.js');
    const { RulePolicy } = await import('../../src/policy/rule-policy.js');
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const start = readme.indexOf('```yaml', readme.indexOf('## Policies')) + '```yaml\n'.length;
    const example = readme.slice(start, readme.indexOf('```', start));
    const config = parseConfig(
      `backends:\n  local: { type: embedded, path: s.enc, keyFile: s.key }\naccounts:\n  paper-binance: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }\n${example}`,
    );
    const policy = new RulePolicy({ ...config, now: () => new Date(NOW) });
    const order = (notional: string) =>
      policy.decide({
        agentId: 'bot',
        policy: 'paper-trader',
        action: 'place_order',
        account: 'paper-binance',
        order: {
          symbol: 'BTC/USDT',
          base: 'BTC',
          quote: 'USDT',
          side: 'buy',
          type: 'limit',
          amount: '0.1',
          price: '80000',
          referencePrice: '80000',
          notional,
        },
      });
    expect(order('400')).toMatchObject({
      decision: 'allow',
      rule: 'policies.paper-trader.rules[1] (small-orders)',
    });
    expect(order('800')).toMatchObject({
      decision: 'approval',
      rule: 'policies.paper-trader.rules[2] (big-orders)',
    });
    expect(order('800').approvers).toEqual({ count: 2, of: ['alice', 'bob', 'carol'] });
    // The reason quoted in the README is the one the engine gives.
    expect(readme.replace(/\s+/g, ' ')).toContain(`_"${order('8000').reason}"_`);
  });
});
