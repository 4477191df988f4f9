import { describe, expect, it } from 'vitest';

import { canonicalJson, policyHash } from './policy-hash.js';

describe('policyHash', () => {
  it('does not depend on key order, and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
    expect(policyHash({ x: 1, y: 2 }, {})).toBe(policyHash({ y: 2, x: 1 }, {}));
    expect(policyHash({ rules: [1, 2] }, {})).not.toBe(policyHash({ rules: [2, 1] }, {}));
  });

  it('is the SHA-256 of the canonical text of policy and address book', () => {
    // Pinned: an audit line recorded today must still match the same policy text after an upgrade.
    expect(policyHash({ accounts: ['a'], actions: ['get_balance'] }, {})).toBe(
      '03270d96991c3034993564a07fd25a7c587a7376adac76404bd436f374a2ed7a',
    );
  });
});
