import { describe, expect, it } from 'vitest';

import type { PolicyAction } from '../config/config-schema.js';
import { parseConfig } from '../config/load-config.js';
import { RulePolicy } from './rule-policy.js';

// Issue 19: the `keys` and `purposes` conditions of encryption rules.
const CONFIG = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
encryptionKeys:
  notes: { type: embedded, secret: 'local:k1' }
  archive: { type: embedded, secret: 'local:k2' }
policies:
  p:
    rules:
      - allow: [encrypt, decrypt]
        keys: [notes]
        purposes: [journal, 'positions-*', 'day-??']
      - deny: [decrypt]
        keys: ['*']
        purposes: [audit]
      - allow: [decrypt]
        keys: ['*']
        purposes: [audit]
  any:
    rules:
      - allow: [encrypt, decrypt, generate_data_key]
        keys: ['*']
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

const ask = (name: string, action: PolicyAction, key: string, purpose: string) =>
  policy.decide({ agentId: 'bot', policy: name, action, account: undefined, encryption: { key, purpose } });

describe('encryption conditions', () => {
  it('allows the keys and purposes a rule names, exact or by glob', () => {
    for (const purpose of ['journal', 'positions-eu', 'positions-', 'day-01']) {
      expect({ purpose, decision: ask('p', 'encrypt', 'notes', purpose).decision }).toEqual({
        purpose,
        decision: 'allow',
      });
    }
  });

  it('denies another key or purpose, saying what the rule wants and what the request is', () => {
    const key = ask('p', 'encrypt', 'archive', 'journal');
    expect(key.decision).toBe('deny');
    expect(key.reason).toContain('only with encryption keys notes');
    expect(key.reason).toContain('not with key "archive"');
    for (const purpose of ['journals', 'positions', 'day-1', 'day-001']) {
      const answer = ask('p', 'encrypt', 'notes', purpose);
      expect({ purpose, decision: answer.decision }).toEqual({ purpose, decision: 'deny' });
      expect(answer.reason).toContain(`not for purpose "${purpose}"`);
    }
  });

  it('lets a deny rule with keys and purposes deny', () => {
    expect(ask('p', 'decrypt', 'archive', 'audit')).toMatchObject({
      decision: 'deny',
      rule: 'policies.p.rules[1]',
    });
  });

  it('takes * as every key, and does not hold for a question that is not an encryption action', () => {
    expect(ask('any', 'generate_data_key', 'archive', 'x').decision).toBe('allow');
    const notEncryption = policy.decide({
      agentId: 'bot',
      policy: 'any',
      action: 'encrypt',
      account: undefined,
    });
    expect(notEncryption.decision).toBe('deny');
  });
});
