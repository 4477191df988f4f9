import { afterEach, describe, expect, it } from 'vitest';

import { request, t } from '../state/conformance/state-store-harness.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { newestFirstPage, requestSummary } from './operator-views.js';

const stores: SqliteStateStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function storeWith(times: readonly number[]): SqliteStateStore {
  const store = new SqliteStateStore(':memory:');
  stores.push(store);
  times.forEach((ms, i) => store.claimRequest(request(`r${String(i).padStart(2, '0')}`, `k${i}`, t(ms))));
  return store;
}

/** Every request id, page after page of `limit`. */
async function pageThrough(store: SqliteStateStore, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let before: Date | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await newestFirstPage(store, before === undefined ? {} : { before }, limit);
    seen.push(...page.rows.map((r) => r.requestId));
    if (page.nextBefore === null) return seen;
    before = page.nextBefore;
  }
  throw new Error('paging did not end');
}

describe('newestFirstPage', () => {
  it('pages through requests created in the same millisecond without losing or repeating one', async () => {
    // Regression: paging by "created strictly before the last one shown" skipped the rest of that millisecond.
    const store = storeWith([1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 5, 6]);
    const all = store.listRequests({ limit: 100 }).map((r) => r.requestId);
    for (const limit of [1, 2, 3, 5, 100]) expect(await pageThrough(store, limit)).toEqual(all);
    // A page stays within its limit unless one millisecond alone holds more.
    expect((await newestFirstPage(store, {}, 3)).rows.map((r) => r.requestId)).toEqual(['r11']);
    expect((await newestFirstPage(store, { before: t(6) }, 2)).rows).toHaveLength(4);
  });

  it('says there is no next page when the last one is full to the brim', async () => {
    const store = storeWith([1, 2, 3, 4]);
    expect((await newestFirstPage(store, {}, 4)).nextBefore).toBeNull();
    expect((await newestFirstPage(store, {}, 3)).nextBefore).toEqual(t(2));
  });
});

describe('requestSummary', () => {
  it('takes the rule, the reason and the error code from the stored answer', () => {
    const failed = {
      ...request('r1', undefined),
      status: 'failed' as const,
      response: JSON.stringify({
        status: 'failed',
        error: { code: 'COFRE_VENUE_ERROR', message: 'venue said no' },
      }),
    };
    expect(requestSummary(failed)).toMatchObject({
      rule: null,
      reason: 'venue said no',
      errorCode: 'COFRE_VENUE_ERROR',
    });
    const denied = { ...failed, status: 'denied' as const, response: '{"rule":"r (x)","reason":"too big"}' };
    expect(requestSummary(denied)).toMatchObject({ rule: 'r (x)', reason: 'too big', errorCode: null });
    expect(requestSummary({ ...failed, response: undefined })).toMatchObject({ rule: null, reason: null });
  });
});
