/**
 * The deadline and priority of the agent request a venue call belongs to, carried implicitly (like Go's
 * `context.Context`) from where the broker admits the request down to the account queue and ccxt's `fetch`.
 *
 * Set once per request by the broker's admission step ({@link runInRequestContext}); read by the account queue
 * (`account-queue.ts`) and by the last check before a request leaves (`ccxt-venue-account.ts`), so neither the broker
 * nor `VenueAccount` methods take an extra parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type { VenueCredentials } from './venue-account.js';

/**
 * How urgent a venue call is; lower goes first. A cancel reduces risk and must never wait behind reads; a new order
 * goes ahead of reads too.
 */
export type VenuePriority = 'cancel' | 'write' | 'read';

/** The request a venue call runs for. */
export interface VenueRequestContext {
  /** Epoch ms after which the request may not start a venue call; a write not started by then is not sent. */
  readonly deadline: number;
  /** The priority of every venue call the request makes (reads inside a `place_order` go at `write`). */
  readonly priority: VenuePriority;
}

const storage = new AsyncLocalStorage<VenueRequestContext>();

/** Runs `fn` with `context` as the current request context for everything it calls, synchronously or not. */
export function runInRequestContext<T>(context: VenueRequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request being served, if the call came through the broker's admission step. */
export function currentRequestContext(): VenueRequestContext | undefined {
  return storage.getStore();
}

/** Which broker request a call is made for, once the broker has given it an id. */
export interface RequestIdentity {
  readonly requestId: string;
  readonly agent: string;
  /**
   * The credentials of `account` the broker read for this request before its intent, their reads already on record
   * in the intent's batch: venue calls of the request use copies of them instead of reading (and recording) again.
   * Owned by the broker, which zeroes them when the request ends.
   */
  readonly credentials?: { readonly account: string; readonly values: VenueCredentials } | undefined;
}

// Apart from the deadline and priority: a request run outside admission (an approved request run by an operator, a
// halt's cancels) has an id but must keep having no deadline.
const identity = new AsyncLocalStorage<RequestIdentity>();

/**
 * Runs `fn` as part of request `requestId` of `agent` (set by the broker's send step): secret reads made for it are
 * audited under that id. The deadline and priority context, if any, is unchanged.
 */
export function runWithRequestId<T>(
  requestId: string,
  agent: string,
  fn: () => T,
  credentials?: RequestIdentity['credentials'],
): T {
  return identity.run({ requestId, agent, credentials }, fn);
}

/** The request a call is made for, if made inside {@link runWithRequestId}. */
export function currentRequestIdentity(): RequestIdentity | undefined {
  return identity.getStore();
}

/** Rank of a priority: lower is more urgent. */
export function priorityRank(priority: VenuePriority): number {
  return priority === 'cancel' ? 0 : priority === 'write' ? 1 : 2;
}
