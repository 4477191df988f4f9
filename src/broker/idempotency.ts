import { CofreError, type ErrorCode } from '../errors.js';
import { normalizeDecimal } from '../venues/decimal.js';
import type { ActionName } from './actions.js';

/**
 * Idempotency of writes, in one place: which writes claim a key, what the key is, how a replay is told from a
 * different request under the same key, and when a key is given back.
 *
 * - Only `place_order` and `withdraw` claim a key. A cancel is safe to send again (the venue answers "unknown order" the second
 *   time), so it claims nothing, and no one can make an order impossible to cancel by claiming its key first (the
 *   "cancel squatting" of issue 8).
 * - Keys belong to the agent that made them: `<agent>:<account>:<clientOrderId>`. One agent's keys can neither
 *   answer nor block another's. (Orders themselves stay per account, at the venue.)
 * - A key is kept only while the order may exist: an executed order, or a write whose outcome is unknown. A write
 *   that never left the process, or that the venue refused, gives its key back ({@link keepsKey}).
 */
export function idempotencyKeyFor(agentId: string, action: ActionName, input: unknown): string | undefined {
  if (action === 'place_order') {
    const { account, clientOrderId } = input as { account: string; clientOrderId: string };
    return `${agentId}:${account}:${clientOrderId}`;
  }
  if (action === 'withdraw') {
    // A separate namespace: a withdrawal and an order may share an id without answering for each other.
    const { account, clientWithdrawId } = input as { account: string; clientWithdrawId: string };
    return `${agentId}:${account}:withdraw:${clientWithdrawId}`;
  }
  // Issue 19: per wallet, in namespaces of their own.
  if (action === 'send_transaction') {
    const { wallet, clientTxId } = input as { wallet: string; clientTxId: string };
    return `${agentId}:wallet:${wallet}:tx:${clientTxId}`;
  }
  if (action === 'sign_typed_data') {
    const { wallet, clientSignId } = input as { wallet: string; clientSignId: string };
    return `${agentId}:wallet:${wallet}:sign:${clientSignId}`;
  }
  return undefined;
}

/** The input fields a write is keyed by. */
export type IdempotencyField = 'clientOrderId' | 'clientWithdrawId' | 'clientTxId' | 'clientSignId';

/** Fields whose values are decimals: compared in canonical form, so `"0.0010"` replays `"0.001"`. */
const DECIMAL_FIELDS: ReadonlySet<string> = new Set(['amount', 'price', 'value']);

/**
 * The validated input in one canonical JSON text: keys sorted, decimals normalised. Two requests are the same
 * request exactly when their canonical inputs are equal.
 */
export function canonicalInput(input: unknown): string {
  const fields = Object.entries(input as Record<string, unknown>)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [
      key,
      DECIMAL_FIELDS.has(key) && typeof value === 'string' ? normalizeDecimal(value) : value,
    ])
    .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  return JSON.stringify(Object.fromEntries(fields));
}

/**
 * Throws `COFRE_IDEMPOTENCY_CONFLICT` unless `input` (canonical) is the request stored under the same key. The
 * message names the fields that differ and both values: they are the agent's own input, never a secret.
 */
export function checkReplay(
  stored: string | undefined,
  input: string,
  id: { readonly field: IdempotencyField; readonly value: string },
): void {
  if (stored === input) return;
  const before = parse(stored);
  const now = parse(input);
  const fields = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const differences = fields
    .filter((f) => JSON.stringify(before[f]) !== JSON.stringify(now[f]))
    .map((f) => `${f} ${show(before[f])} then, ${show(now[f])} now`);
  throw new CofreError(
    'COFRE_IDEMPOTENCY_CONFLICT',
    `${id.field} "${id.value}" was already used for a different request (${differences.join('; ') || 'the first request was recorded by an older cofre'}); choose a new ${id.field}, or repeat the first request exactly to get its answer`,
    { details: { [id.field]: id.value, differs: fields } },
  );
}

function parse(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  return JSON.parse(text) as Record<string, unknown>;
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/**
 * Codes of a sent write that the venue answered with a refusal: it acted on nothing (venue-error.ts maps a sent
 * write to `COFRE_VENUE_UNAVAILABLE` only for a 4xx answer such as a rate limit or a stale timestamp).
 */
const REFUSED_BY_VENUE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'COFRE_VENUE_REJECTED',
  'COFRE_VENUE_UNAVAILABLE',
]);

/**
 * Whether a finished write keeps its idempotency key. `failure` is the code of a failed write (undefined for one
 * that executed); `sent` says whether any request of it left the process. A write that never left, or that the venue
 * refused, gives its key back; everything else keeps it, because the order may exist (an unknown outcome, or an
 * unexpected error after the venue answered).
 *
 * SECURITY: when in doubt the key is kept — a kept key costs the agent a new clientOrderId; a released key of a
 * placed order can place it twice.
 */
export function keepsKey(failure: ErrorCode | undefined, sent: boolean): boolean {
  if (failure === undefined) return true;
  if (!sent) return false;
  return !REFUSED_BY_VENUE.has(failure);
}
