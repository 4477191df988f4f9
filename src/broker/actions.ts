import { z } from 'zod';

import type { PolicyAction } from '../config/config-schema.js';
import { isDecimal } from '../venues/decimal.js';

// SECURITY: every string an agent sends is bounded and free of control characters, so nothing it sends can split a
// log line, an audit record or an HTTP header downstream (CR/LF/NUL injection).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
function text(max: number, description: string) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s), { error: 'must not contain control characters (CR, LF, NUL, …)' })
    .describe(description);
}

const account = text(64, 'Account id, as returned by list_accounts.').regex(/^[a-z][a-z0-9_-]*$/, {
  error: 'invalid account id',
});
const symbol = text(41, 'Market symbol in unified form BASE/QUOTE, e.g. "BTC/USDT".').regex(
  /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/,
  { error: 'invalid symbol; use BASE/QUOTE in capitals, e.g. BTC/USDT' },
);
const clientOrderId = text(
  36,
  'Your unique id for this order (1-36 letters, digits, "-", "_"). Required: it is the idempotency key, so sending the same request twice places one order.',
).regex(/^[A-Za-z0-9_-]+$/, { error: 'use 1-36 letters, digits, "-" or "_"' });
const asset = text(20, 'Asset code in capitals, e.g. "USDT".').regex(/^[A-Z0-9]{1,20}$/, {
  error: 'invalid asset; use the code in capitals, e.g. USDT',
});
const destination = text(
  64,
  'Address-book label of the destination, as the operator named it (never an address).',
).regex(/^[a-z][a-z0-9_-]*$/, {
  error: 'invalid destination; give an address-book label such as "cold-usdt"',
});
const clientWithdrawId = text(
  36,
  'Your unique id for this withdrawal (1-36 letters, digits, "-", "_"). Required: sending the same request twice withdraws once.',
).regex(/^[A-Za-z0-9_-]+$/, { error: 'use 1-36 letters, digits, "-" or "_"' });
const orderId = text(64, "The exchange's order id.").regex(/^[A-Za-z0-9_.:-]+$/, {
  error: 'invalid order id',
});

// Amounts and prices: a positive decimal as a string ("0.001") or a JSON number; numbers are converted through
// their shortest string form. Absurd magnitudes are rejected before any venue or policy sees them.
const MAX_DECIMAL = 1e12;
function positiveDecimal(description: string) {
  return z
    .union([z.string().max(40), z.number().positive().max(MAX_DECIMAL)])
    .transform((v, ctx) => {
      const s = typeof v === 'number' ? String(v) : v;
      if (!isDecimal(s) || Number(s) <= 0 || Number(s) > MAX_DECIMAL) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a positive decimal no larger than ${MAX_DECIMAL} with at most 18 decimals, e.g. "0.001"`,
        });
        return z.NEVER;
      }
      return s;
    })
    .describe(description);
}

const orderRef = {
  orderId: orderId.optional(),
  clientOrderId: clientOrderId.optional().describe('The clientOrderId the order was placed with.'),
};
function oneRef(input: { orderId?: string | undefined; clientOrderId?: string | undefined }): boolean {
  return (input.orderId === undefined) !== (input.clientOrderId === undefined);
}

const orderFields = {
  account,
  symbol,
  side: z.enum(['buy', 'sell']).describe('"buy" or "sell".'),
  type: z
    .enum(['market', 'limit'])
    .describe('"market" (fill now at the best price) or "limit" (at `price` or better).'),
  amount: positiveDecimal(
    'Quantity in the BASE asset (for BTC/USDT, in BTC), as a decimal string like "0.001".',
  ),
  price: positiveDecimal(
    'Limit price in the QUOTE asset per unit of BASE. Required for limit orders only.',
  ).optional(),
};
function limitNeedsPrice(order: { type: string; price?: string | undefined }, ctx: z.RefinementCtx): void {
  if (order.type === 'limit' && order.price === undefined) {
    ctx.addIssue({ code: 'custom', path: ['price'], message: 'a limit order needs a price' });
  }
  if (order.type === 'market' && order.price !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['price'], message: 'a market order takes no price' });
  }
}

// Issue 15, `http_request`: where the request goes is bounded here; what the service allows is checked against its
// `services:` entry after policy (service-proxy.ts).
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Largest request body, in bytes of its UTF-8 (or JSON) text. */
export const MAX_HTTP_BODY = 262_144;
/** Headers an agent may never set: cofre owns authentication, the connection and the framing. */
export const FORBIDDEN_HTTP_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

// SECURITY: a path is only ever appended to the service's base URL, and may not climb out of it: RFC 3986 path
// characters only (no `?`, `#`, `\`, spaces or control characters), no `//` (a scheme-relative URL to another host),
// no `.`/`..` segment, and no percent-encoded `.`, `/` or `\` a server might decode into one.
const httpPath = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/, {
    error:
      'a path starts with "/" and holds only URL path characters (no "?", "#", "\\", spaces); put the query in `query`',
  })
  .refine((p) => !p.includes('//'), { error: 'a path may not contain "//"' })
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), {
    error: 'a path may not contain "." or ".." segments',
  })
  .refine((p) => !/%(?![0-9A-Fa-f]{2})|%2e|%2f|%5c/i.test(p), {
    error: 'a path may not percent-encode ".", "/" or "\\", and every "%" starts an escape like %20',
  })
  .describe('The path under the service\'s base URL, starting with "/", e.g. "/posts/". Never a full URL.');

const httpName = (what: string) =>
  z
    .string()
    // The `\[` is for the other regex engines that read this pattern from the JSON Schema (pydantic's, in Rust).
    // eslint-disable-next-line no-useless-escape
    .regex(/^[A-Za-z0-9_.\-\[\]]{1,128}$/, { error: `invalid ${what} name` })
    .describe(`A ${what} name.`);

const jsonSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

const httpRequest = z
  .strictObject({
    service: text(64, 'The service, by the name the operator configured.').regex(/^[a-z][a-z0-9_-]*$/, {
      error: 'invalid service name',
    }),
    method: z.enum(HTTP_METHODS).describe('The HTTP method.'),
    path: httpPath,
    query: z
      .record(
        httpName('query parameter'),
        z
          .string()
          .max(2048)
          .refine((s) => !CONTROL.test(s), {
            error: 'must not contain control characters',
          }),
      )
      .refine((q) => Object.keys(q).length <= 50, { error: 'at most 50 query parameters' })
      .optional()
      .describe('Query parameters, as strings; cofre encodes them.'),
    headers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9-]{1,128}$/, { error: 'invalid header name' })
          .describe('A header name.'),
        z
          .string()
          .max(1024)
          .refine((s) => !CONTROL.test(s), { error: 'must not contain control characters' }),
      )
      .refine((h) => Object.keys(h).length <= 20, { error: 'at most 20 headers' })
      .refine(
        (h) =>
          Object.keys(h).every((n) => !FORBIDDEN_HTTP_HEADERS.has(n.toLowerCase()) && !/^proxy-/i.test(n)),
        { error: 'Authorization, Cookie, Host, Proxy-* and connection headers are set by cofre only' },
      )
      .optional()
      .describe(
        'Extra request headers, e.g. {"Accept": "application/json"}. cofre sets authentication itself.',
      ),
    body: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .refine((b) => (typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : jsonSize(b)) <= MAX_HTTP_BODY, {
        error: `the body is larger than ${MAX_HTTP_BODY} bytes`,
      })
      .optional()
      .describe(
        'The request body: a string is sent as it is, a JSON object or array as JSON (Content-Type application/json).',
      ),
  })
  .refine((r) => r.body === undefined || (r.method !== 'GET' && r.method !== 'HEAD'), {
    error: 'GET and HEAD requests take no body',
    path: ['body'],
  });

// Issue 19: wallets. The agent names a wallet, a destination label or contract name, and for a contract one of its
// known functions with named arguments; it never gives an address, and raw calldata only where a rule allows the
// contract and selector.
const walletName = text(64, 'The wallet, by the name the operator configured.').regex(/^[a-z][a-z0-9_-]*$/, {
  error: 'invalid wallet name',
});
const chainTarget = text(
  64,
  'Where the transaction goes: an address-book label, or the name of a contract the operator configured. Never an address.',
).regex(/^[a-z][a-z0-9_-]*$/, {
  error: 'invalid destination; give an address-book label or a contract name',
});
const clientTxId = text(
  36,
  'Your unique id for this transaction (1-36 letters, digits, "-", "_"). Required: sending the same request twice sends one transaction.',
).regex(/^[A-Za-z0-9_-]+$/, { error: 'use 1-36 letters, digits, "-" or "_"' });
const clientSignId = text(
  36,
  'Your unique id for this signature (1-36 letters, digits, "-", "_"). Required: asking twice signs once.',
).regex(/^[A-Za-z0-9_-]+$/, { error: 'use 1-36 letters, digits, "-" or "_"' });
/** A function argument: a label or contract name (or "self") for an address, a decimal or integer text for numbers. */
const callArgument = z
  .union([
    z
      .string()
      .max(200)
      .refine((s) => !CONTROL.test(s), { error: 'must not contain control characters' }),
    z.boolean(),
    z
      .array(
        z
          .string()
          .max(200)
          .refine((s) => !CONTROL.test(s), { error: 'must not contain control characters' }),
      )
      .max(16),
  ])
  .describe(
    'An address argument is a label, a contract name or "self" (this wallet); an ERC-20 amount is a decimal in token units ("10.5"); other integers are decimal digits.',
  );
const contractCall = z
  .union([
    z.strictObject({
      function: z
        .string()
        .regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/, { error: 'a function name, e.g. transfer' })
        .describe('A known function of the contract named in `to`, e.g. "transfer".'),
      args: z
        .record(z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/), callArgument)
        .refine((a) => Object.keys(a).length <= 16, { error: 'at most 16 arguments' })
        .optional()
        .describe('The arguments by name, e.g. {"to": "treasury", "amount": "10.5"}.'),
    }),
    z.strictObject({
      data: z
        .string()
        .regex(/^0x(?:[0-9a-fA-F]{2}){4,32768}$/, {
          error: 'hex calldata: 0x, a 4-byte selector, then arguments',
        })
        .describe('Raw calldata: refused unless a rule allows this contract and selector.'),
    }),
  ])
  .describe('A call of the contract named in `to`: a known function with named arguments (or raw calldata).');
const transactionFields = {
  wallet: walletName,
  to: chainTarget,
  value: positiveDecimal(
    'Native asset to send, in whole units (ETH, not wei), e.g. "0.01". Default none.',
  ).optional(),
  call: contractCall.optional(),
  chainId: z
    .int()
    .min(1)
    .optional()
    .describe("The chain id you expect; refused when it is not the wallet's chain."),
};
const typedData = z
  .strictObject({
    domain: z.record(z.string().max(64), z.unknown()).describe('The EIP-712 domain.'),
    types: z
      .record(
        z.string().max(64),
        z.array(z.strictObject({ name: z.string().max(64), type: z.string().max(64) })).max(32),
      )
      .describe('The EIP-712 types.'),
    primaryType: z.string().max(64).describe('The primary type, e.g. "Permit".'),
    message: z.record(z.string().max(64), z.unknown()).describe('The message to sign.'),
  })
  .refine((t) => jsonSize(t) <= 16_384, { error: 'typed data is larger than 16384 bytes' })
  .describe(
    'EIP-712 typed data. Known kinds only (EIP-2612 Permit of a configured token, Permit2); addresses in it must be configured.',
  );

// Issue 19: encryption as a service.
const encryptionKey = text(64, 'The encryption key, by the name the operator configured.').regex(
  /^[a-z][a-z0-9_-]*$/,
  { error: 'invalid key name' },
);
const purpose = text(
  64,
  'What the data is for, e.g. "notes": a label bound into the ciphertext; decrypt with the same one.',
).regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: 'a purpose label: lower-case letters, digits, "_", "." and "-"' });
/** Largest plaintext to `encrypt` (AWS KMS takes at most 4096 bytes: use generate_data_key for more there). */
export const MAX_PLAINTEXT = 32_768;
const dataEncoding = z
  .enum(['utf8', 'base64'])
  .default('utf8')
  .describe('How the plaintext is written: "utf8" text (default) or "base64" for binary.');

/** Every action's input schema. Strict: unknown fields are errors, so a typo is not silently ignored. */
export const actionInputSchemas = {
  list_accounts: z.strictObject({}),
  get_limits: z.strictObject({}),
  get_balance: z.strictObject({ account }),
  get_ticker: z.strictObject({ account, symbol }),
  get_open_orders: z.strictObject({ account, symbol: symbol.optional() }),
  get_order: z
    .strictObject({ account, symbol, ...orderRef })
    .refine(oneRef, { error: 'give exactly one of orderId and clientOrderId' }),
  preview_order: z.strictObject(orderFields).superRefine(limitNeedsPrice),
  place_order: z.strictObject({ ...orderFields, clientOrderId }).superRefine(limitNeedsPrice),
  cancel_order: z
    .strictObject({ account, symbol, ...orderRef })
    .refine(oneRef, { error: 'give exactly one of orderId and clientOrderId' }),
  cancel_all_orders: z.strictObject({ account, symbol: symbol.optional() }),
  withdraw: z.strictObject({
    account,
    asset,
    amount: positiveDecimal('Amount of `asset` to withdraw, as a decimal string like "250".'),
    destination,
    clientWithdrawId,
  }),
  http_request: httpRequest,
  get_wallet: z.strictObject({ wallet: walletName }),
  preview_transaction: z.strictObject(transactionFields),
  send_transaction: z.strictObject({ ...transactionFields, clientTxId }),
  sign_typed_data: z.strictObject({ wallet: walletName, typedData, clientSignId }),
  encrypt: z.strictObject({
    key: encryptionKey,
    purpose,
    plaintext: z
      .string()
      .max(Math.ceil((MAX_PLAINTEXT * 4) / 3) + 4)
      .describe('The data to encrypt.'),
    encoding: dataEncoding,
  }),
  decrypt: z.strictObject({
    key: encryptionKey,
    purpose,
    ciphertext: z
      .string()
      .min(1)
      .max(65_536)
      .regex(/^[A-Za-z0-9+/=:._-]+$/, { error: 'a ciphertext as encrypt returned it' })
      .describe('The ciphertext exactly as encrypt (or generate_data_key) returned it.'),
    encoding: dataEncoding.describe('How to return the plaintext: "utf8" text (default) or "base64".'),
  }),
  generate_data_key: z.strictObject({
    key: encryptionKey,
    purpose,
    bits: z
      .union([z.literal(128), z.literal(256)])
      .default(256)
      .describe('Data key size: 256 (default) or 128.'),
  }),
  get_request: z.strictObject({
    requestId: text(64, 'The requestId returned by an earlier action.').regex(/^[A-Za-z0-9_-]+$/, {
      error: 'invalid request id',
    }),
  }),
} as const satisfies Partial<Record<PolicyAction, z.ZodType>>;

export type ActionName = keyof typeof actionInputSchemas;
export type ActionInput<A extends ActionName> = z.output<(typeof actionInputSchemas)[A]>;

export const ACTION_NAMES = Object.keys(actionInputSchemas) as ActionName[];

/** Actions that change state at the venue: they need an idempotency key and are never retried. */
export const WRITE_ACTIONS: ReadonlySet<ActionName> = new Set([
  'place_order',
  'cancel_order',
  'cancel_all_orders',
  'withdraw',
  'send_transaction',
  'sign_typed_data',
]);

const SAFETY =
  'It may be denied by policy: the answer then has status "denied" and names the rule and the reason; do not retry a denied request unchanged.';

/**
 * Descriptions written for a language model choosing a tool: what it does, units, and that it may be denied. The
 * same text documents the HTTP actions.
 */
export const actionDescriptions: Readonly<Record<ActionName, string>> = {
  list_accounts:
    'List the trading accounts you may use, with venue and mode (live = real money, sandbox = test network, paper = simulated). Use the account id in other actions.',
  get_limits:
    'Get every limit that applies to you (per-order caps are in the policy; these are the budgets): scope, window, cap, used and remaining. Check it before a large order.',
  get_balance: `Get the balance of an account: per asset, free, used (locked in open orders) and total, as decimal strings. ${SAFETY}`,
  get_ticker: `Get the latest price of a market (bid, ask, last) in the QUOTE asset. ${SAFETY}`,
  get_open_orders: `List open orders of an account, optionally for one market. ${SAFETY}`,
  get_order: `Get one order by the exchange orderId or by your clientOrderId: status (open, closed, canceled, expired, rejected), amount, filled, prices. ${SAFETY}`,
  preview_order: `Check an order without sending it: returns the order as it would be sent (amount rounded down to the market's step) and an estimate of its value in the QUOTE asset, and the decision place_order would get (allow, deny or approval, with the rule and the limits it would use). Nothing is placed or reserved. ${SAFETY}`,
  place_order: `Place a market or limit order. The status may be "pending_approval": an operator must approve it first; ask get_request with the requestId later (do not place it again). amount is in the BASE asset; price (limit only) in QUOTE per BASE. clientOrderId is required and makes the call idempotent: repeating it returns the first result instead of placing a second order. If the status is "failed" with code COFRE_VENUE_OUTCOME_UNKNOWN the order may or may not exist: check with get_order using the same clientOrderId, never place it again blindly. ${SAFETY}`,
  cancel_order: `Cancel an open order by orderId or clientOrderId. Cancelling an order that is already closed fails with a clear reason. ${SAFETY}`,
  cancel_all_orders: `Cancel every open order of an account, or only those of one market when symbol is given. Returns the orders cancelled. ${SAFETY}`,
  withdraw: `Withdraw an asset to a destination the operator put in the address book, named by its label (you never give an address). clientWithdrawId makes it idempotent. Withdrawals usually wait for an operator's approval: the status is then "pending_approval"; ask get_request with the requestId later. ${SAFETY}`,
  http_request: `Call an HTTP API the operator configured as a service (a news feed, market data), without its credential: cofre adds the API key itself and returns the status, safe headers and body (text, or base64 with encoding "base64" for binary). path is relative to the service (e.g. "/posts/"), never a full URL; query is a map of strings; body (not for GET/HEAD) is a string or JSON. Which services, methods and paths you may use is set by policy and by the service. Redirects are not followed (a 3xx comes back as it is). Requests other than GET and HEAD are not retried by cofre: repeat one only if repeating it is harmless. ${SAFETY}`,
  get_wallet: `Get a wallet you may use: its chain, its address and its balances (native asset and configured tokens), as decimal strings. ${SAFETY}`,
  preview_transaction: `Check a transaction without sending it: the call decoded, what it moves and to whom, the simulation (would it revert, the gas it needs) and the decision send_transaction would get. Nothing is signed or reserved. The simulation is advisory: the chain can change before a send. ${SAFETY}`,
  send_transaction: `Send a transaction from a wallet: native value to an address-book label ("to" = label, "value" in whole units such as "0.01"), or a call of a known function of a configured contract ("to" = contract name, "call" = {"function": "transfer", "args": {"to": "treasury", "amount": "10.5"}}). You never give an address. cofre simulates it first (a call that would revert is not sent), signs with a key you never hold, and returns the transaction hash and, when mined in time, its status. clientTxId makes it idempotent. The status may be "pending_approval": ask get_request later, do not send it again. If it fails with COFRE_VENUE_OUTCOME_UNKNOWN, the transaction may have been broadcast: ask get_request with the requestId, never send it again blindly. ${SAFETY}`,
  sign_typed_data: `Sign EIP-712 typed data with a wallet: known kinds only (an EIP-2612 Permit of a configured token, Permit2), judged by policy as the approval it grants; other typed data is denied. Returns the signature. clientSignId makes it idempotent. ${SAFETY}`,
  encrypt: `Encrypt your own data (up to ${MAX_PLAINTEXT} bytes; 4096 with an AWS KMS key) under a key the operator configured; you never hold the key. The purpose label is bound into the ciphertext: decrypt needs the same key and purpose, and only you can decrypt it. Returns the ciphertext as text. ${SAFETY}`,
  decrypt: `Decrypt a ciphertext that encrypt (or generate_data_key) gave you, with the same key and purpose. Another agent's ciphertext, or one changed in any way, is refused. ${SAFETY}`,
  generate_data_key: `Get a fresh data key for envelope encryption of large data: the key in plaintext (base64; use it, then forget it) and encrypted under the named key (keep that with your data, and get the plaintext back with decrypt and the same purpose). ${SAFETY}`,
  get_request: 'Get the stored result of an earlier request of yours by its requestId.',
};
