import { createHmac } from 'node:crypto';

import type { Logger } from 'pino';

import type { ApprovalsConfig } from '../config/config-schema.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { ApprovalRecord } from '../state/control-store.js';

/** The JSON body POSTed for each new pending approval. Identifiers and the payload's summary; never a secret. */
export interface ApprovalNotice {
  readonly type: 'approval.pending';
  readonly requestId: string;
  readonly agent: string;
  readonly account: string | null;
  readonly action: string;
  /** The payload's scalar fields (`order.symbol`, `order.amount`, ...), for a person to read at a glance. */
  readonly summary: Readonly<Record<string, string | number | boolean | null>>;
  /** What an operator approves (`POST /v1/operator/approvals/{requestId}/approve { payloadHash }`). */
  readonly payloadHash: string;
  readonly rule: string;
  readonly required: number;
  readonly approvers: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** Header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'cofre-signature';

/** What {@link ApprovalWebhook} needs. */
export interface ApprovalWebhookOptions {
  readonly url: string;
  /**
   * Resolves the HMAC key (`approvals.webhook.key` through the secret resolver and its cache) for each attempt; the
   * value is the caller's to give away: it is zeroed after signing.
   */
  readonly key: () => Promise<SecretValue>;
  readonly timeoutMs: number;
  /** Attempts after the first failed one. */
  readonly retries: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Waits between attempts; tests pass one that records the delay and returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;

/**
 * Announces each new pending approval to an operator's endpoint (issue 9), signed so the receiver can tell it came
 * from this cofre and was not replayed long after (the timestamp is signed with the body; receivers should refuse
 * an old `t`). Stripe-style: `cofre-signature: t=<unix>,v1=<hex hmac-sha256(key, "<t>.<body>")>`.
 *
 * - {@link ApprovalWebhook.notify} never blocks and never throws: the request path hands the approval over and goes
 *   on. Delivery runs in the background: a 2xx answer is success; anything else (another status, a timeout, no
 *   connection) is retried up to `retries` times with exponential backoff (1 s, 2 s, 4 s, … at most 60 s).
 * - Redirects are not followed: a signed notice goes only to the configured URL.
 * - SECURITY: the key is resolved per attempt, used to sign, and zeroed; it is never logged, nor is the URL's query
 *   or credentials part (only its origin), nor the receiver's answer body.
 *
 * Safe to call concurrently.
 */
export class ApprovalWebhook {
  readonly #options: ApprovalWebhookOptions;
  readonly #now: () => Date;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #target: string;
  #closed = false;

  constructor(options: ApprovalWebhookOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          setTimeout(resolve, ms).unref();
        }));
    this.#target = new URL(options.url).origin;
  }

  /** Sends the notice of a new pending approval in the background. */
  notify(approval: ApprovalRecord): void {
    if (this.#closed) return;
    const body = JSON.stringify(noticeOf(approval));
    const delivery = this.#deliver(approval.requestId, body).finally(() => {
      this.#inFlight.delete(delivery);
    });
    this.#inFlight.add(delivery);
  }

  /** Resolves once every notice handed over so far is delivered or given up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Stops retrying (an attempt under way finishes) and waits for the deliveries in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  async #deliver(requestId: string, body: string): Promise<void> {
    const log = this.#options.logger.child({ part: 'approval-webhook', requestId, target: this.#target });
    for (let attempt = 0; attempt <= this.#options.retries; attempt += 1) {
      if (attempt > 0) {
        if (this.#closed) break;
        await this.#sleep(Math.min(BASE_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS));
      }
      const failure = await this.#attempt(body);
      if (failure === undefined) {
        log.info({ attempt: attempt + 1 }, 'approval notice delivered');
        return;
      }
      log.warn({ attempt: attempt + 1, failure }, 'approval notice not delivered');
    }
    log.error('approval notice given up; the approval waits in `cofre approval list` all the same');
  }

  /** One POST; undefined on success, else a short reason that holds no secret. */
  async #attempt(body: string): Promise<string | undefined> {
    let signature: string;
    try {
      const key = await this.#options.key();
      try {
        signature = signNotice(key.bytes(), Math.floor(this.#now().getTime() / 1000), body);
      } finally {
        key.zero();
      }
    } catch (err) {
      // The resolver's errors name the reference, never the value.
      return `the signing key could not be read: ${(err as Error).message}`;
    }
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'timed out' : 'could not connect';
    }
  }
}

/**
 * The webhook `approvals.webhook` describes, its key read through `resolver` for each attempt (the broker runtime
 * passes its audited reads, so each read is recorded), or
 * undefined when none is configured. The caller closes it on shutdown.
 */
export function approvalWebhookFor(
  approvals: ApprovalsConfig,
  resolver: { resolve(reference: string): Promise<SecretValue> },
  logger: Logger,
): ApprovalWebhook | undefined {
  const webhook = approvals.webhook;
  if (webhook === undefined) return undefined;
  return new ApprovalWebhook({
    url: webhook.url,
    key: () => resolver.resolve(webhook.key),
    timeoutMs: webhook.timeout,
    retries: webhook.retries,
    logger,
  });
}

/** The `cofre-signature` header value for `body` sent at `timestamp` (unix seconds). */
export function signNotice(key: Buffer, timestamp: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** The notice of an approval. */
export function noticeOf(approval: ApprovalRecord): ApprovalNotice {
  return {
    type: 'approval.pending',
    requestId: approval.requestId,
    agent: approval.agentId,
    account: approval.account ?? null,
    action: approval.action,
    summary: summarize(approval.payload),
    payloadHash: approval.payloadHash,
    rule: approval.rule,
    required: approval.required,
    approvers: approval.approvers,
    createdAt: approval.createdAt.toISOString(),
    expiresAt: approval.expiresAt.toISOString(),
  };
}

const MAX_SUMMARY_FIELDS = 40;
const MAX_SUMMARY_DEPTH = 3;

/** The payload's scalars as `dotted.path: value`, breadth-bounded; the whole payload stays with the approval. */
function summarize(payload: string): Record<string, string | number | boolean | null> {
  const summary: Record<string, string | number | boolean | null> = {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return summary;
  }
  const walk = (value: unknown, path: string, depth: number): void => {
    if (Object.keys(summary).length >= MAX_SUMMARY_FIELDS) return;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      if (path !== '') summary[path] = value as string | number | boolean | null;
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value) || depth >= MAX_SUMMARY_DEPTH) return;
    for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, depth + 1);
  };
  walk(parsed, '', 0);
  return summary;
}
