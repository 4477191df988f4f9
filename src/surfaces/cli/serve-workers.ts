/**
 * `cofre serve --workers N` (N > 1): one primary process and N workers (node:cluster) serving the same port.
 *
 * - The primary loads and checks the config, opens the runtime for the audit log (its one writer: workers send
 *   their events over IPC, so they share its group commit and its chain) and the start-up check's secret reads, and
 *   supervises the workers. It serves no request itself.
 * - The workers share the SQLite state file (WAL): claims, limit reservations, approvals and the halt are
 *   transactions taken with the write lock first, so they are exact across processes as they are across the CLI
 *   and `serve` today. The halt and agent revocations are read from the file on every request.
 * - Only the first worker settles what a stopped cofre left `executing`, and the others are forked once it
 *   listens; a replacement worker never does (it would settle requests other workers are still executing).
 * - Per worker: agent quotas (in memory), the reference-price cache, and each venue's rate limiter, which gets 1/N
 *   of the venue's rate so N workers together keep it.
 * - The operator console (`server.console`) is served by the first worker only (and by its replacement, should it
 *   die): its sessions live in one process's memory, and its operator actions must be a worker's, whose broker
 *   halts every other worker through the primary (`haltingEveryWorker`) exactly as the agent port's operator API
 *   does there. The primary has no such path (it serves nothing and runs no broker of its own for requests), so
 *   serving the console from it would need a second way into the brokers.
 */
import type { Logger } from 'pino';

import { openBrokerRuntime } from '../../broker/broker-runtime.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { type BrokerServer, startupPreflight } from './broker-server.js';
import { WorkerPool } from './worker-pool.js';

/** Options of {@link startServeWorkers}. */
export interface ServeWorkersOptions {
  readonly logger: Logger;
  readonly workers: number;
  readonly host?: string;
  readonly port?: number;
  readonly verify: boolean;
}

/** A running primary: what {@link BrokerServer} offers (its runtime holds the audit log), and its workers. */
export interface WorkersServer extends BrokerServer {
  /** Process ids of the workers alive now. */
  pids(): number[];
  /** Rejects with `COFRE_WORKERS_FAILED` when workers keep crashing. */
  readonly failed: Promise<never>;
}

/**
 * Starts the primary and its workers; resolves once every worker listens. A worker that cannot start stops the
 * whole start with its error (the port taken, a state file that cannot be opened…). `close` stops the workers
 * (each finishes its requests in flight), then closes the audit log and the rest of the runtime.
 */
export async function startServeWorkers(
  config: CofreConfig,
  options: ServeWorkersOptions,
): Promise<WorkersServer> {
  const runtime = await openBrokerRuntime(config, {
    logger: options.logger,
    promptPassphrase: () => Promise.reject(noPrompt()),
  });
  let pool: WorkerPool | undefined;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await pool?.stop();
      await runtime.close();
    })());
  try {
    const preflight = options.verify ? await startupPreflight(config, runtime) : undefined;
    const running = new WorkerPool({
      audit: runtime.audit,
      logger: options.logger.child({ part: 'workers' }),
      start: {
        config,
        host: options.host ?? config.server.host,
        port: options.port ?? config.server.port,
        venueRateShare: 1 / options.workers,
      },
    });
    pool = running;
    // The first worker settles what a stopped cofre left executing, before any other worker exists.
    const { url, consoleUrl } = await running.fork(true, true);
    await Promise.all(Array.from({ length: options.workers - 1 }, () => running.fork(false)));
    return {
      url,
      consoleUrl,
      runtime,
      preflight,
      close,
      pids: () => running.pids(),
      failed: running.failed,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Each worker opens the secret backends itself, without a terminal: a passphrase prompt cannot work. */
function noPrompt(): CofreError {
  return new CofreError(
    'COFRE_PASSPHRASE_REQUIRED',
    'a secret store asks for a passphrase, but `cofre serve --workers N` starts several processes without a terminal; use passphraseFile (or keyFile) for that store, or serve with --workers 1',
  );
}
