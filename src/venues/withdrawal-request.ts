/**
 * Checks on a {@link WithdrawalRequest} before any of it reaches ccxt: what the broker should already have ensured,
 * and what ccxt would otherwise change or echo.
 *
 * SECURITY: no message here names the address or the memo. They come from the operator's address book, and the
 * broker tells agents the label only; an error that quoted the address would hand it to the agent (and to the
 * audit trail as agent-visible text). ccxt's own `checkAddress` quotes the address in its message, so the same
 * conditions are refused here first.
 */
import { CofreError } from '../errors.js';
import { compareDecimal, isDecimal } from './decimal.js';
import type { WithdrawalRequest } from './venue-account.js';

const ASSET = /^[A-Za-z0-9]{1,20}$/;
const NETWORK = /^[A-Za-z0-9_.-]{1,40}$/;
/** Binance's withdrawOrderId takes letters, digits, `-` and `_`; the broker's idempotency keys fit. */
const CLIENT_WITHDRAW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws `COFRE_INPUT_INVALID` naming the field (never its value when it is the address or memo). */
export function checkWithdrawalRequest(request: WithdrawalRequest): void {
  const bad = (why: string): never => {
    throw new CofreError('COFRE_INPUT_INVALID', `withdrawal of ${safeAsset(request.asset)}: ${why}`);
  };
  if (!ASSET.test(request.asset)) bad('asset must be a venue asset code such as "USDT"');
  if (!isDecimal(request.amount) || compareDecimal(request.amount, '0') <= 0) {
    bad('amount must be a positive decimal string such as "25.5"');
  }
  // ccxt refuses (and quotes) an address that is empty, one repeated character, or holds a space.
  if (request.address === '' || /\s/.test(request.address) || new Set(request.address).size === 1) {
    bad(
      'the destination address in the address book is malformed (empty, one repeated character, or holds whitespace)',
    );
  }
  if (request.memo !== undefined && (request.memo === '' || /[\s]/.test(request.memo))) {
    bad('the destination memo in the address book is malformed (empty or holds whitespace)');
  }
  if (request.network !== undefined && !NETWORK.test(request.network)) {
    bad('network must be a network code such as "TRC20" or "TRX"');
  }
  if (request.clientWithdrawId !== undefined && !CLIENT_WITHDRAW_ID.test(request.clientWithdrawId)) {
    bad('clientWithdrawId must be 1-64 letters, digits, "-" or "_"');
  }
}

/** Throws `COFRE_INPUT_INVALID` for a look-up by a malformed asset or client withdrawal id. */
export function checkWithdrawalLookup(ref: {
  readonly asset: string;
  readonly clientWithdrawId: string;
}): void {
  if (!ASSET.test(ref.asset)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'withdrawal look-up: asset must be a venue asset code such as "USDT"',
    );
  }
  if (!CLIENT_WITHDRAW_ID.test(ref.clientWithdrawId)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'withdrawal look-up: clientWithdrawId must be 1-64 letters, digits, "-" or "_"',
    );
  }
}

/**
 * Refuses an amount ccxt would change before sending: ccxt rounds a withdrawal's amount to the currency's (or the
 * network's) precision, and a withdrawal must go out exactly as policy approved it or not at all.
 */
export function checkExactAmount(
  request: WithdrawalRequest,
  sent: string | undefined,
  accountId: string,
): void {
  if (sent !== undefined && isDecimal(sent) && compareDecimal(sent, request.amount) === 0) return;
  throw new CofreError(
    'COFRE_INPUT_INVALID',
    `account "${accountId}": a withdrawal of ${request.amount} ${request.asset} has more decimals than the venue takes for it; nothing was sent. Ask for an amount with fewer decimals`,
    { details: { account: accountId, asset: request.asset, amount: request.amount } },
  );
}

function safeAsset(asset: string): string {
  return ASSET.test(asset) ? asset : 'an asset';
}
