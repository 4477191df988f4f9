import { CofreError } from '../errors.js';
import type { LimitCheck } from '../policy/policy-types.js';
import type { Decimal } from '../venues/venue-account.js';
import { fromSteps, LEDGER_MAX_STEPS, toSteps } from './ledger-amount.js';
import type { LimitExceeded } from './limit-ledger.js';

// What every LimitLedger counts the same way, whatever stores it (SQLite, PostgreSQL): which checks and actuals it
// accepts, how it rounds them, what one request holds per key, and how long committed usage is kept. Pure: the
// stores share it so that they give the same answer for every input.

/** Expired usage rows deleted per commit, at most. */
export const PRUNE_BATCH = 64;
/** How long past its window a usage row is kept: covers clocks of processes (or hosts) that differ a little. */
export const PRUNE_GRACE_MS = 60_000;

/** A check validated and converted to ledger steps (ledger-amount.ts). */
export interface ParsedLimitCheck {
  readonly check: LimitCheck;
  readonly cap: bigint;
  readonly amount: bigint;
  /** `openOrders`: a level (open orders now), not a flow within a window. */
  readonly level: boolean;
}

/**
 * `check` in steps: the cap rounded down, the amount up. Throws `COFRE_LIMIT_INVALID` naming the limit when the
 * window, cap or amount cannot be counted; a ledger parses every check before it changes anything.
 */
export function parseLimitCheck(check: LimitCheck): ParsedLimitCheck {
  const level = check.measure === 'openOrders';
  const where = `limit ${check.limit} (${check.key})`;
  if (level ? check.windowMs !== undefined : !isWindow(check.windowMs)) {
    throw new CofreError(
      'COFRE_LIMIT_INVALID',
      level
        ? `${where}: an openOrders limit counts orders open now and takes no window`
        : `${where}: window ${String(check.windowMs)} is not a whole number of milliseconds of at least 1`,
    );
  }
  const cap = toSteps(check.cap, 'down');
  const amount = toSteps(check.amount, 'up');
  if (cap === undefined || cap > LEDGER_MAX_STEPS) {
    throw new CofreError(
      'COFRE_LIMIT_INVALID',
      `${where}: cap "${check.cap}" ${RANGE}; lower it in the policy`,
    );
  }
  if (amount === undefined || amount > LEDGER_MAX_STEPS) {
    throw new CofreError(
      'COFRE_LIMIT_INVALID',
      `${where}: this request would use "${check.amount}", which ${RANGE}; send a smaller one`,
    );
  }
  return { check, cap, amount, level };
}

const RANGE = `is not a decimal from 0 to ${fromSteps(LEDGER_MAX_STEPS)}`;

function isWindow(windowMs: number | undefined): boolean {
  return windowMs !== undefined && Number.isSafeInteger(windowMs) && windowMs >= 1;
}

/**
 * The committed actuals of a settlement in steps, rounded up. One beyond the range is counted as the range's top,
 * which exhausts every cap of its key for the window: the order was sent already, so refusing to record it would
 * only leave less counted. Throws `COFRE_LIMIT_INVALID` for one that is not a decimal (before anything changes).
 */
export function parseActualAmounts(
  actual: ReadonlyMap<string, Decimal> | undefined,
): ReadonlyMap<string, bigint> {
  const steps = new Map<string, bigint>();
  for (const [key, amount] of actual ?? []) {
    const parsed = toSteps(amount, 'up');
    if (parsed === undefined) {
      throw new CofreError('COFRE_LIMIT_INVALID', `the actual amount "${amount}" of ${key} is not a decimal`);
    }
    steps.set(key, parsed > LEDGER_MAX_STEPS ? LEDGER_MAX_STEPS : parsed);
  }
  return steps;
}

/** What a request holds, one per key: two checks on one key (two limits sharing a counter) hold the larger amount. */
export function heldPerKey(checks: readonly ParsedLimitCheck[]): readonly ParsedLimitCheck[] {
  const held = new Map<string, ParsedLimitCheck>();
  for (const c of checks) {
    const other = held.get(c.check.key);
    if (other === undefined || c.amount > other.amount) held.set(c.check.key, c);
  }
  return [...held.values()];
}

/** The window a held check's usage is committed under: none for a level (`openOrders`). */
export function heldWindowMs(held: ParsedLimitCheck): number | null {
  return held.level ? null : (held.check.windowMs ?? null);
}

/**
 * The refusal of `parsed` when `used` (committed in window plus reserved, before this request) leaves no room for
 * its amount; undefined when it fits.
 */
export function refusalOf(parsed: ParsedLimitCheck, used: bigint): LimitExceeded | undefined {
  if (used + parsed.amount <= parsed.cap) return undefined;
  return {
    ok: false,
    limit: parsed.check.limit,
    key: parsed.check.key,
    cap: fromSteps(parsed.cap),
    used: fromSteps(used),
    requested: fromSteps(parsed.amount),
  };
}
