import { describe, expect, it } from 'vitest';

import type { RequestRecord, StateStore } from '../state-store.js';
import { type OpenStateStore, request, t, useStateStores } from './state-store-harness.js';

/**
 * The executable specification of {@link StateStore.listRequests} (issue 18: the operator's activity list and
 * charts): every filter alone and together, newest first with ties broken by request id, `since`/`before` bounds,
 * the limit, rows of other connections (another process or replica), and rows recorded this turn
 * (`recordFinished`) that are not written yet. Run against every store, like `exerciseStateStore`.
 */
export function exerciseRequestListing(name: string, open: OpenStateStore): void {
  describe(`StateStore.listRequests conformance: ${name}`, () => {
    const stores = useStateStores(open);
    const store = (): StateStore => stores.store();
    const ids = (records: readonly RequestRecord[]): string[] => records.map((r) => r.requestId);

    /** Six requests of two agents, two accounts, two actions, four statuses, created 1 s apart (r6 newest). */
    const seed = async (): Promise<void> => {
      const rows: RequestRecord[] = [
        { ...request('r1', 'k1', t(1_000)), status: 'executed' },
        { ...request('r2', 'k2', t(2_000)), agentId: 'bob', status: 'denied' },
        { ...request('r3', 'k3', t(3_000)), account: 'binance', status: 'failed' },
        { ...request('r4', 'k4', t(4_000)), status: 'pending_approval' },
        { ...request('r5', 'k5', t(5_000)), agentId: 'bob', account: 'binance', action: 'cancel_order' },
        { ...request('r6', 'k6', t(6_000)), status: 'executed' },
      ];
      for (const row of rows) await store().claimRequest(row);
    };

    it('lists every request newest first, at most `limit`', async () => {
      await seed();
      expect(ids(await store().listRequests({ limit: 100 }))).toEqual(['r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
      expect(ids(await store().listRequests({ limit: 2 }))).toEqual(['r6', 'r5']);
      expect(await store().listRequests({ limit: 1 })).toEqual([
        { ...request('r6', 'k6', t(6_000)), status: 'executed' },
      ]);
    });

    it('filters by agent, account, status and action, alone and together', async () => {
      await seed();
      const list = async (filter: Omit<Parameters<StateStore['listRequests']>[0], 'limit'>) =>
        ids(await store().listRequests({ ...filter, limit: 100 }));
      expect(await list({ agentId: 'bob' })).toEqual(['r5', 'r2']);
      expect(await list({ account: 'binance' })).toEqual(['r5', 'r3']);
      expect(await list({ status: 'executed' })).toEqual(['r6', 'r1']);
      expect(await list({ status: 'executing' })).toEqual(['r5']);
      expect(await list({ action: 'cancel_order' })).toEqual(['r5']);
      expect(await list({ agentId: 'alice', account: 'paper', status: 'executed' })).toEqual(['r6', 'r1']);
      expect(await list({ agentId: 'bob', account: 'paper' })).toEqual(['r2']);
      expect(await list({ agentId: 'nobody' })).toEqual([]);
    });

    it('bounds by creation: `since` inclusive, `before` exclusive, so pages do not overlap', async () => {
      await seed();
      expect(ids(await store().listRequests({ since: t(4_000), limit: 100 }))).toEqual(['r6', 'r5', 'r4']);
      expect(ids(await store().listRequests({ before: t(4_000), limit: 100 }))).toEqual(['r3', 'r2', 'r1']);
      expect(ids(await store().listRequests({ since: t(2_000), before: t(5_000), limit: 2 }))).toEqual([
        'r4',
        'r3',
      ]);
      const firstPage = await store().listRequests({ limit: 3 });
      const next = await store().listRequests({ before: firstPage.at(-1)?.createdAt, limit: 3 });
      expect(ids([...firstPage, ...next])).toEqual(['r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
    });

    it('orders requests created at the same instant by request id, newest-first order descending', async () => {
      for (const id of ['b', 'c', 'a']) await store().claimRequest(request(id, `k-${id}`, t(1_000)));
      expect(ids(await store().listRequests({ limit: 10 }))).toEqual(['c', 'b', 'a']);
    });

    it('shows what another connection wrote, with its finished state', async () => {
      await seed();
      const other = await stores.connect();
      await other.finishRequest('r5', {
        status: 'executed',
        response: '{"ok":1}',
        at: t(9_000),
        releaseKey: false,
      });
      expect(await store().listRequests({ status: 'executed', agentId: 'bob', limit: 10 })).toMatchObject([
        { requestId: 'r5', response: '{"ok":1}', updatedAt: t(9_000) },
      ]);
    });

    it('shows rows recorded this turn and not written yet', async () => {
      const finished: RequestRecord = {
        ...request('read-1', undefined, t(7_000)),
        action: 'get_balance',
        status: 'executed',
        response: '{"requestId":"read-1"}',
      };
      await store().recordFinished(finished);
      expect(await store().listRequests({ action: 'get_balance', limit: 10 })).toEqual([finished]);
    });
  });
}
