import type { Logger } from 'pino';

import type { StateStore } from '../state/state-store.js';
import type {
  AuditVerificationJson,
  HaltJson,
  OperatorEventJson,
} from '../surfaces/http/operator-api-types.js';

/** Requests looked at for the `requests` event: a change among the newest this many is seen. */
const RECENT_REQUESTS = 50;

/** What {@link OperatorEvents} watches. */
export interface OperatorEventsDependencies {
  readonly store: StateStore;
  /** The running or latest audit verification of this process. */
  readonly verification: () => AuditVerificationJson | null;
  readonly now: () => Date;
  readonly logger?: Logger | undefined;
  /** How often the state store is polled while anyone listens (default 1 s). */
  readonly pollMs?: number;
  /** How often a `ping` goes to every listener (default 15 s), so proxies keep the stream open. */
  readonly pingMs?: number;
}

type Listener = (event: OperatorEventJson) => void;

/** What one poll saw, per event: the event to send and a fingerprint to compare with the last poll's. */
type Snapshot = Map<
  OperatorEventJson['event'],
  { readonly event: OperatorEventJson; readonly print: string }
>;

/**
 * The changes the operator console's live updates announce (`GET /v1/operator/events`, issue 18): pending
 * approvals (their ids and votes), the halt, the latest requests, this process's audit verification. Found by
 * polling the state store about once a second, so a change made by another process or replica (`cofre halt` on the
 * host, an order on another replica) is announced too. Polls only while someone listens: the first subscriber starts
 * the timer, the last one to leave stops it.
 *
 * A listener gets a snapshot of every event when it subscribes, then each event whose fingerprint changed, and a
 * `ping` every 15 s. Listeners must not throw. Safe to use from any number of connections.
 */
export class OperatorEvents {
  readonly #deps: OperatorEventsDependencies;
  readonly #listeners = new Set<Listener>();
  #last: Snapshot | undefined;
  #poll: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  /** The poll running now: one at a time, however slow the store. */
  #polling: Promise<void> | undefined;

  constructor(deps: OperatorEventsDependencies) {
    this.#deps = deps;
  }

  /** Adds a listener (it first gets a snapshot of each event); returns the function that removes it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#start();
    void this.#snapshot().then(
      (snapshot) => {
        // The baseline of the first poll, so a change made before it is announced too.
        if (this.#listeners.size > 0) this.#last ??= snapshot;
        if (!this.#listeners.has(listener)) return;
        for (const { event } of snapshot.values()) listener(event);
      },
      (err: unknown) => this.#deps.logger?.warn({ err }, 'operator events: first snapshot failed'),
    );
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Listeners now (0: not polling). */
  get listeners(): number {
    return this.#listeners.size;
  }

  #start(): void {
    this.#poll = setInterval(() => {
      if (this.#polling !== undefined) return;
      this.#polling = this.#tick().finally(() => {
        this.#polling = undefined;
      });
    }, this.#deps.pollMs ?? 1_000);
    this.#ping = setInterval(() => {
      this.#send({ event: 'ping', data: {} });
    }, this.#deps.pingMs ?? 15_000);
    // Neither timer keeps a process alive that has nothing else to do.
    this.#poll.unref();
    this.#ping.unref();
  }

  #stop(): void {
    clearInterval(this.#poll);
    clearInterval(this.#ping);
    this.#poll = undefined;
    this.#ping = undefined;
    this.#last = undefined;
  }

  async #tick(): Promise<void> {
    let snapshot: Snapshot;
    try {
      snapshot = await this.#snapshot();
    } catch (err) {
      // The store is away for a moment (a PostgreSQL failover): the next poll tries again.
      this.#deps.logger?.warn({ err }, 'operator events: poll failed');
      return;
    }
    const last = this.#last;
    this.#last = snapshot;
    if (last === undefined || this.#listeners.size === 0) return;
    for (const [name, now] of snapshot) {
      if (last.get(name)?.print !== now.print) this.#send(now.event);
    }
  }

  #send(event: OperatorEventJson): void {
    for (const listener of this.#listeners) listener(event);
  }

  async #snapshot(): Promise<Snapshot> {
    const { store } = this.#deps;
    const now = this.#deps.now();
    const snapshot: Snapshot = new Map();
    const pending = (await store.listApprovals(now, 'pending')).filter(
      (a) => a.expiresAt.getTime() > now.getTime(),
    );
    snapshot.set('approvals', {
      event: { event: 'approvals', data: { pending: pending.length } },
      // A new vote changes the page as much as a new approval does.
      print: pending.map((a) => `${a.requestId}:${a.approvals.length}`).join(','),
    });
    const halt = await store.halted();
    const haltJson: HaltJson =
      halt === undefined
        ? { halted: false }
        : { halted: true, reason: halt.reason, by: halt.by, at: halt.at.toISOString() };
    snapshot.set('halt', { event: { event: 'halt', data: haltJson }, print: JSON.stringify(haltJson) });
    const recent = await store.listRequests({ limit: RECENT_REQUESTS });
    const latest = recent.reduce<Date | undefined>(
      (max, r) => (max === undefined || r.updatedAt > max ? r.updatedAt : max),
      undefined,
    );
    snapshot.set('requests', {
      event: { event: 'requests', data: { latest: latest?.toISOString() ?? null } },
      print: recent.map((r) => `${r.requestId}:${r.status}:${r.updatedAt.getTime()}`).join(','),
    });
    const verification = this.#deps.verification();
    if (verification !== null) {
      snapshot.set('audit-verification', {
        event: { event: 'audit-verification', data: verification },
        print: JSON.stringify(verification),
      });
    }
    return snapshot;
  }

  /** Stops polling and forgets every listener (the server is closing; each connection ends itself). */
  close(): void {
    this.#listeners.clear();
    this.#stop();
  }
}
