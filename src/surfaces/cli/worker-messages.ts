/**
 * The messages between the primary of `cofre serve --workers N` and its workers, over node's IPC channel with the
 * `advanced` serialization (so a `Date` stays a `Date`). Audit appends have their own protocol
 * (audit/ipc-audit-sink.ts).
 */
import type { CofreConfig } from '../../config/config-schema.js';
import type { HaltState } from '../../state/control-store.js';

/**
 * Worker → primary, first: listening for {@link WorkerStart}. (A message sent before the worker's code attached its
 * listener would be lost, so the primary waits for this rather than for cluster's `online`.)
 */
export interface WorkerWaiting {
  readonly type: 'cofre-worker-waiting';
}

/** Primary → worker, once it is waiting: what to serve. */
export interface WorkerStart {
  readonly type: 'cofre-worker-start';
  /** The config the primary loaded and checked; every worker serves exactly it. */
  readonly config: CofreConfig;
  readonly host: string;
  readonly port: number;
  /** Only the first worker of a start settles what a stopped cofre left `executing`. */
  readonly reconcile: boolean;
  /** Serve the operator console (`server.console`): exactly one worker does (see serve-workers.ts). */
  readonly console: boolean;
  /** `1/N`: the worker's share of each venue's request rate. */
  readonly venueRateShare: number;
}

/** Primary → worker: finish the requests in flight, close, exit. */
export interface WorkerStop {
  readonly type: 'cofre-worker-stop';
}

/** Worker → primary: listening (on the socket the primary shares). */
export interface WorkerReady {
  readonly type: 'cofre-worker-ready';
  readonly url: string;
  /** Where the console listens, from the worker that serves it. */
  readonly consoleUrl?: string | undefined;
}

/** Worker → primary: could not start; the primary reports the error and gives up. */
export interface WorkerFailed {
  readonly type: 'cofre-worker-failed';
  readonly code: string;
  readonly message: string;
}

/**
 * Worker → primary: the operator API halted this worker; halt every other worker too and answer
 * {@link HaltedAll} once each has no venue write in flight.
 */
export interface HaltAll {
  readonly type: 'cofre-halt-all';
  readonly id: number;
  readonly state: HaltState;
}

/** Primary → worker: the answer to {@link HaltAll}. */
export interface HaltedAll {
  readonly type: 'cofre-halted-all';
  readonly id: number;
}

/** Primary → worker: halt this worker's broker; answer {@link Halted} once its writes in flight are done. */
export interface Halt {
  readonly type: 'cofre-halt';
  readonly id: number;
  readonly state: HaltState;
}

/** Worker → primary: the answer to {@link Halt}. */
export interface Halted {
  readonly type: 'cofre-halted';
  readonly id: number;
}

/** Worker → primary (`resume-all`) and primary → other workers (`resume`): lift the halt held in memory. */
export interface Resume {
  readonly type: 'cofre-resume-all' | 'cofre-resume';
}

export type PrimaryMessage = WorkerStart | WorkerStop | HaltedAll | Halt | Resume;
export type WorkerMessage = WorkerWaiting | WorkerReady | WorkerFailed | HaltAll | Halted | Resume;

/** Whether `message` is one of ours of type `type` (IPC carries the audit protocol's messages too). */
export function isMessage<M extends { readonly type: string }>(
  message: unknown,
  type: M['type'],
): message is M {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
