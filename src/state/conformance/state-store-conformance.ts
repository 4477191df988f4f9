import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import type { AgentSessionRecord } from '../../identity/session-types.js';
import type { LimitCheck } from '../../policy/policy-types.js';
import { pendingApproval } from '../sqlite/testdata/pending-approval.js';
import type { AgentRecord, RequestRecord, RequestStatus, StateStore } from '../state-store.js';
import {
  eventually,
  failureOf,
  type OpenStateStore,
  request,
  t,
  useStateStores,
} from './state-store-harness.js';

export type { OpenedStateStore, OpenStateStore } from './state-store-harness.js';

const daily = (amount: string): LimitCheck => ({
  limit: 'policies.p.limits[0] (daily)',
  key: 'agent:alice:daily',
  measure: 'notional',
  windowMs: 3_600_000,
  cap: '100',
  amount,
});

/**
 * The executable specification of the request side of {@link StateStore} (state-store.ts): agents, idempotency
 * claims (also from two connections at once), finishing with and without the key, with a settlement in the same
 * transaction, rows recorded when finished, releasing, executing requests, retention, restoring what the audit log
 * proves, the audit horizon and replica bookkeeping. Registers vitest `describe` blocks that every store passes —
 * SQLite and PostgreSQL — awaiting every call, so a store may answer with values or promises.
 */
export function exerciseStateStore(name: string, open: OpenStateStore): void {
  describe(`StateStore conformance: ${name}`, () => {
    const stores = useStateStores(open);
    const store = (): StateStore => stores.store();

    describe('agents', () => {
      const agent: AgentRecord = {
        id: 'bot',
        policy: 'trader',
        tokenId: 'tid',
        tokenHash: Buffer.alloc(32, 7),
        createdAt: t(1),
        expiresAt: t(2),
        revokedAt: undefined,
      };

      it('keeps an agent by token id, refuses a duplicate id, and revokes once', async () => {
        await store().addAgent(agent);
        expect(await store().agentByTokenId('tid')).toEqual(agent);
        expect(await store().agentByTokenId('nope')).toBeUndefined();
        const duplicate = await failureOf(() => store().addAgent({ ...agent, tokenId: 'tid2' }));
        expect(isCofreError(duplicate, 'COFRE_AGENT_EXISTS')).toBe(true);
        await store().addAgent({ ...agent, id: 'another', tokenId: 'tid3' });
        await store().addAgent({ ...agent, id: 'Zulu', tokenId: 'tid4' });
        expect(await store().revokeAgent('bot', t(5))).toBe(true);
        expect(await store().revokeAgent('bot', t(6))).toBe(false);
        expect(await store().revokeAgent('nobody', t(6))).toBe(false);
        // Ordered by id byte-wise, whatever the database's locale: capitals first.
        expect((await store().listAgents()).map((a) => [a.id, a.revokedAt])).toEqual([
          ['Zulu', undefined],
          ['another', undefined],
          ['bot', t(5)],
        ]);
      });
    });

    describe('agent sessions (issue 17)', () => {
      const session = (
        tokenId: string,
        agentId: string,
        at: number,
        more: Partial<AgentSessionRecord> = {},
      ): AgentSessionRecord => ({
        tokenId,
        tokenHash: Buffer.alloc(32, 3),
        agentId,
        policy: 'trader',
        kind: 'exchange',
        onBehalfOf: [],
        ancestors: [],
        grants: undefined,
        subject: 'https://issuer.example system:serviceaccount:ns:bot',
        createdAt: t(at),
        expiresAt: t(at + 10),
        revokedAt: undefined,
        ...more,
      });

      it('keeps sessions by token id, across connections, with their chain and grants', async () => {
        const child = session('child', 'bot/scan', 2, {
          kind: 'delegation',
          onBehalfOf: ['bot'],
          ancestors: [
            { kind: 'session', tokenId: 'parent' },
            { kind: 'agent', tokenId: 'root' },
          ],
          grants: '[{"tokenId":"child","actions":["get_balance"]}]',
          subject: undefined,
        });
        await store().addAgentSession(session('parent', 'bot', 1));
        await store().addAgentSession(child);
        const other = await stores.connect();
        const found = await other.agentSessions(['child', 'parent', 'missing', 'child']);
        expect([...found].sort((a, b) => a.tokenId.localeCompare(b.tokenId))).toEqual([
          child,
          session('parent', 'bot', 1),
        ]);
        expect(await other.agentSessions([])).toEqual([]);
      });

      it('lists live sessions newest first, revokes one or all of an agent, and deletes expired ones', async () => {
        await store().addAgentSession(session('a', 'bot', 1));
        await store().addAgentSession(session('b', 'bot', 3));
        await store().addAgentSession(session('c', 'other', 2));
        expect((await store().listAgentSessions({ now: t(4) })).map((s) => s.tokenId)).toEqual([
          'b',
          'c',
          'a',
        ]);
        expect(
          (await store().listAgentSessions({ agentId: 'bot', now: t(12) })).map((s) => s.tokenId),
        ).toEqual(['b']);
        expect(await store().revokeAgentSession('a', t(5))).toBe(true);
        expect(await store().revokeAgentSession('a', t(6))).toBe(false);
        expect(await store().revokeAgentSession('nope', t(6))).toBe(false);
        expect((await store().agentSessions(['a']))[0]?.revokedAt).toEqual(t(5));
        // Its delegated sub-agents go with it; an agent whose id merely starts alike (bot_2, bots/x) does not.
        await store().addAgentSession(
          session('d', 'bot/scout', 3, { kind: 'delegation', onBehalfOf: ['bot'] }),
        );
        await store().addAgentSession(session('e', 'bot_2', 3));
        await store().addAgentSession(
          session('f', 'bots/x', 3, { kind: 'delegation', onBehalfOf: ['bots'] }),
        );
        expect(await store().revokeAgentSessionsOf('bot', t(7))).toBe(2);
        expect((await store().listAgentSessions({ now: t(8) })).map((s) => s.tokenId).sort()).toEqual([
          'c',
          'e',
          'f',
        ]);
        await store().revokeAgentSessionsOf('bot_2', t(8));
        await store().revokeAgentSessionsOf('bots', t(8));
        expect(await store().deleteExpiredAgentSessions(t(13))).toBe(2);
        expect((await store().agentSessions(['a', 'b', 'c'])).map((s) => s.tokenId)).toEqual(['b']);
      });
    });

    describe('requests', () => {
      it('lets exactly one claim win a key, and hands the loser the winner', async () => {
        expect(await store().claimRequest(request('r1', 'alice:paper:c1'))).toEqual({ claimed: true });
        const lost = await store().claimRequest(request('r2', 'alice:paper:c1'));
        expect(lost).toEqual({ claimed: false, existing: request('r1', 'alice:paper:c1') });
        expect(await store().request('r2')).toBeUndefined();
        // Requests without a key never collide.
        expect(await store().claimRequest(request('r3', undefined))).toEqual({ claimed: true });
        expect(await store().claimRequest(request('r4', undefined))).toEqual({ claimed: true });
      });

      it('sees a key claimed through another connection', async () => {
        const other = await stores.connect();
        expect(await other.claimRequest(request('r1', 'alice:paper:c1'))).toEqual({ claimed: true });
        expect((await store().claimRequest(request('r2', 'alice:paper:c1'))).claimed).toBe(false);
      });

      it('of many claims of one key made at once from two connections, exactly one wins', async () => {
        const other = await stores.connect();
        const claims = await Promise.all(
          Array.from({ length: 20 }, async (_, i) =>
            (i % 2 === 0 ? store() : other).claimRequest(request(`r${i}`, 'alice:paper:same')),
          ),
        );
        const winners = claims.flatMap((c, i) => (c.claimed ? [`r${i}`] : []));
        expect(winners).toHaveLength(1);
        for (const c of claims) if (!c.claimed) expect(c.existing.requestId).toBe(winners[0]);
      });

      it('keeps the key of a finished request unless told to give it back', async () => {
        await store().claimRequest(request('r1', 'alice:paper:c1'));
        await store().finishRequest('r1', {
          status: 'executed',
          response: '{"ok":1}',
          at: t(2_000),
          releaseKey: false,
        });
        expect(await store().request('r1')).toMatchObject({
          status: 'executed',
          response: '{"ok":1}',
          idempotencyKey: 'alice:paper:c1',
          updatedAt: t(2_000),
        });
        expect((await store().claimRequest(request('r2', 'alice:paper:c1'))).claimed).toBe(false);

        await store().claimRequest(request('r3', 'alice:paper:c2'));
        await store().finishRequest('r3', {
          status: 'failed',
          response: '{"no":1}',
          at: t(2_000),
          releaseKey: true,
        });
        // The request stays readable; only its key is free again.
        expect(await store().request('r3')).toMatchObject({ status: 'failed', idempotencyKey: undefined });
        expect(await store().claimRequest(request('r4', 'alice:paper:c2'))).toEqual({ claimed: true });
      });

      it('releases only a request still executing', async () => {
        await store().claimRequest(request('r1', 'k1'));
        await store().claimRequest(request('r2', 'k2'));
        await store().finishRequest('r2', {
          status: 'executed',
          response: '{}',
          at: t(2_000),
          releaseKey: false,
        });
        await store().releaseRequest('r1');
        await store().releaseRequest('r2');
        expect(await store().request('r1')).toBeUndefined();
        expect((await store().request('r2'))?.status).toBe('executed');
        // A released key is free.
        expect(await store().claimRequest(request('r3', 'k1'))).toEqual({ claimed: true });
      });

      it('resumes only a request pending approval', async () => {
        await store().claimRequest({ ...request('p', 'k1'), status: 'pending_approval' });
        await store().claimRequest(request('e', 'k2'));
        expect(await store().resumeRequest('p', t(3_000))).toBe(true);
        expect(await store().request('p')).toMatchObject({ status: 'executing', updatedAt: t(3_000) });
        expect(await store().resumeRequest('p', t(3_001))).toBe(false);
        expect(await store().resumeRequest('e', t(3_001))).toBe(false);
        expect(await store().resumeRequest('none', t(3_001))).toBe(false);
      });

      it('lists requests left executing before a time, oldest first', async () => {
        await store().claimRequest(request('late', 'k1', t(5_000)));
        await store().claimRequest(request('early', 'k2', t(1_000)));
        await store().claimRequest(request('done', 'k3', t(500)));
        await store().finishRequest('done', {
          status: 'executed',
          response: '{}',
          at: t(600),
          releaseKey: false,
        });
        expect((await store().executingRequests(t(10_000))).map((r) => r.requestId)).toEqual([
          'early',
          'late',
        ]);
        expect((await store().executingRequests(t(5_000))).map((r) => r.requestId)).toEqual(['early']);
      });
    });

    describe('finishing with a settlement', () => {
      const used = async (at: Date): Promise<string | undefined> =>
        (await store().usage([{ key: 'agent:alice:daily', windowMs: 3_600_000 }], at)).get(
          'agent:alice:daily',
        );

      it('records the outcome and ends the reservation together: committed spend counts, the reservation is gone', async () => {
        const at = t(10_000);
        await store().claimRequest(request('r1', 'alice:paper:c1'));
        expect(await store().reserve('r1', [daily('40')], at)).toEqual({ ok: true });
        await store().finishRequest('r1', {
          status: 'executed',
          response: '{}',
          at,
          releaseKey: false,
          settlement: { kind: 'commit', at, actual: new Map([['agent:alice:daily', '30']]) },
        });
        expect((await store().request('r1'))?.status).toBe('executed');
        expect(await store().reservedRequests()).toEqual([]);
        expect(await used(at)).toBe('30');
      });

      it('changes nothing when the settlement cannot be made: the request stays executing, its reservation held', async () => {
        const at = t(10_000);
        await store().claimRequest(request('r1', 'alice:paper:c1'));
        await store().reserve('r1', [daily('40')], at);
        const failed = await failureOf(() =>
          store().finishRequest('r1', {
            status: 'executed',
            response: '{}',
            at,
            releaseKey: false,
            settlement: { kind: 'commit', at, actual: new Map([['agent:alice:daily', 'not a number']]) },
          }),
        );
        expect(failed).toBeInstanceOf(Error);
        expect((await store().request('r1'))?.status).toBe('executing');
        expect(await store().reservedRequests()).toEqual(['r1']);
      });
    });

    describe('rows recorded when finished', () => {
      const finished = (id: string): RequestRecord => ({
        ...request(id, undefined),
        action: 'get_balance',
        status: 'executed',
        response: `{"requestId":"${id}"}`,
      });

      it('shows each row at once, and writes them all', async () => {
        const other = await stores.connect();
        for (let i = 0; i < 20; i++) await store().recordFinished(finished(`r${i}`));
        expect(await store().request('r7')).toEqual(finished('r7')); // seen before it is written
        await eventually(async () => (await other.request('r19')) !== undefined);
        for (let i = 0; i < 20; i++) expect(await other.request(`r${i}`)).toEqual(finished(`r${i}`));
      });

      it('writes what is pending when closed, and refuses a row that holds an idempotency key', async () => {
        const first = await stores.connect();
        await first.recordFinished(finished('r1'));
        const refused = await failureOf(() =>
          first.recordFinished({ ...finished('r2'), idempotencyKey: 'alice:paper:c1' }),
        );
        expect((refused as Error).message).toMatch(/claimed/);
        await first.close();
        const reopened = await stores.connect();
        expect(await reopened.request('r1')).toMatchObject({ status: 'executed' });
        expect(await reopened.request('r2')).toBeUndefined();
      });
    });

    describe('retention (pruneRequests)', () => {
      /** Claims a request at `at` and leaves it in `status` (finished at `at` too). */
      async function add(id: string, status: RequestStatus, at: Date): Promise<void> {
        const record: RequestRecord = {
          ...request(id, `alice:paper:${id}`, at),
          input: '{}',
          status: status === 'pending_approval' ? 'pending_approval' : 'executing',
        };
        expect(await store().claimRequest(record)).toEqual({ claimed: true });
        if (status !== 'executing' && status !== 'pending_approval') {
          await store().finishRequest(id, { status, response: '{}', at, releaseKey: false });
        }
      }

      it('deletes finished requests older than the cut-off and keeps everything else', async () => {
        await add('old-executed', 'executed', t(0));
        await add('old-denied', 'denied', t(1));
        await add('old-failed', 'failed', t(2));
        await add('old-executing', 'executing', t(3));
        await add('old-pending', 'pending_approval', t(4));
        await add('old-reserved', 'executed', t(5));
        expect(
          await store().reserve(
            'old-reserved',
            [{ limit: 'l', key: 'k', measure: 'notional', windowMs: 60_000, cap: '10', amount: '1' }],
            t(5),
          ),
        ).toEqual({ ok: true });
        await add('new-executed', 'executed', t(100));

        expect(await store().pruneRequests(t(100), 100)).toBe(3);
        for (const gone of ['old-executed', 'old-denied', 'old-failed'])
          expect(await store().request(gone)).toBeUndefined();
        for (const kept of ['old-executing', 'old-pending', 'old-reserved', 'new-executed']) {
          expect((await store().request(kept))?.requestId).toBe(kept);
        }
        // A pruned request's idempotency key is free again: a replay older than the retention runs as a new request.
        expect(
          await store().claimRequest({
            ...request('again', 'alice:paper:old-executed', t(200)),
            input: '{}',
          }),
        ).toEqual({ claimed: true });
      });

      it('deletes at most `limit` per call, oldest first', async () => {
        for (let i = 0; i < 5; i++) await add(`r${i}`, 'executed', t(10 - i));
        expect(await store().pruneRequests(t(100), 2)).toBe(2);
        expect(await store().request('r4')).toBeUndefined(); // t(6), the oldest
        expect(await store().request('r3')).toBeUndefined(); // t(7)
        expect((await store().request('r2'))?.requestId).toBe('r2');
        expect(await store().pruneRequests(t(100), 2)).toBe(2);
        expect(await store().pruneRequests(t(100), 2)).toBe(1);
        expect(await store().pruneRequests(t(100), 2)).toBe(0);
      });
    });

    describe('restoreRequest', () => {
      it('puts back a lost request as executing, with its key and its reservation whatever the caps say', async () => {
        // The cap is already spent: a restore counts what was sent anyway.
        await store().claimRequest(request('other', 'k-other'));
        expect(await store().reserve('other', [daily('100')], t(1_000))).toEqual({ ok: true });
        const lost = request('lost', 'alice:paper:lost');
        expect(await store().restoreRequest(lost, [daily('40')], t(1_000))).toEqual({ outcome: 'restored' });
        expect(await store().request('lost')).toEqual(lost);
        expect([...(await store().reservedRequests())].sort()).toEqual(['lost', 'other']);
        expect((await store().claimRequest(request('replay', 'alice:paper:lost'))).claimed).toBe(false);
        expect((await store().executingRequests(t(5_000))).map((r) => r.requestId)).toContain('lost');
      });

      it('changes nothing when the row is there, or when another request holds the key', async () => {
        await store().claimRequest(request('r1', 'k1'));
        await store().finishRequest('r1', {
          status: 'executed',
          response: '{}',
          at: t(2_000),
          releaseKey: false,
        });
        expect(await store().restoreRequest(request('r1', 'k1'), [daily('1')], t(3_000))).toEqual({
          outcome: 'exists',
        });
        expect((await store().request('r1'))?.status).toBe('executed');
        expect(await store().restoreRequest(request('r2', 'k1'), [daily('1')], t(3_000))).toEqual({
          outcome: 'key-held',
          by: 'r1',
        });
        expect(await store().request('r2')).toBeUndefined();
        expect(await store().reservedRequests()).toEqual([]);
      });

      it('moves a request pending approval to executing and its approval to executed, so it cannot run twice', async () => {
        await store().claimRequest({ ...request('p', 'kp'), status: 'pending_approval' });
        await store().createApproval(pendingApproval('p'));
        const restored = await store().restoreRequest(
          { ...request('p', 'kp'), updatedAt: t(4_000) },
          [],
          t(4_000),
        );
        expect(restored).toEqual({ outcome: 'resumed' });
        expect(await store().request('p')).toMatchObject({ status: 'executing', updatedAt: t(4_000) });
        expect((await store().approval('p'))?.status).toBe('executed');
        expect(await store().claimApprovedForExecution('p', t(4_001))).toBe(false);
      });

      it('restores once when two connections restore the same request at once', async () => {
        const other = await stores.connect();
        const lost = request('lost', 'alice:paper:lost');
        const results = await Promise.all([
          store().restoreRequest(lost, [daily('10')], t(1_000)),
          other.restoreRequest(lost, [daily('10')], t(1_000)),
        ]);
        expect(results.map((r) => r.outcome).sort()).toEqual(['exists', 'restored']);
        const used = await store().usage([{ key: 'agent:alice:daily', windowMs: 3_600_000 }], t(1_000));
        expect(used.get('agent:alice:daily')).toBe('10');
      });
    });

    describe('audit horizon', () => {
      it('holds none at first, then the last one set', async () => {
        expect(await store().auditHorizon()).toBeUndefined();
        const first = { seq: 7, hash: 'a'.repeat(64), ino: '123456789012', offset: 4_096, at: t(1) };
        await store().setAuditHorizon(first);
        expect(await store().auditHorizon()).toEqual(first);
        // Past 2^32: offsets and sequence numbers of a long-lived log.
        const second = { seq: 2 ** 40, hash: 'b'.repeat(64), ino: '9', offset: 2 ** 41, at: t(2) };
        await store().setAuditHorizon(second);
        expect(await (await stores.connect()).auditHorizon()).toEqual(second);
      });
    });

    describe('replicas', () => {
      it('has a replica id, and adopts nothing of its own', async () => {
        expect(store().replicaId).toMatch(/\S/);
        await store().claimRequest(request('mine', 'k1'));
        await store().heartbeat(t(0));
        expect(await store().adoptOrphans(t(1_000_000), t(1_000_000))).toEqual([]);
        expect((await store().request('mine'))?.status).toBe('executing');
      });
    });
  });
}
