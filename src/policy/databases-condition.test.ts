import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import { RulePolicy } from './rule-policy.js';

// Issue 15: the `databases` condition of `connect_database` rules.
const CONFIG = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
databases:
  analytics: { type: postgres, host: db.internal, database: analytics, credentials: { username: 'local:db#u', password: 'local:db#p' }, listen: { port: 0 } }
  ledger: { type: postgres, host: db.internal, database: ledger, credentials: { username: 'local:db#u', password: 'local:db#p' }, listen: { port: 0 } }
policies:
  p:
    rules:
      - allow: [connect_database]
        databases: [analytics]
      - deny: [connect_database]
        databases: [ledger]
  any:
    rules:
      - allow: [connect_database]
        databases: ['*']
`;

const policy = (() => {
  const config = parseConfig(CONFIG, { sourcePath: 'c.yaml' });
  return new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    now: () => new Date('2026-06-01T11:00:00Z'),
  });
})();

const ask = (name: string, database: string | undefined) =>
  policy.decide({ agentId: 'bot', policy: name, action: 'connect_database', account: undefined, database });

describe('databases condition', () => {
  it('allows the databases a rule names, and only those', () => {
    expect(ask('p', 'analytics').decision).toBe('allow');
    const other = ask('p', 'payroll');
    expect(other.decision).toBe('deny');
    expect(other.rule).toBe('default-deny');
  });

  it('denies by a deny rule naming the database', () => {
    expect(ask('p', 'ledger')).toMatchObject({ decision: 'deny', rule: 'policies.p.rules[1]' });
  });

  it('takes * as every database, and does not hold for a question naming none', () => {
    expect(ask('any', 'payroll').decision).toBe('allow');
    expect(ask('any', undefined).decision).toBe('deny');
  });
});
