import type { Logger } from 'pino';

import type { StateStore } from '../state/state-store.js';

/** Rows deleted per statement: small enough that one batch holds SQLite's write lock for about a millisecond. */
export const RETENTION_BATCH = 500;
/** Batches per run at most (a million rows); the rest waits for the next run, so a huge backlog cannot stall. */
export const RETENTION_MAX_BATCHES = 2_000;
/** How often the runtime prunes: every ten minutes. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

/** Options for {@link startRequestRetention}. */
export interface RequestRetentionOptions {
  readonly state: Pick<StateStore, 'pruneRequests' | 'deleteExpiredAgentSessions'>;
  /** `state.retention.requests`: finished requests older than this are deleted (ms). */
  readonly retentionMs: number;
  readonly logger: Logger;
  /** Injected clock for tests; default the system clock. */
  readonly now?: () => Date;
  readonly intervalMs?: number;
  readonly batch?: number;
  readonly maxBatches?: number;
}

/** The running retention of the requests table. */
export interface RequestRetention {
  /** Prunes now, batch by batch (yielding to the event loop between batches); resolves with the rows deleted. */
  pruneNow(): Promise<number>;
  /** Stops the timer. Idempotent. */
  stop(): void;
}

/**
 * Keeps the state store's requests table bounded (issue 10): deletes finished requests older than the retention
 * on start and then every `intervalMs`, on an unref'd timer (it never keeps the process alive). The audit log keeps
 * the record of every deleted request (and of every session token issued, whose expired rows go too); what goes is the stored answer that `get_request` and idempotent replays
 * read, so a replay of a key older than the retention runs as a new request. Failures are logged, never thrown.
 */
export function startRequestRetention(options: RequestRetentionOptions): RequestRetention {
  const now = options.now ?? (() => new Date());
  const batch = options.batch ?? RETENTION_BATCH;
  const maxBatches = options.maxBatches ?? RETENTION_MAX_BATCHES;
  const log = options.logger.child({ part: 'retention' });
  let running: Promise<number> | undefined;
  // Set by stop(): a run in progress ends at its next batch, before the state store is closed under it.
  let stopped = false;

  const prune = async (): Promise<number> => {
    const before = new Date(now().getTime() - options.retentionMs);
    let deleted = 0;
    for (let i = 0; i < maxBatches && !stopped; i++) {
      const n = await options.state.pruneRequests(before, batch);
      deleted += n;
      if (n < batch) break;
      await new Promise<void>((done) => setImmediate(done));
    }
    if (deleted > 0)
      log.info({ deleted, before: before.toISOString() }, 'deleted finished requests past retention');
    // Issue 17: an expired session token can never authenticate again (nor can a child of it), so its row goes too.
    if (!stopped) {
      const sessions = await options.state.deleteExpiredAgentSessions(now());
      if (sessions > 0) log.info({ deleted: sessions }, 'deleted expired session tokens');
    }
    return deleted;
  };
  const pruneNow = (): Promise<number> => (running ??= prune().finally(() => (running = undefined)));
  const runLogged = (): void => {
    pruneNow().catch((err: unknown) => {
      log.error({ err }, 'pruning old requests failed; will retry at the next interval');
    });
  };

  runLogged();
  const timer = setInterval(runLogged, options.intervalMs ?? RETENTION_INTERVAL_MS).unref();
  return {
    pruneNow,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
