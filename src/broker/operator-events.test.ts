import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { pendingApproval } from '../state/sqlite/testdata/pending-approval.js';
import type { OperatorEventJson } from '../surfaces/http/operator-api-types.js';
import { OperatorEvents } from './operator-events.js';

const stores: SqliteStateStore[] = [];
const hubs: OperatorEvents[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
  for (const store of stores.splice(0)) store.close();
});

function hub(now = new Date(2_000)) {
  const store = new SqliteStateStore(':memory:');
  stores.push(store);
  let polls = 0;
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'halted') polls += 1;
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const events = new OperatorEvents({
    store: counted,
    verification: () => null,
    now: () => now,
    pollMs: 10,
    pingMs: 30,
  });
  hubs.push(events);
  return { store, events, polls: () => polls };
}

/** Collects what a listener hears, and waits for an event that passes a check. */
function listen(events: OperatorEvents) {
  const heard: OperatorEventJson[] = [];
  const stop = events.subscribe((e) => heard.push(e));
  const until = async (check: (e: OperatorEventJson) => boolean): Promise<OperatorEventJson> => {
    for (let i = 0; i < 500; i++) {
      const found = heard.find(check);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`not heard; heard ${JSON.stringify(heard)}`);
  };
  return { heard, stop, until };
}

describe('OperatorEvents', () => {
  it('sends a snapshot first, then only what changed, and pings', async () => {
    const { store, events } = hub();
    const a = listen(events);
    await a.until((e) => e.event === 'requests');
    expect(a.heard.map((e) => e.event)).toEqual(['approvals', 'halt', 'requests']);
    expect(a.heard[0]).toEqual({ event: 'approvals', data: { pending: 0 } });
    store.createApproval(pendingApproval('r1'));
    await a.until((e) => e.event === 'approvals' && e.data.pending === 1);
    store.setHalt({ reason: 'drill', by: 'alice', at: new Date(1_500) });
    const halt = await a.until((e) => e.event === 'halt' && e.data.halted);
    expect(halt.data).toEqual({
      halted: true,
      reason: 'drill',
      by: 'alice',
      at: new Date(1_500).toISOString(),
    });
    await a.until((e) => e.event === 'ping');
    // Nothing else changed: one event per change, however many polls ran.
    expect(a.heard.filter((e) => e.event === 'halt')).toHaveLength(2);
    expect(a.heard.filter((e) => e.event === 'approvals')).toHaveLength(2);
  });

  it('announces a vote on a pending approval, not only a new approval', async () => {
    const { store, events } = hub();
    store.createApproval(pendingApproval('r1', { required: 2 }));
    const a = listen(events);
    await a.until((e) => e.event === 'approvals');
    store.approve('r1', 'alice', pendingApproval('r1').payloadHash, undefined, new Date(2_000));
    await a.until(
      (e) => a.heard.filter((x) => x.event === 'approvals').length === 2 && e.event === 'approvals',
    );
  });

  it('polls only while someone listens', async () => {
    const { events, polls } = hub();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(polls()).toBe(0);
    const a = listen(events);
    const b = listen(events);
    await a.until((e) => e.event === 'ping');
    a.stop();
    expect(events.listeners).toBe(1);
    b.stop();
    expect(events.listeners).toBe(0);
    const after = polls();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(polls()).toBe(after);
  });
});
