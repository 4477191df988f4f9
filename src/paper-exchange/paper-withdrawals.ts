/**
 * Binance's "Withdraw (USER_DATA)" endpoint, `POST /sapi/v1/capital/withdraw/apply`, for the paper exchange, and
 * the record of every withdrawal it accepted, so that tests can count what reached the venue.
 *
 * Reference: https://developers.binance.com/docs/wallet/capital/withdraw. Parameters: `coin` (required),
 * `withdrawOrderId` ("client id for withdraw"), `network` (the coin's default network when absent), `address`
 * (required), `addressTag` (secondary address for coins that take one), `amount` (DECIMAL, required),
 * `transactionFeeFlag`, `name`, `walletType`, `recvWindow`, `timestamp`. Answer: `{ "id": "<32 hex>" }`.
 *
 * Where it differs from Binance on purpose: no withdrawal fee, no minimum or network rules (any network name is
 * taken), the amount leaves the free balance at once and the withdrawal never completes or fails later; an unknown
 * coin or a non-positive amount is answered with -1130 (Binance's codes for these are not published). Insufficient
 * free balance is -4026 "You have insufficient balance.", as ccxt expects from Binance.
 */
import { randomBytes } from 'node:crypto';

import { binanceErrors } from './binance-error.js';
import type { BinanceParams } from './binance-params.js';
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

  /** Every withdrawal accepted so far, oldest first (copies). */
  all(): PaperWithdrawal[] {
    return this.#done.map((w) => ({ ...w }));
  }
}
