/**
 * Binance's "Withdraw (USER_DATA)" endpoint, `POST /sapi/v1/capital/withdraw/apply`, for the paper exchange, and
 * the record of every withdrawal it accepted, so that tests can count what reached the venue.
 *
 * Reference: https://developers.binance.com/docs/wallet/capital/withdraw. Parameters: `coin` (required),
 * `withdrawOrderId` ("client id for withdraw"), `network` (the coin's default network when absent), `address`
 * (required), `addressTag` (secondary address for coins that take one), `amount` (DECIMAL, required),
 * `transactionFeeFlag`, `name`, `walletType`, `recvWindow`, `timestamp`. Answer: `{ "id": "<32 hex>" }`.
 *
 * Also "Withdraw History (supporting network) (USER_DATA)", `GET /sapi/v1/capital/withdraw/history`
 * (https://developers.binance.com/docs/wallet/capital/withdraw-history): filters `coin`, `withdrawOrderId`, `status`,
 * `startTime`/`endTime` (default: the last 90 days, or the last 7 days when `withdrawOrderId` is given), `offset`,
 * `limit` (default and maximum 1000); newest first; `applyTime` as `YYYY-MM-DD HH:mm:ss` UTC.
 *
 * Where it differs from Binance on purpose: no withdrawal fee, no minimum or network rules (any network name is
 * taken), the amount leaves the free balance at once and the withdrawal stays "Processing" (status 4) for good; an unknown
 * coin or a non-positive amount is answered with -1130 (Binance's codes for these are not published). Insufficient
 * free balance is -4026 "You have insufficient balance.", as ccxt expects from Binance.
 */
import { randomBytes } from 'node:crypto';

import { binanceErrors } from './binance-error.js';
import type { BinanceParams } from './binance-params.js';
import { ExactDecimal } from './exact-decimal.js';
import type { PaperEngine } from './paper-engine.js';

/** A withdrawal the paper exchange accepted (a copy; the amount as an exact decimal string). */
export interface PaperWithdrawal {
  /** The account's API key (the account's name here). */
  readonly apiKey: string;
  /** The id the answer carried. */
  readonly id: string;
  readonly coin: string;
  readonly amount: string;
  /** Undefined when the request named none (the coin's default network). */
  readonly network: string | undefined;
  readonly address: string;
  readonly addressTag: string | undefined;
  readonly withdrawOrderId: string | undefined;
  /** Server time when it was accepted. */
  readonly applyTime: number;
}

const COIN = /^[A-Z0-9]{1,20}$/;
const DAY_MS = 86_400_000;
/** Binance's withdrawal status "Processing". */
const PROCESSING = 4;
const TEXT = /^[\x21-\x7e]{1,128}$/;

/** The withdrawals of one paper exchange. Synchronous, like the engine it debits. */
export class PaperWithdrawals {
  readonly #engine: PaperEngine;
  readonly #done: PaperWithdrawal[] = [];

  constructor(engine: PaperEngine) {
    this.#engine = engine;
  }

  /** Handles `POST /sapi/v1/capital/withdraw/apply` for a verified account; see the module comment. */
  apply(apiKey: string, params: BinanceParams, serverTime: number): { id: string } {
    const coin = params.required('coin');
    if (!COIN.test(coin) || !this.#engine.knowsAsset(apiKey, coin))
      throw binanceErrors.invalidParameter('coin');
    const address = params.required('address');
    if (!TEXT.test(address)) throw binanceErrors.invalidParameter('address');
    const amount = params.requiredDecimal('amount');
    if (!amount.isPositive()) throw binanceErrors.invalidParameter('amount');
    const network = params.optional('network');
    const addressTag = params.optional('addressTag');
    const withdrawOrderId = params.optional('withdrawOrderId');
    for (const [name, value] of [
      ['network', network],
      ['addressTag', addressTag],
      ['withdrawOrderId', withdrawOrderId],
    ] as const) {
      if (value !== undefined && !TEXT.test(value)) throw binanceErrors.invalidParameter(name);
    }
    this.#engine.debitFree(apiKey, coin, amount);
    const id = randomBytes(16).toString('hex');
    this.#done.push({
      apiKey,
      id,
      coin,
      amount: amount.toString(),
      network,
      address,
      addressTag,
      withdrawOrderId,
      applyTime: serverTime,
    });
    return { id };
  }

  /** Handles `GET /sapi/v1/capital/withdraw/history` for a verified account; see the module comment. */
  history(apiKey: string, params: BinanceParams, serverTime: number): Record<string, unknown>[] {
    const coin = params.optional('coin');
    const withdrawOrderId = params.optional('withdrawOrderId');
    const status = params.optionalLong('status');
    const endTime = params.optionalLong('endTime') ?? serverTime;
    const startTime =
      params.optionalLong('startTime') ?? endTime - (withdrawOrderId === undefined ? 90 : 7) * DAY_MS;
    const offset = params.optionalLong('offset') ?? 0;
    const limit = params.optionalLong('limit') ?? 1000;
    if (limit < 1 || limit > 1000) throw binanceErrors.invalidParameter('limit');
    return this.#done
      .filter(
        (w) =>
          w.apiKey === apiKey &&
          (coin === undefined || w.coin === coin) &&
          (withdrawOrderId === undefined || w.withdrawOrderId === withdrawOrderId) &&
          (status === undefined || status === PROCESSING) &&
          w.applyTime >= startTime &&
          w.applyTime <= endTime,
      )
      .reverse()
      .slice(offset, offset + limit)
      .map((w) => ({
        id: w.id,
        amount: ExactDecimal.parse(w.amount)?.toFixed() ?? w.amount,
        transactionFee: '0',
        coin: w.coin,
        status: PROCESSING,
        address: w.address,
        ...(w.addressTag === undefined ? {} : { addressTag: w.addressTag }),
        txId: '',
        applyTime: new Date(w.applyTime).toISOString().slice(0, 19).replace('T', ' '),
        ...(w.network === undefined ? {} : { network: w.network }),
        transferType: 0,
        ...(w.withdrawOrderId === undefined ? {} : { withdrawOrderId: w.withdrawOrderId }),
        confirmNo: 0,
        walletType: 0,
      }));
  }

  /** Every withdrawal accepted so far, oldest first (copies). */
  all(): PaperWithdrawal[] {
    return this.#done.map((w) => ({ ...w }));
  }
}
