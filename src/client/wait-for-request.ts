import type { ActionResponse } from './action-types.js';
import { CofreApprovalTimeoutError, CofreRequestError } from './client-errors.js';

/** How long and how often `waitForRequest` polls. */
export interface WaitOptions {
  /** Give up after this long (default 300,000 ms: 5 minutes). Approvals expire on the server anyway. */
  readonly timeoutMs?: number;
  /** Time between polls (default 1,000 ms). */
  readonly intervalMs?: number;
  /** Stops waiting; rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_INTERVAL_MS = 1_000;

/**
 * Polls `get` until the answer is final: no longer `pending_approval`, and not `COFRE_REQUEST_IN_PROGRESS` (an
 * approved order still being sent). A 429 from cofre waits its `Retry-After`, then goes on.
 */
export async function waitUntilDecided(
  requestId: string,
  get: () => Promise<ActionResponse>,
  options: WaitOptions,
): Promise<ActionResponse> {
  const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const intervalMs = positive(options.intervalMs, DEFAULT_INTERVAL_MS, 'intervalMs');
  const deadline = Date.now() + timeoutMs;
  // What cofre last said; a 429 on the very first poll leaves only the request id to report.
  let last: ActionResponse = { requestId, status: 'pending_approval' };
  for (;;) {
    let pause = intervalMs;
    try {
      last = await get();
      if (!stillWaiting(last)) return last;
    } catch (err) {
      if (!(err instanceof CofreRequestError) || err.code !== 'COFRE_AGENT_QUOTA_EXCEEDED') throw err;
      pause = Math.max(intervalMs, err.retryAfterMs ?? 0);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new CofreApprovalTimeoutError(last, timeoutMs);
    await sleep(Math.min(pause, left), options.signal);
  }
}

function stillWaiting(response: ActionResponse): boolean {
  return (
    response.status === 'pending_approval' ||
    (response.status === 'failed' && response.error?.code === 'COFRE_REQUEST_IN_PROGRESS')
  );
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new CofreRequestError('COFRE_INPUT_INVALID', `${name} must be a positive number of milliseconds`);
  }
  return value;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
