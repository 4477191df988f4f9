import type { Logger } from 'pino';

import type { RequestRecord, StateStore } from '../state/state-store.js';
import type { ReconcileReport } from './broker-types.js';

/** What {@link startReplicaLoop} needs. */
export interface ReplicaLoopOptions {
  readonly state: Pick<
    StateStore,
    'replicaId' | 'heartbeat' | 'adoptOrphans' | 'request' | 'executingRequests'
  >;
  /** Requests this process is working on now (Broker.inFlight): never settled from here. */
  readonly inFlight: () => ReadonlySet<string>;
  /** Settles the given requests at the venue (Broker.reconcileInterrupted with rows). */
  readonly settle: (rows: readonly RequestRecord[], before: Date) => Promise<ReconcileReport>;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  /** The venue's signed-request window: an adopted request is settled only once older than this. */
  readonly windowMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** A running {@link startReplicaLoop}. */
export interface ReplicaLoop {
  /** One round now (tests, and the first round at start); rounds never overlap. */
  tick(): Promise<void>;
  /** Requests adopted and not settled yet. */
  readonly adopted: ReadonlyMap<string, RequestRecord>;
  stop(): Promise<void>;
}

/**
 * Issue 16: what makes a replica one of many on PostgreSQL. Every `heartbeatMs` it records that it is alive, adopts
 * the unfinished requests of replicas silent for longer than `leaseMs` (kill -9, a lost host), and settles at the
 * venue those it adopted once they are older than the venue's signed-request window — a request signed by the dead
 * replica can no longer arrive after that, so "not found at the venue" then means "never placed". Until settled, an
 * adopted request keeps its key (a retry answers `COFRE_REQUEST_IN_PROGRESS`) and its reservation (its budget stays
 * counted): nothing is lost from the record and nothing is sent twice.
 *
 * The same holds for this replica's own requests left `executing` although no call of this process is working on
 * them: a step after the claim failed (PostgreSQL restarted between the claim and the finish) and nothing could be
 * written. They are settled like adopted ones once past the window — the venue says whether the order was placed —
 * so a retry does not answer `COFRE_REQUEST_IN_PROGRESS` forever and their budget is given back or committed.
 *
 * A failed round (PostgreSQL down) is logged and the next one tries again; a replica that cannot heartbeat for a
 * lease is taken for dead by the others, who then settle its requests only after the signed-request window, by
 * which time its own venue calls have timed out.
 */
export function startReplicaLoop(options: ReplicaLoopOptions): ReplicaLoop {
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ part: 'replicas', replica: options.state.replicaId });
  const adopted = new Map<string, RequestRecord>();
  let running: Promise<void> | undefined;
  let stopped = false;

  const round = async (): Promise<void> => {
    const at = now();
    await options.state.heartbeat(at);
    const orphans = await options.state.adoptOrphans(new Date(at.getTime() - options.leaseMs), at);
    if (orphans.length > 0) {
      log.warn(
        { requests: orphans.map((r) => r.requestId) },
        'adopted the unfinished requests of a replica that stopped; they are settled at the venue once its signed requests can no longer arrive',
      );
    }
    for (const row of orphans) adopted.set(row.requestId, row);
    const before = new Date(at.getTime() - options.windowMs);
    const running = options.inFlight();
    for (const row of await options.state.executingRequests(before)) {
      if (!running.has(row.requestId) && !adopted.has(row.requestId)) {
        log.warn({ requestId: row.requestId }, 'a request of this replica was left executing; settling it');
        adopted.set(row.requestId, row);
      }
    }
    const due: RequestRecord[] = [];
    for (const row of adopted.values()) {
      if (row.createdAt >= before) continue;
      // Finished meanwhile (its replica was only slow): nothing to settle.
      const current = await options.state.request(row.requestId);
      if (current?.status !== 'executing') adopted.delete(row.requestId);
      else due.push(current);
    }
    if (due.length === 0 || stopped) return;
    const report = await options.settle(due, before);
    for (const { requestId } of report.resolved) adopted.delete(requestId);
    if (report.resolved.length > 0) log.warn({ resolved: report.resolved }, 'settled adopted requests');
    if (report.unresolved.length > 0) {
      log.error(
        { unresolved: report.unresolved },
        'adopted requests could not be settled yet; retried every heartbeat',
      );
    }
  };
  const tick = (): Promise<void> =>
    (running ??= round()
      .catch((err: unknown) => {
        log.warn({ err }, 'replica heartbeat failed; retried at the next one');
      })
      .finally(() => {
        running = undefined;
      }));
  const timer = setInterval(() => void tick(), options.heartbeatMs).unref();
  return {
    tick,
    adopted,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
