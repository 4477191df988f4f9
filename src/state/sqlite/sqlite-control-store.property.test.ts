// Property: whatever operators do to an approval, in any order and at any time, the store's answers follow the
// rules: a vote counts only on a pending, unexpired approval with the right hash from an allowed operator who has not
// voted; `approved` is answered exactly once, when the distinct votes reach the quorum; a claim succeeds at most
// once, only on an approved, unexpired approval; nothing changes a denied, expired or executed approval.
import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { SqliteStateStore } from './sqlite-state-store.js';

const PAYLOAD = '{"order":{"symbol":"BTC/USDT"}}';
const HASH = createHash('sha256').update(PAYLOAD).digest('hex');
const OPERATORS = ['alice', 'bob', 'carol', 'dave'] as const;
const EXPIRES = 1_000;

const step = fc.oneof(
  fc.record({
    kind: fc.constant('approve' as const),
    operator: fc.constantFrom(...OPERATORS),
    rightHash: fc.boolean(),
    at: fc.integer({ min: 0, max: 1_200 }),
  }),
  fc.record({
    kind: fc.constant('deny' as const),
    operator: fc.constantFrom(...OPERATORS),
    at: fc.integer({ min: 0, max: 1_200 }),
  }),
  fc.record({ kind: fc.constant('claim' as const), at: fc.integer({ min: 0, max: 1_200 }) }),
);

describe('SqliteControlStore approval rules (property)', () => {
  it('holds for any sequence of approvals, denials and claims', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.subarray([...OPERATORS]),
        fc.array(step, { maxLength: 25 }),
        (required, approvers, steps) => {
          const store = new SqliteStateStore(':memory:');
          try {
            store.createApproval({
              requestId: 'r',
              agentId: 'bot',
              action: 'place_order',
              account: 'paper',
              payload: PAYLOAD,
              payloadHash: HASH,
              rule: 'rule',
              required,
              approvers,
              status: 'pending',
              approvals: [],
              decidedBy: undefined,
              comment: undefined,
              createdAt: new Date(0),
              expiresAt: new Date(EXPIRES),
              decidedAt: undefined,
            });
            // The model: what the store must answer.
            let status: 'pending' | 'approved' | 'denied' | 'expired' | 'executed' = 'pending';
            const voted = new Set<string>();
            for (const s of steps) {
              const expired = s.at >= EXPIRES;
              if (s.kind === 'approve') {
                const got = store.approve(
                  'r',
                  s.operator,
                  s.rightHash ? HASH : 'x'.repeat(64),
                  undefined,
                  new Date(s.at),
                );
                if (status === 'pending' && expired) status = 'expired';
                if (status !== 'pending') {
                  expect(got).toEqual({ outcome: 'refused', reason: status });
                } else if (approvers.length > 0 && !approvers.includes(s.operator)) {
                  expect(got).toEqual({ outcome: 'refused', reason: 'not-an-approver' });
                } else if (!s.rightHash) {
                  expect(got).toEqual({ outcome: 'refused', reason: 'hash-mismatch' });
                } else if (voted.has(s.operator)) {
                  expect(got).toEqual({ outcome: 'refused', reason: 'already-approved-by-you' });
                } else {
                  voted.add(s.operator);
                  if (voted.size >= required) {
                    status = 'approved';
                    expect(got).toEqual({ outcome: 'approved' });
                  } else {
                    expect(got).toEqual({ outcome: 'recorded', remaining: required - voted.size });
                  }
                }
              } else if (s.kind === 'deny') {
                const got = store.deny('r', s.operator, undefined, new Date(s.at));
                if (status === 'pending' && expired) status = 'expired';
                expect(got).toBe(status === 'pending');
                if (status === 'pending') status = 'denied';
              } else {
                const got = store.claimApprovedForExecution('r', new Date(s.at));
                expect(got).toBe(status === 'approved' && !expired);
                if (got) status = 'executed';
              }
              expect(store.approval('r')?.approvals.map((a) => a.operator)).toEqual([...voted]);
            }
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
