import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Logger } from 'pino';

import type { AuditSink } from '../../audit/audit-log.js';
import { type IpcChannel, serveAuditOverIpc } from '../../audit/ipc-audit-sink.js';
import { CofreError, errorCatalogue, type ErrorCode } from '../../errors.js';
import {
  type Halt,
  type HaltAll,
  type Halted,
  isMessage,
  type PrimaryMessage,
  type WorkerFailed,
  type WorkerReady,
  type WorkerStart,
} from './worker-messages.js';

/** More crashes than this within {@link CRASH_WINDOW_MS} and the pool gives up (`COFRE_WORKERS_FAILED`). */
export const MAX_CRASHES = 5;
export const CRASH_WINDOW_MS = 60_000;
/** How long a stopping worker may take to finish its requests before it is killed. */
const STOP_GRACE_MS = 30_000;

/** What {@link WorkerPool} needs. */
export interface WorkerPoolOptions {
  /** The one audit log: every worker's events are appended here (serveAuditOverIpc). */
  readonly audit: AuditSink;
  readonly logger: Logger;
  /** The start message of every worker, but for `reconcile` and `console`. */
  readonly start: Omit<WorkerStart, 'type' | 'reconcile' | 'console'>;
  /** Clock of the crash count; default the system clock. */
  readonly now?: () => number;
}

interface Member {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  /** Serves the operator console; its replacement does too. */
  readonly console: boolean;
  ready: boolean;
}

/** Where a worker listens once ready. */
export interface WorkerAddress {
  readonly url: string;
  /** Where the console listens, for the worker that serves it. */
  readonly consoleUrl: string | undefined;
}

/**
 * The workers of `cofre serve --workers N`, supervised by the primary: forks them (node:cluster, the listening
 * socket shared), answers their audit appends, relays an operator halt to every worker, replaces a worker that
 * dies, and stops them in order. Not safe to use from several primaries; there is one per `cofre serve`.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #members = new Set<Member>();
  readonly #crashes: number[] = [];
  readonly #now: () => number;
  #stopping = false;
  #relayIds = 1;
  #fail: (err: CofreError) => void = () => undefined;
  /** Rejects with `COFRE_WORKERS_FAILED` when workers keep crashing; never resolves. */
  readonly failed: Promise<never>;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.failed = new Promise<never>((_resolve, reject) => {
      this.#fail = reject;
    });
    this.failed.catch(() => undefined); // observed by the caller through its race
    const self = fileURLToPath(import.meta.url);
    cluster.setupPrimary({
      // The worker entry beside this file: .js when compiled, .ts under tsx (the tests).
      exec: fileURLToPath(new URL(`./serve-worker-entry${extname(self)}`, import.meta.url)),
      args: [],
      serialization: 'advanced',
    });
  }

  /** Process ids of the workers alive now. */
  pids(): number[] {
    return [...this.#members].flatMap((m) =>
      m.worker.process.pid === undefined ? [] : [m.worker.process.pid],
    );
  }

  /**
   * Forks one worker and resolves with its URL once it listens; rejects with the worker's own error when it cannot
   * start. `reconcile`: whether it settles what a stopped cofre left `executing` (only the first of a start).
   * `console`: whether it serves the operator console (one worker at a time; a replacement inherits it).
   */
  fork(reconcile: boolean, console = false): Promise<WorkerAddress> {
    const worker = cluster.fork();
    const channel = worker.process as unknown as IpcChannel;
    const stopAudit = serveAuditOverIpc(this.#options.audit, channel);
    const exited = new Promise<void>((done) =>
      worker.once('exit', () => {
        done();
      }),
    );
    const member: Member = { worker, exited, console, ready: false };
    this.#members.add(member);
    worker.on('message', (message: unknown) => {
      this.#relay(member, message);
    });
    const started = new Promise<WorkerAddress>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (isMessage<WorkerReady>(message, 'cofre-worker-ready')) {
          member.ready = true;
          resolve({ url: message.url, consoleUrl: message.consoleUrl });
        } else if (isMessage<WorkerFailed>(message, 'cofre-worker-failed')) {
          const code = Object.hasOwn(errorCatalogue, message.code)
            ? (message.code as ErrorCode)
            : 'COFRE_INTERNAL';
          reject(new CofreError(code, message.message));
        }
      });
      worker.once('exit', (code: number | null, signal: string | null) => {
        reject(
          new CofreError('COFRE_WORKERS_FAILED', `a worker exited before it served (${signal ?? code})`),
        );
      });
    });
    worker.once('exit', (code: number | null, signal: string | null) => {
      stopAudit();
      this.#members.delete(member);
      if (member.ready && !this.#stopping) this.#crashed(worker.process.pid, code, signal, member.console);
    });
    const waiting = (message: unknown): void => {
      if (!isMessage(message, 'cofre-worker-waiting')) return;
      worker.off('message', waiting);
      this.#send(worker, { type: 'cofre-worker-start', ...this.#options.start, reconcile, console });
    };
    worker.on('message', waiting);
    return started;
  }

  /** Asks every worker to finish its requests and exit, and waits; one that takes too long is killed. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const members = [...this.#members];
    this.#options.logger.info({ workers: members.length }, 'stopping the workers');
    for (const m of members) this.#send(m.worker, { type: 'cofre-worker-stop' });
    const killer = setTimeout(() => {
      for (const m of members) m.worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
    await Promise.all(members.map((m) => m.exited));
    clearTimeout(killer);
  }

  /** A worker died: replace it, unless they keep dying (then the pool fails and `cofre serve` exits non-zero). */
  #crashed(pid: number | undefined, code: number | null, signal: string | null, console: boolean): void {
    const now = this.#now();
    this.#crashes.push(now);
    while (this.#crashes.length > 0 && (this.#crashes[0] ?? now) <= now - CRASH_WINDOW_MS)
      this.#crashes.shift();
    const log = this.#options.logger;
    if (this.#crashes.length >= MAX_CRASHES) {
      log.error({ pid, code, signal }, 'a worker exited; too many crashes, stopping');
      this.#fail(
        new CofreError(
          'COFRE_WORKERS_FAILED',
          `${this.#crashes.length} workers crashed within ${CRASH_WINDOW_MS / 1000} s; see the log for why, fix it and start cofre again`,
        ),
      );
      return;
    }
    log.error({ pid, code, signal }, 'a worker exited; starting a replacement');
    this.fork(false, console).catch((err: unknown) => {
      log.error({ err }, 'a replacement worker could not start');
      this.#crashed(undefined, null, null, console);
    });
  }

  /** Relays an operator halt or resume from one worker to every other one. */
  #relay(from: Member, message: unknown): void {
    if (isMessage<HaltAll>(message, 'cofre-halt-all')) {
      const others = [...this.#members].filter((m) => m !== from && m.ready);
      void Promise.all(others.map((m) => this.#haltOne(m, message))).then(() => {
        this.#send(from.worker, { type: 'cofre-halted-all', id: message.id });
      });
    } else if (isMessage(message, 'cofre-resume-all')) {
      for (const m of this.#members) if (m !== from) this.#send(m.worker, { type: 'cofre-resume' });
    }
  }

  /** Halts one worker; resolves when it has no write in flight, or has exited. */
  #haltOne(member: Member, halt: HaltAll): Promise<void> {
    const id = this.#relayIds++;
    return Promise.race([
      member.exited,
      new Promise<void>((done) => {
        const answer = (message: unknown): void => {
          if (isMessage<Halted>(message, 'cofre-halted') && message.id === id) {
            member.worker.off('message', answer);
            done();
          }
        };
        member.worker.on('message', answer);
        const sent: Halt = { type: 'cofre-halt', id, state: halt.state };
        if (!this.#send(member.worker, sent)) done();
      }),
    ]);
  }

  #send(worker: Worker, message: PrimaryMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      worker.send(message, () => undefined);
      return true;
    } catch {
      return false;
    }
  }
}
