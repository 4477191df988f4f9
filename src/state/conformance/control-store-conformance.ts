import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { pendingApproval, TEST_PAYLOAD_HASH } from '../sqlite/testdata/pending-approval.js';
import type { StateStore } from '../state-store.js';
import { failureOf, type OpenStateStore, useStateStores } from './state-store-harness.js';

const at = (ms: number): Date => new Date(ms);

/**
 * The executable specification of {@link ControlStore} (control-store.ts): operators, every refusal of `approve`,
 * the quorum, denial, expiry, exactly-once claims (also from two connections at once), the halt across a reopen,
 * and a property test of the approval rules against a model (`propertyRuns` of it, default 300). Every call is
 * awaited, so a store may answer with values (SQLite) or promises (PostgreSQL).
 */
export function exerciseControlStore(
  name: string,
  open: OpenStateStore,
  options: { readonly propertyRuns?: number } = {},
): void {
  describe(`ControlStore conformance: ${name}`, () => {
    const stores = useStateStores(open);
    const store = (): StateStore => stores.store();

    describe('operators', () => {
      it('keeps operators in their own table, refuses a duplicate id and revokes once', async () => {
        const operator = {
          id: 'alice',
          tokenId: 'tid',
          tokenHash: Buffer.alloc(32, 1),
          createdAt: at(1),
          expiresAt: at(2),
          revokedAt: undefined,
        };
        await store().addOperator(operator);
        expect(await store().operatorByTokenId('tid')).toEqual(operator);
        expect(await store().operatorByTokenId('nope')).toBeUndefined();
        expect(await store().listAgents()).toEqual([]);
        const duplicate = await failureOf(() => store().addOperator({ ...operator, tokenId: 'tid2' }));
        expect(isCofreError(duplicate, 'COFRE_OPERATOR_EXISTS')).toBe(true);
        expect(await store().revokeOperator('alice', at(5))).toBe(true);
        expect(await store().revokeOperator('alice', at(6))).toBe(false);
        expect(await store().revokeOperator('nobody', at(6))).toBe(false);
        expect((await store().listOperators()).map((o) => [o.id, o.revokedAt])).toEqual([['alice', at(5)]]);
      });
    });

    describe('approvals', () => {
      it('reads an approval back as created, votes included', async () => {
        const record = pendingApproval('r1', { approvers: ['alice', 'bob'], required: 2 });
        await store().createApproval(record);
        expect(await store().approval('r1')).toEqual(record);
        expect(await store().approval('nope')).toBeUndefined();
        const voted = pendingApproval('r2', {
          required: 3,
          approvals: [
            { operator: 'carol', at: at(1_500), comment: 'first' },
            { operator: 'alice', at: at(1_600), comment: undefined },
          ],
        });
        await store().createApproval(voted);
        expect(await store().approval('r2')).toEqual(voted);
      });

      it("refuses to store an approval whose hash is not its payload's", async () => {
        const refused = await failureOf(() =>
          store().createApproval(pendingApproval('r1', { payload: '{"order":{"symbol":"ETH/USDT"}}' })),
        );
        expect(isCofreError(refused, 'COFRE_INTERNAL')).toBe(true);
        expect(await store().approval('r1')).toBeUndefined();
      });

      it('approves with one vote when one is required, and then only once', async () => {
        await store().createApproval(pendingApproval('r1'));
        expect(await store().approve('r1', 'alice', TEST_PAYLOAD_HASH, 'ok', at(2_000))).toEqual({
          outcome: 'approved',
        });
        expect(await store().approval('r1')).toMatchObject({
          status: 'approved',
          decidedBy: 'alice',
          comment: 'ok',
          decidedAt: at(2_000),
          approvals: [{ operator: 'alice', at: at(2_000), comment: 'ok' }],
        });
        expect(await store().approve('r1', 'bob', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
          outcome: 'refused',
          reason: 'approved',
        });
      });

      it('needs the quorum of distinct named approvers', async () => {
        await store().createApproval(
          pendingApproval('r1', { required: 2, approvers: ['alice', 'bob', 'carol'] }),
        );
        expect(await store().approve('r1', 'mallory', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
          outcome: 'refused',
          reason: 'not-an-approver',
        });
        expect(await store().approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
          outcome: 'recorded',
          remaining: 1,
        });
        expect(await store().approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
          outcome: 'refused',
          reason: 'already-approved-by-you',
        });
        expect((await store().approval('r1'))?.status).toBe('pending');
        expect(await store().approve('r1', 'carol', TEST_PAYLOAD_HASH, 'second', at(2_002))).toEqual({
          outcome: 'approved',
        });
        expect((await store().approval('r1'))?.approvals.map((a) => a.operator)).toEqual(['alice', 'carol']);
      });

      it('refuses a payload hash other than the stored one, and counts no vote for it', async () => {
        await store().createApproval(pendingApproval('r1'));
        expect(await store().approve('r1', 'alice', 'b'.repeat(64), undefined, at(2_000))).toEqual({
          outcome: 'refused',
          reason: 'hash-mismatch',
        });
        expect(await store().approval('r1')).toMatchObject({ status: 'pending', approvals: [] });
      });

      it('refuses an unknown, expired, denied or executed approval', async () => {
        expect(await store().approve('none', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
          outcome: 'refused',
          reason: 'not-found',
        });
        expect(await store().deny('none', 'alice', undefined, at(2_000))).toBe(false);
        await store().createApproval(pendingApproval('late'));
        expect(await store().approve('late', 'alice', TEST_PAYLOAD_HASH, undefined, at(60_000))).toEqual({
          outcome: 'refused',
          reason: 'expired',
        });
        expect((await store().approval('late'))?.status).toBe('expired');
        expect(await store().deny('late', 'alice', undefined, at(60_001))).toBe(false);

        await store().createApproval(pendingApproval('no'));
        expect(await store().deny('no', 'bob', 'too big', at(2_000))).toBe(true);
        expect(await store().approval('no')).toMatchObject({
          status: 'denied',
          decidedBy: 'bob',
          comment: 'too big',
        });
        expect(await store().deny('no', 'bob', undefined, at(2_001))).toBe(false);
        expect(await store().approve('no', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
          outcome: 'refused',
          reason: 'denied',
        });
        expect(await store().claimApprovedForExecution('no', at(2_002))).toBe(false);

        await store().createApproval(pendingApproval('done'));
        await store().approve('done', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000));
        expect(await store().claimApprovedForExecution('done', at(2_001))).toBe(true);
        expect(await store().claimApprovedForExecution('done', at(2_001))).toBe(false);
        expect((await store().approval('done'))?.status).toBe('executed');
        expect(await store().approve('done', 'bob', TEST_PAYLOAD_HASH, undefined, at(2_002))).toEqual({
          outcome: 'refused',
          reason: 'executed',
        });
      });

      it('claims only an approved request, and not after its expiry', async () => {
        await store().createApproval(pendingApproval('waiting'));
        expect(await store().claimApprovedForExecution('waiting', at(2_000))).toBe(false);
        await store().createApproval(pendingApproval('stale'));
        await store().approve('stale', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000));
        expect(await store().claimApprovedForExecution('stale', at(60_000))).toBe(false);
        expect((await store().approval('stale'))?.status).toBe('approved');
      });

      it('lists pending first, newest first, reporting expired ones as expired, and filters', async () => {
        await store().createApproval(pendingApproval('old', { createdAt: at(1_000) }));
        await store().createApproval(pendingApproval('new', { createdAt: at(3_000) }));
        await store().createApproval(pendingApproval('gone', { createdAt: at(4_000), expiresAt: at(5_000) }));
        await store().createApproval(pendingApproval('denied', { createdAt: at(5_000) }));
        await store().deny('denied', 'bob', undefined, at(5_500));
        const now = at(6_000);
        expect((await store().listApprovals(now)).map((a) => [a.requestId, a.status])).toEqual([
          ['new', 'pending'],
          ['old', 'pending'],
          ['denied', 'denied'],
          ['gone', 'expired'],
        ]);
        expect((await store().listApprovals(now, 'pending')).map((a) => a.requestId)).toEqual(['new', 'old']);
        expect((await store().listApprovals(now, 'expired')).map((a) => a.requestId)).toEqual(['gone']);
        expect((await store().listApprovals(at(4_500), 'pending')).map((a) => a.requestId)).toEqual([
          'gone',
          'new',
          'old',
        ]);
      });

      it('of two operators approving at once on two connections, one reaches the quorum; of two claims, one wins', async () => {
        const other = await stores.connect();
        const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
        for (const id of ids) await store().createApproval(pendingApproval(id, { required: 2 }));
        const race = async (
          s: StateStore,
          operator: string,
        ): Promise<{ approved: string[]; claimed: string[] }> => {
          const approved: string[] = [];
          const claimed: string[] = [];
          await Promise.all(
            ids.map(async (id) => {
              const result = await s.approve(id, operator, TEST_PAYLOAD_HASH, undefined, at(2_000));
              if (result.outcome === 'approved') approved.push(id);
            }),
          );
          await Promise.all(
            ids.map(async (id) => {
              if (await s.claimApprovedForExecution(id, at(2_001))) claimed.push(id);
            }),
          );
          return { approved, claimed };
        };
        const results = await Promise.all([race(store(), 'alice'), race(other, 'bob')]);
        expect(results.flatMap((r) => r.approved).sort()).toEqual([...ids].sort());
        expect(results.flatMap((r) => r.claimed).sort()).toEqual([...ids].sort());
        for (const id of ids) {
          const approval = await store().approval(id);
          expect(approval?.status).toBe('executed');
          expect(approval?.approvals).toHaveLength(2);
        }
      });

      it('follows the approval rules for any sequence of approvals, denials and claims (property)', async () => {
        await approvalRulesProperty(store(), options.propertyRuns ?? 300);
      });
    });

    describe('halt', () => {
      it('persists the halt across a reopen, and clears it once', async () => {
        const first = await stores.connect();
        expect(await first.halted()).toBeUndefined();
        await first.setHalt({ reason: 'incident 42', by: 'alice', at: at(7_000) });
        await first.setHalt({ reason: 'incident 43', by: 'bob', at: at(8_000) });
        await first.close();
        const reopened = await stores.connect();
        expect(await reopened.halted()).toEqual({ reason: 'incident 43', by: 'bob', at: at(8_000) });
        expect(await store().clearHalt()).toBe(true);
        expect(await store().clearHalt()).toBe(false);
        expect(await reopened.halted()).toBeUndefined();
      });
    });
  });
}

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

/**
 * Property: whatever operators do to an approval, in any order and at any time, the store's answers follow the
 * rules: a vote counts only on a pending, unexpired approval with the right hash from an allowed operator who has
 * not voted; `approved` is answered exactly once, when the distinct votes reach the quorum; a claim succeeds at most
 * once, only on an approved, unexpired approval; nothing changes a denied, expired or executed approval. Each run
 * uses its own approval in `store`.
 */
async function approvalRulesProperty(store: StateStore, numRuns: number): Promise<void> {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.subarray([...OPERATORS]),
      fc.array(step, { maxLength: 25 }),
      async (required, approvers, steps) => {
        const id = `prop-${run++}`;
        await store.createApproval({
          requestId: id,
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
            const got = await store.approve(
              id,
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
            const got = await store.deny(id, s.operator, undefined, new Date(s.at));
            if (status === 'pending' && expired) status = 'expired';
            expect(got).toBe(status === 'pending');
            if (status === 'pending') status = 'denied';
          } else {
            const got = await store.claimApprovedForExecution(id, new Date(s.at));
            expect(got).toBe(status === 'approved' && !expired);
            if (got) status = 'executed';
          }
          expect((await store.approval(id))?.approvals.map((a) => a.operator)).toEqual([...voted]);
        }
      },
    ),
    { numRuns },
  );
}
