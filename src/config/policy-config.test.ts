import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { ISSUE_9_CONFIG } from '../policy/testdata/issue-9-policy.js';
import type { ConfigIssue } from './config-issues.js';
import { parseConfig } from './load-config.js';
import { parseDays } from './policy-config.js';

const HEAD = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  a: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
addressBook:
  cold: { asset: USDT, network: TRX, address: T1 }
`;

/** The problems, in file order (as `config check` prints them). */
function problems(text: string): [string, string][] {
  try {
    parseConfig(text, { sourcePath: 'c.yaml' });
  } catch (err) {
    if (!(err instanceof CofreError)) throw err;
    return (err.details?.['issues'] as ConfigIssue[]).map((i) => [i.path.join('.'), i.message]);
  }
  throw new Error('expected the config to be refused');
}

describe('policy config', () => {
  it("accepts issue 9's example verbatim, with numbers as exact decimal text", () => {
    const config = parseConfig(ISSUE_9_CONFIG, { sourcePath: 'c.yaml' });
    const policy = config.policies['paper-trader'];
    expect(policy?.rules?.[1]).toMatchObject({
      allow: ['place_order', 'cancel_order', 'cancel_all_orders'],
      maxNotional: '500',
      priceBand: '2%',
      mode: 'enforce',
      hours: { days: 'mon-fri', time: '08:00-20:00', timeZone: 'Europe/Lisbon' },
    });
    expect(policy?.limits?.[0]).toEqual({
      per: 'agent',
      window: 86_400_000,
      notional: '10000',
      quote: 'USDT',
    });
    expect(config.addressBook['cold-usdt']).toEqual({
      asset: 'USDT',
      network: 'TRX',
      address: 'T…',
      memo: null,
    });
  });

  it('keeps the old form as shorthand, and refuses both forms in one policy naming the fix', () => {
    expect(
      parseConfig(`${HEAD}policies:\n  p: { accounts: [a], actions: [get_balance] }\n`).policies['p'],
    ).toEqual({
      accounts: ['a'],
      actions: ['get_balance'],
    });
    expect(
      problems(
        `${HEAD}policies:\n  p:\n    accounts: [a]\n    actions: [get_balance]\n    rules: [{ allow: [get_ticker] }]\n`,
      ),
    ).toEqual([
      [
        'policies.p',
        'a policy is either `rules` (and `limits`) or the shorthand `accounts` + `actions`, not both',
      ],
    ]);
    expect(problems(`${HEAD}policies:\n  p: { accounts: [a] }\n`)).toEqual([
      ['policies.p.actions', 'the shorthand needs both accounts and actions; actions is missing'],
    ]);
    expect(problems(`${HEAD}policies:\n  p: {}\n`)).toEqual([['policies.p', 'a policy needs rules']]);
  });

  it('reports every rule problem at once, each at its path', () => {
    const text = `${HEAD}policies:
  p:
    rules:
      - { allow: [get_balance], deny: [get_balance] }
      - { confirm: [place_order], destinations: [cold], approvers: { count: 1 } }
      - { allow: [get_request] }
      - { allow: [place_order], accounts: [ghost], symbols: [btcusdt], maxNotional: -1 }
      - { allow: [place_order], priceBand: "2", minAmount: 5, maxAmount: 1 }
      - { allow: [place_order], hours: { days: weekdays, time: "9-17", timeZone: Mars/Olympus } }
      - { allow: [place_order], hours: { timeZone: UTC } }
      - { approve: [withdraw], destinations: [hot], approvers: { count: 3, of: [alice, bob] } }
      - { name: x, allow: [get_ticker] }
      - { name: x, allow: [get_ticker] }
`;
    expect(problems(text).sort()).toEqual(
      [
        ['policies.p.rules.0', 'a rule has one effect, this one has allow and deny'],
        ['policies.p.rules.1.approvers', 'approvers only go with `approve`'],
        [
          'policies.p.rules.1.destinations',
          'destinations never applies to place_order: the rule could never match',
        ],
        [
          'policies.p.rules.2.allow.0',
          'get_request is not a policy action: every agent may read its own requests, and only those',
        ],
        [
          'policies.p.rules.3.symbols.0',
          'invalid symbol; write BASE/QUOTE in capitals, with * or ? as wildcards within one side (e.g. "ETH/*")',
        ],
        ['policies.p.rules.3.maxNotional', 'expected a non-negative decimal such as 500 or "0.25"'],
        ['policies.p.rules.4.priceBand', 'invalid priceBand; write a percentage below 100, e.g. "2%"'],
        ['policies.p.rules.4.minAmount', 'minAmount is larger than maxAmount: nothing could match'],
        [
          'policies.p.rules.5.hours.days',
          'invalid days; use three-letter names: "mon-fri", "sat-sun", or a list like [mon, wed]',
        ],
        [
          'policies.p.rules.5.hours.time',
          'invalid time; use "HH:MM-HH:MM" (24-hour clock), e.g. "08:00-20:00"',
        ],
        [
          'policies.p.rules.5.hours.timeZone',
          'unknown time zone; use an IANA name such as Europe/Lisbon or America/New_York',
        ],
        ['policies.p.rules.6.hours', 'hours needs `days`, `time` or both'],
        ['policies.p.rules.7.approvers.count', 'approvers.count is larger than the list in approvers.of'],
        ['policies.p.rules.9.name', 'rule name "x" is used twice in this policy'],
        ['policies.p.rules.3.accounts.0', 'account "ghost" is not configured'],
        ['policies.p.rules.7.destinations.0', 'address label "hot" is not in addressBook'],
      ].sort(),
    );
  });

  it('reports every limit problem at once, each at its path', () => {
    const text = `${HEAD}policies:
  p:
    rules: [{ allow: [place_order] }]
    limits:
      - { per: agent, notional: 100 }
      - { per: account, window: 1m, openOrders: 3 }
      - { per: account, window: 1m, orders: 3, notional: 5, quote: USDT }
      - { per: agent, window: 1h, withdrawals: 10, quote: USDT }
      - { per: team, window: 1h, orders: 1, accounts: [nope] }
      - { per: global, window: 1h }
`;
    expect(problems(text).sort()).toEqual(
      [
        ['policies.p.limits.0.window', 'notional needs a window'],
        ['policies.p.limits.0.quote', 'notional needs the quote asset(s) it counts'],
        ['policies.p.limits.1.window', 'openOrders counts orders open now and takes no window'],
        ['policies.p.limits.2', 'a limit has one measure, this one has notional and orders'],
        ['policies.p.limits.3.quote', 'quote only goes with notional'],
        ['policies.p.limits.3.asset', 'withdrawals needs the asset it counts'],
        [
          'policies.p.limits.4.per',
          'expected one of "agent", "account", "agent-account", "global", "wallet"',
        ],
        [
          'policies.p.limits.5',
          'a limit needs one measure: notional, orders, openOrders, withdrawals or transfers',
        ],
        ['policies.p.limits.4.accounts.0', 'account "nope" is not configured'],
      ].sort(),
    );
  });

  it('refuses an address book entry without an address, and bad labels', () => {
    const entry = 'cold: { asset: USDT, network: TRX, address: T1 }';
    expect(
      problems(HEAD.replace(entry, 'cold: { asset: usdt, network: TRX }')).map(([path]) => path),
    ).toEqual(['addressBook.cold.address', 'addressBook.cold.asset']);
    expect(problems(HEAD.replace(entry, 'Cold: { asset: USDT, network: TRX, address: T1 }'))).toEqual([
      [
        'addressBook.Cold',
        'invalid address book label name; use lowercase letters, digits, "_" and "-", starting with a letter',
      ],
    ]);
  });

  it('reads day ranges, lists and ranges that wrap past Saturday', () => {
    expect([...parseDays('mon-fri')]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseDays(['sat', 'sun'])]).toEqual([6, 0]);
    expect([...parseDays('fri-mon')]).toEqual([5, 6, 0, 1]);
  });
});
