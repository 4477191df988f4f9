import type { Logger } from 'pino';

import { auditEnd, readAuditAfter } from '../audit/audit-position.js';
import type { LimitCheck, PolicyEngine, ResolvedOrder, ResolvedWithdrawal } from '../policy/policy-types.js';
import type { StateStore } from '../state/state-store.js';
import { actionInputSchemas } from './actions.js';
import { canonicalInput, idempotencyKeyFor } from './idempotency.js';

/** What restoring from the audit log needs: the state to repair, the policy to re-decide limits, the log. */
export interface AuditRestoreDependencies {
  readonly state: StateStore;
  readonly policy: PolicyEngine;
  readonly auditPath: string;
  readonly logger: Logger;
  readonly now: () => Date;
  /**
   * `state.retention.requests`: an intent older than this may have lost its row to retention rather than to a power
   * loss, so it is left alone.
   */
  readonly retentionMs: number;
}

/** What {@link restoreFromAudit} found and did. */
export interface AuditRestoreReport {
  /** `position`: read from the state's audit horizon on; `start`: the whole log (no horizon, or not found). */
  readonly from: 'position' | 'start';
  /** Audit records read. */
  readonly read: number;
  /** Requests put back as `executing` (`restored`), or moved from `pending_approval` to `executing` (`resumed`). */
  readonly restored: readonly { readonly requestId: string; readonly outcome: 'restored' | 'resumed' }[];
  /** Sent requests that could not be put back, and why (logged as errors: an operator should look). */
  readonly skipped: readonly { readonly requestId: string; readonly reason: string }[];
}

/** Actions whose intent means a write that may have reached the venue and must not be sent twice. */
const RESTORED_ACTIONS: ReadonlySet<string> = new Set(['place_order', 'withdraw']);

/**
 * Issue 11: the audit log is the durable record of what was sent; the state store (SQLite, WAL,
 * `synchronous=NORMAL`) may lose its last commits on power failure. Run at start, before anything is served: reads
 * the audit records after the state's horizon, and every `intent` of a write that was sent (an order or a
 * withdrawal allowed, confirmed, or approved and run) whose request the state no longer has is put back as
 * `executing`, with its idempotency key (a retry by the agent is answered from it, never sent again) and its limit
 * reservation re-decided by the policy on the recorded order (the budget counts it again). A request still
 * `pending_approval` whose approved run was recorded is moved to `executing` and its approval marked executed.
 * `reconcileInterrupted` then settles them at the venue by clientOrderId / clientWithdrawId, like any request a
 * crash left `executing`. Last, the horizon moves to the end of the log as it was before reading.
 *
 * Cancels are not restored: they claim no key and are safe to send again. What the intent does not hold is lost:
 * an order's amount and price are restored as resolved (fitted to the market's steps), so a retry that sent other
 * digits for the same values is refused as `COFRE_IDEMPOTENCY_CONFLICT` rather than answered as a replay.
 */
export async function restoreFromAudit(deps: AuditRestoreDependencies): Promise<AuditRestoreReport> {
  const { state } = deps;
  const horizon = await state.auditHorizon();
  // Taken before reading: every record up to it is read below, so the horizon never passes an unread intent.
  const end = await auditEnd(deps.auditPath);
  const sent = new Map<string, Readonly<Record<string, unknown>>>();
  const oldest = deps.now().getTime() - deps.retentionMs;
  const { from, read } = await readAuditAfter(
    deps.auditPath,
    horizon,
    (record) => {
      if (isSentWrite(record)) sent.set(String(record['requestId']), record);
    },
    // Rotated files older than the retention hold only intents that are skipped below anyway.
    { kinds: ['intent'], notBefore: new Date(oldest) },
  );
  const restored: { requestId: string; outcome: 'restored' | 'resumed' }[] = [];
  const skipped: { requestId: string; reason: string }[] = [];
  const policies = new Map((await state.listAgents()).map((a) => [a.id, a.policy]));
  for (const [requestId, intent] of sent) {
    // The common case, read-only: the state has it (restoreRequest checks again under the write lock).
    const status = (await state.request(requestId))?.status;
    if (status !== undefined && status !== 'pending_approval') continue;
    const at = new Date(String(intent['ts']));
    if (!(at.getTime() >= oldest)) {
      skipped.push({
        requestId,
        reason: 'older than state.retention.requests: its row may have been pruned',
      });
      continue;
    }
    const rebuilt = rebuildRequest(intent);
    if ('reason' in rebuilt) {
      skipped.push({ requestId, reason: rebuilt.reason });
      continue;
    }
    const agentId = String(intent['agent']);
    // Issue 17: a delegated agent's budget is its chain root's (the last of `onBehalfOf`), under the root's policy.
    const principal = principalIn(intent);
    const checks = limitsOf(deps, intent, principal, policies.get(principal));
    const result = await state.restoreRequest(
      {
        requestId,
        agentId,
        action: String(intent['action']),
        account: rebuilt.account,
        idempotencyKey: rebuilt.idempotencyKey,
        input: rebuilt.canonical,
        status: 'executing',
        response: undefined,
        createdAt: at,
        updatedAt: at,
      },
      checks,
      at,
    );
    if (result.outcome === 'restored' || result.outcome === 'resumed') {
      restored.push({ requestId, outcome: result.outcome });
    } else if (result.outcome === 'key-held') {
      // The key's holder is left executing by the same loss and is settled by the same clientOrderId.
      skipped.push({ requestId, reason: `its idempotency key is held by request ${result.by}` });
    }
  }
  if (end !== undefined) await state.setAuditHorizon({ ...end, at: deps.now() });
  report(deps.logger, restored, skipped);
  return { from, read, restored, skipped };
}

/**
 * Moves the state's audit horizon to the end of the log as it is now. Safe at any time in any process: a request is
 * claimed (committed) before its intent is appended, so every intent already in the log has its row in this state.
 */
export async function advanceAuditHorizon(state: StateStore, auditPath: string, now: Date): Promise<void> {
  const end = await auditEnd(auditPath);
  if (end === undefined) return;
  const held = await state.auditHorizon();
  // An idle log: no write to the state file every interval.
  if (held?.seq === end.seq && held.hash === end.hash && held.ino === end.ino) return;
  await state.setAuditHorizon({ ...end, at: now });
}

/** An `intent` of an order or withdrawal that went on to be sent (not a denial, not one awaiting approval). */
function isSentWrite(record: Readonly<Record<string, unknown>>): boolean {
  if (record['kind'] !== 'intent' || !RESTORED_ACTIONS.has(String(record['action']))) return false;
  const decision = record['decision'];
  return (
    decision === 'allow' ||
    decision === 'confirm' ||
    (decision === 'approval' && record['approvedBy'] !== undefined)
  );
}

/** The request's input, key and account as best rebuilt from its intent, or why it cannot be. */
function rebuildRequest(
  intent: Readonly<Record<string, unknown>>,
):
  | { readonly account: string; readonly canonical: string; readonly idempotencyKey: string }
  | { readonly reason: string } {
  const action = intent['action'] as 'place_order' | 'withdraw';
  const account = intent['account'];
  const detail = (intent['detail'] ?? {}) as Record<string, unknown>;
  let input: Record<string, unknown>;
  if (action === 'place_order') {
    const { symbol, side, type, amount, price } = detail;
    input = { account, symbol, side, type, amount, price: type === 'limit' ? price : undefined };
    input['clientOrderId'] = intent['clientOrderId'];
  } else {
    const { asset, amount, destination } = detail;
    input = { account, asset, amount, destination, clientWithdrawId: intent['clientWithdrawId'] };
  }
  const parsed = actionInputSchemas[action].safeParse(input);
  if (!parsed.success || typeof account !== 'string') {
    return {
      reason: `its intent does not hold a valid ${action} (${action === 'withdraw' ? 'a clientWithdrawId is recorded only since issue 11' : 'written by an older cofre?'}): check the venue by hand`,
    };
  }
  const idempotencyKey = idempotencyKeyFor(String(intent['agent']), action, parsed.data);
  if (idempotencyKey === undefined) return { reason: `${action} claims no key` };
  return { account, canonical: canonicalInput(parsed.data), idempotencyKey };
}

/**
 * The limits the request draws on, decided again by the policy as it is now on the recorded order or withdrawal
 * (the budget it spent counts again); none when its agent is gone from the state or the policy cannot say.
 */
/** The agent whose policy and agent-scoped limits an intent's request drew on: its chain root, or itself. */
function principalIn(intent: Readonly<Record<string, unknown>>): string {
  const chain = intent['onBehalfOf'];
  const root = Array.isArray(chain) ? (chain.at(-1) as unknown) : undefined;
  return typeof root === 'string' ? root : String(intent['agent']);
}

function limitsOf(
  deps: AuditRestoreDependencies,
  intent: Readonly<Record<string, unknown>>,
  principal: string,
  policy: string | undefined,
): readonly LimitCheck[] {
  if (policy === undefined) return [];
  const action = intent['action'] as 'place_order' | 'withdraw';
  const detail = intent['detail'];
  try {
    return deps.policy.decide({
      agentId: principal,
      policy,
      action,
      account: String(intent['account']),
      ...(action === 'place_order'
        ? { order: detail as ResolvedOrder, symbol: (detail as ResolvedOrder).symbol }
        : { withdrawal: detail as ResolvedWithdrawal }),
    }).limits;
  } catch (err) {
    deps.logger.warn(
      { err, requestId: intent['requestId'] },
      'could not re-decide the limits of a restored request',
    );
    return [];
  }
}

function report(
  logger: Logger,
  restored: readonly { requestId: string; outcome: string }[],
  skipped: readonly { requestId: string; reason: string }[],
): void {
  if (restored.length > 0) {
    logger.warn(
      { restored },
      'the state had lost requests the audit log shows were sent (power loss?); restored them as executing, to be settled at the venue',
    );
  }
  if (skipped.length > 0) {
    logger.error(
      { skipped },
      'requests the audit log shows were sent could not be restored; check them at the venue',
    );
  }
}
