import { z } from 'zod';

import { decryptResult, encryptResult, generateDataKeyResult } from '../encryption/encryption-results.js';
import {
  getWalletResult,
  previewTransactionResult,
  sendTransactionResult,
  signTypedDataResult,
} from '../wallets/wallet-results.js';
import type { ActionName } from './actions.js';

// The `result` of each action as it travels in JSON (fields the broker leaves undefined are absent). These schemas
// are the contract the OpenAPI document, the MCP tools' outputSchema and the TypeScript and Python clients are built
// from; test/e2e/action-results.test.ts holds real results from a running broker to them, so a result that grows a
// field without its schema fails there first.

const decimal = (description: string) =>
  z.string().describe(`${description} (a decimal string, e.g. "0.001")`);
const isoTime = z.string().describe('ISO 8601 time.');

const order = z
  .object({
    id: z.string().describe("The exchange's order id."),
    clientOrderId: z.string().optional().describe('The clientOrderId the order was placed with.'),
    symbol: z.string(),
    side: z.enum(['buy', 'sell']),
    type: z
      .enum(['market', 'limit', 'other'])
      .describe('"other" for venue-specific types cofre does not place itself (stop, take-profit, ...).'),
    status: z.enum(['open', 'closed', 'canceled', 'expired', 'rejected']),
    amount: decimal('Ordered quantity in the BASE asset'),
    filled: decimal('Filled quantity in the BASE asset'),
    price: decimal('Limit price in the QUOTE asset').optional(),
    average: decimal('Average fill price in the QUOTE asset').optional(),
    timestamp: isoTime.optional(),
  })
  .describe('An order as the exchange reports it.');

const limitUse = z.object({
  limit: z.string().describe('Where the limit is written in the policy, or its name.'),
  cap: decimal('The cap, in the unit of the limit'),
  used: decimal('Used now within its window, reservations included'),
  needs: decimal('What this order would use of it'),
});

const listAccounts = z.object({
  accounts: z.array(
    z.object({
      account: z.string().describe('Account id to use in other actions.'),
      venue: z.string().describe('The exchange (a ccxt id, e.g. "binance").'),
      mode: z
        .enum(['live', 'sandbox', 'paper'])
        .describe('live = real money, sandbox = test network, paper = simulated.'),
      refused: z
        .literal(true)
        .optional()
        .describe('Present when cofre refuses this account (its key is too broad).'),
      problems: z.array(z.string()).optional().describe('Why the account is refused.'),
    }),
  ),
});

const getLimits = z.object({
  limits: z.array(
    z.object({
      limit: z.string().describe('Where the limit is written in the policy, or its name.'),
      key: z.string().describe('The counter it draws on; limits with the same key share one budget.'),
      measure: z.enum(['notional', 'orders', 'openOrders', 'withdrawals']),
      scope: z.string().describe('Whose budget it is: global, an account, or an agent.'),
      windowMs: z
        .number()
        .int()
        .positive()
        .optional()
        .describe('Rolling window in ms; absent for openOrders.'),
      cap: decimal('The cap, in `unit` (a count when absent)'),
      unit: z.string().optional().describe('The quote asset(s) for notional, the asset for withdrawals.'),
      used: decimal('Used now within its window, reservations included'),
      remaining: decimal('What is left'),
    }),
  ),
});

const getBalance = z.object({
  balance: z.object({
    assets: z
      .record(
        z.string(),
        z.object({
          free: decimal('Available'),
          used: decimal('Locked in open orders'),
          total: decimal('free + used'),
        }),
      )
      .describe('By asset code; zero balances are left out.'),
  }),
});

const getTicker = z.object({
  ticker: z.object({
    symbol: z.string(),
    bid: decimal('Best bid in the QUOTE asset').optional(),
    ask: decimal('Best ask in the QUOTE asset').optional(),
    last: decimal('Last trade price in the QUOTE asset').optional(),
    timestamp: isoTime.optional(),
  }),
});

const previewOrder = z.object({
  order: z
    .object({
      symbol: z.string(),
      base: z.string(),
      quote: z.string(),
      side: z.enum(['buy', 'sell']),
      type: z.enum(['market', 'limit']),
      amount: decimal("Quantity in BASE, rounded down to the market's step"),
      price: decimal('Limit price in QUOTE').optional(),
      referencePrice: decimal("The venue's last price in QUOTE").optional(),
      notional: decimal('amount × (limit price, or the reference price for a market order), in QUOTE'),
    })
    .describe('The order as place_order would send it.'),
  sent: z.literal(false).describe('A preview never sends anything.'),
  decision: z.object({
    decision: z.enum(['allow', 'deny', 'approval', 'confirm']),
    rule: z.string().describe('The policy rule that would decide.'),
    reason: z.string(),
    limits: z.array(limitUse).describe('The limits place_order would draw on.'),
  }),
});

const orderResult = z.object({ order });
const ordersResult = z.object({ orders: z.array(order) });

const withdraw = z.object({
  withdrawal: z.object({
    id: z.string().describe("The exchange's id of the withdrawal."),
    asset: z.string(),
    amount: decimal('The amount sent, exactly as requested'),
    network: z.string().optional(),
    status: z.enum(['pending', 'ok', 'failed', 'canceled']),
    timestamp: isoTime.optional(),
    destination: z.string().describe('The address-book label it went to (never the address).'),
  }),
});

const httpRequest = z.object({
  response: z
    .object({
      status: z
        .number()
        .int()
        .describe('The HTTP status the service answered (a 3xx is returned, never followed).'),
      headers: z
        .record(z.string(), z.string())
        .describe(
          'Safe response headers only (content-type, caching, rate-limit headers, a same-origin location), by lower-case name.',
        ),
      body: z
        .string()
        .describe('The body: text when `encoding` is "utf8", base64 when it is "base64" (binary).'),
      encoding: z.enum(['utf8', 'base64']),
    })
    .describe("The service's answer, scrubbed of its credential."),
});

const direct = {
  list_accounts: listAccounts,
  get_limits: getLimits,
  get_balance: getBalance,
  get_ticker: getTicker,
  get_open_orders: ordersResult,
  get_order: orderResult,
  preview_order: previewOrder,
  place_order: orderResult,
  cancel_order: orderResult,
  cancel_all_orders: ordersResult,
  withdraw,
  http_request: httpRequest,
  get_wallet: getWalletResult,
  preview_transaction: previewTransactionResult,
  send_transaction: sendTransactionResult,
  sign_typed_data: signTypedDataResult,
  encrypt: encryptResult,
  decrypt: decryptResult,
  generate_data_key: generateDataKeyResult,
} as const;

/**
 * The `result` of an `executed` response, per action. `get_request` answers with the stored response of an earlier
 * request, so its result is that request's: any of the others.
 */
export const actionResultSchemas = {
  ...direct,
  get_request: z
    .union([
      listAccounts,
      getLimits,
      getBalance,
      getTicker,
      previewOrder,
      orderResult,
      ordersResult,
      withdraw,
      httpRequest,
      getWalletResult,
      previewTransactionResult,
      sendTransactionResult,
      signTypedDataResult,
      encryptResult,
      decryptResult,
      generateDataKeyResult,
    ])
    .describe('The result of the earlier request, whichever action it was.'),
} as const satisfies Record<ActionName, z.ZodType>;

export type ActionResult<A extends ActionName> = z.output<(typeof actionResultSchemas)[A]>;
