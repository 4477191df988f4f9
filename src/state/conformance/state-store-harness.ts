import { afterEach, beforeEach } from 'vitest';

import type { RequestRecord, StateStore } from '../state-store.js';

/** A connection to a state store's storage, as a test file opens it. */
export interface OpenedStateStore {
  readonly store: StateStore;
  /** Closes this connection (not the storage: the next `open` of the same test finds everything kept). */
  close(): Promise<void>;
}

/**
 * Opens a connection to the storage of the running test. The test file gives each test fresh, empty storage (in a
 * `beforeEach` of its own, registered before the suite); every call within one test reaches that same storage, as
 * another process (PostgreSQL: another replica) or a restart would.
 */
export type OpenStateStore = () => Promise<OpenedStateStore>;

/**
 * Registers the hooks of one suite: `store()` is the test's first connection, `connect()` opens one more; all are
 * closed after the test (closing twice is allowed, so a test may close one itself to reopen).
 */
export function useStateStores(open: OpenStateStore): {
  store: () => StateStore;
  connect: () => Promise<StateStore>;
} {
  const opened: OpenedStateStore[] = [];
  let first: StateStore | undefined;
  const connect = async (): Promise<StateStore> => {
    const o = await open();
    opened.push(o);
    return o.store;
  };
  beforeEach(async () => {
    first = await connect();
  });
  afterEach(async () => {
    first = undefined;
    for (const o of opened.splice(0)) await o.close();
  });
  return {
    store: () => {
      if (first === undefined) throw new Error('no store outside a test');
      return first;
    },
    connect,
  };
}

/** The error `run` throws or rejects with (undefined when it succeeds): one way to check both kinds of store. */
export async function failureOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Waits until `check` holds, for what a store writes in the background; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A time in the tests' past: `ms` after a fixed instant. */
export const t = (ms: number): Date => new Date(1_700_000_000_000 + ms);

/** An `executing` request of agent alice placing an order on paper, as the broker claims one. */
export function request(id: string, key: string | undefined, createdAt = t(1_000)): RequestRecord {
  return {
    requestId: id,
    agentId: 'alice',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: key,
    input: '{"clientOrderId":"c1"}',
    status: 'executing',
    response: undefined,
    createdAt,
    updatedAt: createdAt,
  };
}
