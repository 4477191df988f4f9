// Policy decision benchmark (issue 9): RulePolicy.decide() on a 100-rule policy, against the shorthand policy
// ({ accounts, actions }) on the same engine. Goal: p50 ≤ 20 µs for 100 rules. In-process and synchronous: each
// call is timed alone with hrtime, so the numbers include ~0.05 µs of timer overhead.
import { parseConfig } from '../src/config/load-config.js';
import type { PolicyQuestion, ResolvedOrder } from '../src/policy/policy-types.js';
import { RulePolicy } from '../src/policy/rule-policy.js';
import { quantile, report, type Sample } from './measure.js';

const ITERATIONS = 200_000;

/** A 100-rule policy as an operator might grow one: reads, per-market caps, approvals, denies and shadow rules. */
function hundredRules(): string {
  const rules: string[] = [
    '      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order]\n        accounts: [paper, live]',
  ];
  for (let i = 0; i < 60; i++) {
    rules.push(
      `      - allow: [place_order, cancel_order]\n        accounts: [paper]\n        symbols: ["C${i}/USDT", "C${i}/USDC"]\n        sides: [buy, sell]\n        maxNotional: ${500 + i}\n        priceBand: 2%\n        hours: { days: mon-fri, time: "08:00-20:00", timeZone: Europe/Lisbon }`,
    );
  }
  for (let i = 0; i < 20; i++) {
    rules.push(
      `      - approve: [place_order]\n        accounts: [paper]\n        symbols: ["C${i * 3}/*"]\n        minNotional: ${10_000 + i}\n        maxNotional: 50000`,
    );
  }
  for (let i = 0; i < 15; i++) {
    rules.push(`      - deny: [place_order]\n        symbols: ["*/X${i}"]`);
  }
  for (let i = 0; i < 4; i++) {
    rules.push(`      - deny: [place_order]\n        mode: shadow\n        minNotional: ${100_000 + i}`);
  }
  return rules.join('\n');
}

const HEAD = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  paper: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
  live: { venue: binance, mode: live, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
policies:
  big:
    rules:
${hundredRules()}
    limits:
      - { per: agent, window: 24h, notional: 100000, quote: [USDT, USDC] }
      - { per: account, window: 1m, orders: 30 }
      - { per: account, openOrders: 10 }
  short: { accounts: [paper], actions: [get_balance, place_order, cancel_order] }
`;

function order(symbol: string, notional: string): ResolvedOrder {
  const [base = '', quote = ''] = symbol.split('/');
  return {
    symbol,
    base,
    quote,
    side: 'buy',
    type: 'limit',
    amount: '0.01',
    price: '100',
    referencePrice: '100.5',
    notional,
  };
}

function time(label: string, engine: RulePolicy, question: PolicyQuestion): Sample {
  for (let i = 0; i < 10_000; i++) engine.decide(question); // warm-up: let V8 optimise
  const times = new Float64Array(ITERATIONS);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    engine.decide(question);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  const sorted = [...times].sort((a, b) => a - b);
  return {
    label,
    ops: ITERATIONS / total,
    p50us: quantile(sorted, 0.5),
    p99us: quantile(sorted, 0.99),
    meanUs: (total * 1e6) / ITERATIONS,
  };
}

/** The section: decide() per question shape, on the 100-rule policy and the shorthand. */
export function policyDecisionBench(): Promise<void> {
  const config = parseConfig(HEAD, { sourcePath: 'bench.yaml' });
  // Monday 12:00 in Lisbon: inside the rules' hours, so every condition is evaluated.
  const engine = new RulePolicy({ ...config, now: () => new Date('2026-06-01T11:00:00Z') });
  const ask = (policy: string, fields: Omit<PolicyQuestion, 'agentId' | 'policy'>): PolicyQuestion => ({
    agentId: 'bot',
    policy,
    ...fields,
  });
  const place = (symbol: string, notional: string) =>
    ({ action: 'place_order', account: 'paper', order: order(symbol, notional) }) as const;
  const samples = [
    time('shorthand: place_order allowed', engine, ask('short', place('C1/USDT', '1'))),
    time('shorthand: get_balance allowed', engine, ask('short', { action: 'get_balance', account: 'paper' })),
    time(
      '100 rules: get_balance allowed (rule 0)',
      engine,
      ask('big', { action: 'get_balance', account: 'paper' }),
    ),
    time('100 rules: place_order allowed by rule 60, 3 limits', engine, ask('big', place('C59/USDT', '1'))),
    time('100 rules: place_order to approval', engine, ask('big', place('C57/USDT', '20000'))),
    time('100 rules: place_order denied by a deny rule', engine, ask('big', place('C5/X14', '1'))),
    time('100 rules: default deny with nearest miss', engine, ask('big', place('C59/USDT', '5000'))),
  ];
  report(`Policy decision: RulePolicy.decide(), ${ITERATIONS} calls each, in process`, samples);
  return Promise.resolve();
}
