import { z } from 'zod';

import { configNameSchema } from './config-name.js';
import type { DeepReadonly } from './deep-freeze.js';
import { durationSchema } from './duration.js';

// The policy language of `cofre.yaml` (issue 9): rules with one effect each, conditions on the resolved action, and
// limits that the state store keeps. The engine that evaluates it is src/policy/rule-policy.ts.

/** Actions an agent may be allowed; the names of the HTTP actions and MCP tools (DESIGN.md). */
export const POLICY_ACTIONS = [
  'list_accounts',
  'get_limits',
  'get_balance',
  'get_ticker',
  'get_open_orders',
  'get_order',
  'preview_order',
  'place_order',
  'cancel_order',
  'cancel_all_orders',
  'withdraw',
  'get_request',
  // Issue 15: an HTTP API of `services` (the service proxy), and a connection to one of `databases`.
  'http_request',
  'connect_database',
  // Issue 19: wallets on EVM chains (keys in AWS KMS or cofre's store), and encryption as a service.
  'get_wallet',
  'preview_transaction',
  'send_transaction',
  'sign_typed_data',
  'encrypt',
  'decrypt',
  'generate_data_key',
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** What a rule does when it matches. `deny` wins over everything, then `approve`, then `confirm`, then `allow`. */
export const RULE_EFFECTS = ['allow', 'approve', 'deny', 'confirm'] as const;
export type RuleEffect = (typeof RULE_EFFECTS)[number];

const MODES = ['live', 'sandbox', 'paper'] as const;

/** Actions that carry an order (`sides`, `types`, notional and price conditions apply to them only). */
export const ORDER_ACTIONS: ReadonlySet<PolicyAction> = new Set(['place_order', 'preview_order']);

/** Issue 19: actions on a wallet. */
export const WALLET_ACTIONS: ReadonlySet<PolicyAction> = new Set([
  'get_wallet',
  'preview_transaction',
  'send_transaction',
  'sign_typed_data',
]);
/** Issue 19: actions that carry a resolved transaction or typed data (what it moves, to whom, which call). */
export const TRANSACTION_ACTIONS: ReadonlySet<PolicyAction> = new Set([
  'preview_transaction',
  'send_transaction',
  'sign_typed_data',
]);
/** Issue 19: encryption as a service. */
export const ENCRYPTION_ACTIONS: ReadonlySet<PolicyAction> = new Set([
  'encrypt',
  'decrypt',
  'generate_data_key',
]);

export const policyActionSchema = z.enum(POLICY_ACTIONS).superRefine((action, ctx) => {
  if (action === 'get_request') {
    // Every agent may always read its own requests and never another's, so listing it would suggest a choice that
    // does not exist.
    ctx.addIssue({
      code: 'custom',
      message: 'get_request is not a policy action: every agent may read its own requests, and only those',
      params: { hint: 'remove it from the list' },
    });
  }
});

/** Plain decimals as the venue code uses them: at most 30 integer and 18 fraction digits, no sign, no exponent. */
const DECIMAL_TEXT = /^\d{1,30}(?:\.\d{1,18})?$/;

/** A non-negative decimal written as a number or a string; output is its text (`500` → `"500"`), never a float. */
export const decimalSchema = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const text = typeof value === 'number' ? String(value) : value.trim();
    if (!DECIMAL_TEXT.test(text)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a non-negative decimal such as 500 or "0.25"',
        params: { hint: 'write large or very precise values as a quoted string, e.g. "0.000001"' },
      });
      return z.NEVER;
    }
    return text;
  })
  .describe('A non-negative decimal, as a number or a string (exact; never rounded through floating point).');

const assetSchema = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/, { error: 'invalid asset; use the ticker in capitals, e.g. USDT' });

const SYMBOL_SIDE = '[A-Z0-9*?]{1,20}';
const SYMBOL_PATTERN = new RegExp(`^(?:\\*|${SYMBOL_SIDE}/${SYMBOL_SIDE})$`);

const symbolPatternSchema = z.string().regex(SYMBOL_PATTERN, {
  error:
    'invalid symbol; write BASE/QUOTE in capitals, with * or ? as wildcards within one side (e.g. "ETH/*")',
});

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_RANGE = /^(sun|mon|tue|wed|thu|fri|sat)(?:-(sun|mon|tue|wed|thu|fri|sat))?$/;
/** `08:00-20:00`; an end before the start wraps past midnight; `24:00` ends at midnight. */
export const TIME_RANGE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/;

/** Parses `mon-fri` or `[mon, wed]` to day numbers (0 = Sunday, as `Date.getDay`); a range may wrap (`fri-mon`). */
export function parseDays(days: string | readonly string[]): ReadonlySet<number> {
  const out = new Set<number>();
  for (const item of typeof days === 'string' ? [days] : days) {
    const m = DAY_RANGE.exec(item);
    if (m === null) continue;
    const from = DAY_NAMES.indexOf(m[1] as (typeof DAY_NAMES)[number]);
    const to = DAY_NAMES.indexOf((m[2] ?? m[1]) as (typeof DAY_NAMES)[number]);
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return out;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const daysItemSchema = z.string().regex(DAY_RANGE, {
  error: 'invalid days; use three-letter names: "mon-fri", "sat-sun", or a list like [mon, wed]',
});

const hoursSchema = z
  .strictObject({
    days: z
      .union([daysItemSchema, z.array(daysItemSchema).min(1)])
      .optional()
      .describe('Days of the week in `timeZone`: a range such as `mon-fri`, or a list such as `[mon, wed]`.'),
    time: z
      .string()
      .regex(TIME_RANGE, { error: 'invalid time; use "HH:MM-HH:MM" (24-hour clock), e.g. "08:00-20:00"' })
      .refine((t) => t.slice(0, 5) !== t.slice(6), { error: 'the time range is empty: start equals end' })
      .optional()
      .describe(
        'Wall-clock time in `timeZone`, start included, end excluded; an end before the start wraps past midnight.',
      ),
    timeZone: z
      .string()
      .default('UTC')
      .refine(isTimeZone, {
        error: 'unknown time zone; use an IANA name such as Europe/Lisbon or America/New_York',
      })
      .describe('IANA time zone the days and times are read in (daylight saving time included).'),
  })
  .refine(
    (h) => (h as { days?: unknown }).days !== undefined || (h as { time?: unknown }).time !== undefined,
    {
      error: 'hours needs `days`, `time` or both',
    },
  )
  .describe('When the rule applies: local days and time in a time zone.');

const approversSchema = z
  .strictObject({
    count: z.int().min(1).max(10).describe('Distinct operators who must approve.'),
    of: z
      .array(configNameSchema('operator'))
      .min(1)
      .optional()
      .describe('Operators who may approve (ids of `cofre operator add`); absent: any operator.'),
  })
  .refine(
    (a) => {
      const of = (a as { of?: unknown }).of;
      return !Array.isArray(of) || (a as { count: number }).count <= of.length;
    },
    { error: 'approvers.count is larger than the list in approvers.of', path: ['count'] },
  )
  .describe('For `approve` rules: how many operators must approve, and which.');

const actionListSchema = z.array(policyActionSchema).min(1);

/** The condition keys of a rule, and the actions each can ever apply to (undefined: any action). */
export const CONDITION_ACTIONS: Readonly<Record<string, ReadonlySet<PolicyAction> | undefined>> = {
  accounts: undefined,
  venues: undefined,
  modes: undefined,
  symbols: undefined,
  sides: ORDER_ACTIONS,
  types: ORDER_ACTIONS,
  minNotional: new Set([...ORDER_ACTIONS, ...TRANSACTION_ACTIONS]),
  maxNotional: new Set([...ORDER_ACTIONS, ...TRANSACTION_ACTIONS]),
  minAmount: new Set([...ORDER_ACTIONS, 'withdraw', ...TRANSACTION_ACTIONS]),
  maxAmount: new Set([...ORDER_ACTIONS, 'withdraw', ...TRANSACTION_ACTIONS]),
  priceBand: ORDER_ACTIONS,
  hours: undefined,
  destinations: new Set(['withdraw', ...TRANSACTION_ACTIONS]),
  assets: new Set([...ORDER_ACTIONS, 'withdraw', ...TRANSACTION_ACTIONS]),
  services: new Set(['http_request']),
  methods: new Set(['http_request']),
  paths: new Set(['http_request']),
  databases: new Set(['connect_database']),
  // Issue 19 (conditions compiled in src/policy/wallet-conditions.ts and encryption-conditions.ts).
  wallets: WALLET_ACTIONS,
  chains: WALLET_ACTIONS,
  contracts: TRANSACTION_ACTIONS,
  functions: TRANSACTION_ACTIONS,
  selectors: TRANSACTION_ACTIONS,
  maxGas: new Set(['preview_transaction', 'send_transaction']),
  maxGasPrice: new Set(['preview_transaction', 'send_transaction']),
  keys: ENCRYPTION_ACTIONS,
  purposes: ENCRYPTION_ACTIONS,
};

const ruleSchema = z
  .strictObject({
    allow: actionListSchema.optional().describe('Allows these actions when every condition holds.'),
    approve: actionListSchema
      .optional()
      .describe('These actions wait for operator approval when every condition holds.'),
    confirm: actionListSchema
      .optional()
      .describe(
        "These actions need the confirmation of the human at the agent's MCP client (denied where it cannot ask).",
      ),
    deny: actionListSchema
      .optional()
      .describe('Denies these actions when every condition holds, whatever other rules say.'),
    name: configNameSchema('rule')
      .optional()
      .describe('A name shown with the rule in decisions, e.g. `policies.trader.rules[2] (big-orders)`.'),
    mode: z
      .enum(['enforce', 'shadow'])
      .default('enforce')
      .describe('`shadow`: evaluated and recorded when it would change the decision, not enforced.'),
    accounts: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Account ids, or `*` for every configured account.'),
    venues: z.array(z.string()).min(1).optional().describe("ccxt ids of the accounts' venues."),
    modes: z.array(z.enum(MODES)).min(1).optional().describe("The accounts' modes."),
    symbols: z
      .array(symbolPatternSchema)
      .min(1)
      .optional()
      .describe('Markets, exact (`BTC/USDT`) or with `*`/`?` within one side (`ETH/*`, `*/BUSD`).'),
    sides: z
      .array(z.enum(['buy', 'sell']))
      .min(1)
      .optional()
      .describe('Order sides.'),
    types: z
      .array(z.enum(['market', 'limit']))
      .min(1)
      .optional()
      .describe('Order types.'),
    minNotional: decimalSchema
      .optional()
      .describe(
        "Smallest order value, in its quote asset; for transactions and typed data, their value in the chain's `quote` (an unpriced one does not match).",
      ),
    maxNotional: decimalSchema
      .optional()
      .describe(
        "Largest order value, in its quote asset (per order); for transactions and typed data, their value in the chain's `quote` (an unpriced one does not match).",
      ),
    minAmount: decimalSchema
      .optional()
      .describe(
        'Smallest order amount (base asset) or withdrawal amount; for transactions, every amount moved (for approvals, the allowance).',
      ),
    maxAmount: decimalSchema
      .optional()
      .describe(
        'Largest order amount (base asset) or withdrawal amount; for transactions, every amount moved (for approvals, the allowance), in units of its asset.',
      ),
    priceBand: z
      .string()
      .regex(/^\d{1,2}(?:\.\d{1,6})?%$/, {
        error: 'invalid priceBand; write a percentage below 100, e.g. "2%"',
      })
      .refine((p) => !p.endsWith('%') || Number(p.slice(0, -1)) > 0, { error: 'priceBand must be above 0%' })
      .optional()
      .describe(
        'A limit price must lie within this distance of the reference price; a market order matches only when a reference price exists.',
      ),
    hours: hoursSchema.optional(),
    destinations: z
      .array(z.string())
      .min(1)
      .optional()
      .describe(
        'Withdrawal destinations: labels of `addressBook`. For transactions and typed data, every recipient (address-book labels and contract names) must be listed.',
      ),
    assets: z
      .array(assetSchema)
      .min(1)
      .optional()
      .describe(
        'Assets: a withdrawal of one of them, an order whose base or quote is one of them, or a transaction whose every move is of one of them.',
      ),
    services: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('`http_request`: names of `services`, or `*` for every configured service.'),
    methods: z
      .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']))
      .min(1)
      .optional()
      .describe('`http_request`: HTTP methods.'),
    paths: z
      .array(z.string().regex(/^\/[\x21-\x7e]*$/, { error: 'a path glob starts with / and has no spaces' }))
      .min(1)
      .optional()
      .describe(
        "`http_request`: path globs under the service's base URL (`*` within a segment, `**` across).",
      ),
    databases: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('`connect_database`: names of `databases`, or `*` for every configured database.'),
    wallets: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Wallet actions: names of `wallets`, or `*` for every configured wallet.'),
    chains: z.array(z.string()).min(1).optional().describe('Wallet actions: names of `chains`.'),
    contracts: z
      .array(z.string())
      .min(1)
      .optional()
      .describe(
        "Transactions and typed data: the contract called (or whose typed data is signed), by its name in the chain's `contracts`. A plain transfer of the native asset calls no contract and does not match.",
      ),
    functions: z
      .array(z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, { error: 'a function name, e.g. transfer' }))
      .min(1)
      .optional()
      .describe(
        'Transactions and typed data: function names (`transfer`, `approve`, `swapExactTokensForTokens`; `permit` for EIP-2612 and Permit2 typed data). Approvals (`approve`, `increaseAllowance`, `permit`) match only rules that name them here.',
      ),
    selectors: z
      .array(
        z
          .string()
          .regex(/^0x[0-9a-f]{8}$/, { error: 'a 4-byte selector in lower-case hex, e.g. 0xa9059cbb' }),
      )
      .min(1)
      .optional()
      .describe(
        'Raw calldata from the agent (`call.data`) matches only a rule that lists its 4-byte selector here, with `contracts`.',
      ),
    maxGas: z.int().min(21_000).optional().describe('Largest gas limit of a transaction.'),
    maxGasPrice: decimalSchema.optional().describe('Largest fee per gas (EIP-1559 `maxFeePerGas`), in gwei.'),
    keys: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Encryption actions: names of `encryptionKeys`, or `*` for every configured key.'),
    purposes: z
      .array(
        z.string().regex(/^[a-z0-9*?][a-z0-9_.*?-]{0,63}$/, {
          error: 'a purpose label or glob, e.g. notes or positions-*',
        }),
      )
      .min(1)
      .optional()
      .describe('Encryption actions: purpose labels, exact or with `*`/`?` (e.g. `positions-*`).'),
    approvers: approversSchema.optional(),
  })
  .superRefine(checkRule, { when: () => true })
  .describe(
    'One rule: exactly one effect (`allow`, `approve`, `confirm` or `deny`) with its actions, and conditions that must all hold. A condition on something the request lacks (e.g. `symbols` for `list_accounts`) does not hold.',
  );

function checkRule(rule: unknown, ctx: z.RefinementCtx): void {
  const r = (typeof rule === 'object' && rule !== null ? rule : {}) as Record<string, unknown>;
  const effects = RULE_EFFECTS.filter((e) => r[e] !== undefined);
  if (effects.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        effects.length === 0
          ? 'a rule needs one effect: allow, approve, confirm or deny'
          : `a rule has one effect, this one has ${effects.join(' and ')}`,
      params: {
        hint: 'write one rule per effect, e.g. `- allow: [get_balance]` and `- deny: [place_order]`',
      },
    });
    return;
  }
  const effect = effects[0] as RuleEffect;
  if (r['approvers'] !== undefined && effect !== 'approve') {
    ctx.addIssue({
      code: 'custom',
      path: ['approvers'],
      message: 'approvers only go with `approve`',
      params: { hint: 'remove it, or make the rule `approve:`' },
    });
  }
  const actions = Array.isArray(r[effect]) ? (r[effect] as unknown[]) : [];
  for (const [key, applies] of Object.entries(CONDITION_ACTIONS)) {
    if (r[key] === undefined || applies === undefined) continue;
    if (actions.some((a) => applies.has(a as PolicyAction))) continue;
    ctx.addIssue({
      code: 'custom',
      path: [key],
      message: `${key} never applies to ${actions.map(String).join(', ')}: the rule could never match`,
      params: { hint: `${key} applies to ${[...applies].join(', ')}` },
    });
  }
  checkRange(r, 'minNotional', 'maxNotional', ctx);
  checkRange(r, 'minAmount', 'maxAmount', ctx);
  checkWalletRule(r, effect, ctx);
}

/** Issue 19: the functions that give an allowance (`permit`: EIP-2612 and Permit2 typed data). */
export const APPROVAL_FUNCTION_NAMES: readonly string[] = ['approve', 'increaseAllowance', 'permit'];

/**
 * Issue 19, rules that can permit: raw calldata needs `contracts` beside `selectors`; and (SECURITY) large approvals
 * are denied by default, so a rule that can permit an approval must cap it — an allowance lets the spender take up
 * to it at any later time, outside every limit.
 */
function checkWalletRule(r: Record<string, unknown>, effect: RuleEffect, ctx: z.RefinementCtx): void {
  if (effect === 'deny') return;
  // Raw calldata matches only a rule with both: selectors alone would never permit it.
  if (r['selectors'] !== undefined && r['contracts'] === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['selectors'],
      message: 'selectors needs contracts: raw calldata matches only a rule naming its contract and selector',
      params: { hint: 'add contracts: [<name>], the contract the raw calldata may call' },
    });
  if (r['maxAmount'] !== undefined || !Array.isArray(r['functions'])) return;
  const approvals = r['functions'].filter((f) => APPROVAL_FUNCTION_NAMES.includes(f as string));
  if (approvals.length === 0) return;
  ctx.addIssue({
    code: 'custom',
    path: ['functions'],
    message: `a rule that can ${effect} approvals (${approvals.join(', ')}) needs maxAmount: large approvals are denied by default`,
    params: { hint: 'add maxAmount (the largest allowance, in token units) and assets naming the token' },
  });
}

function checkRange(r: Record<string, unknown>, low: string, high: string, ctx: z.RefinementCtx): void {
  const a = r[low];
  const b = r[high];
  if (typeof a !== 'string' || typeof b !== 'string') return;
  // Both are validated decimals; comparing as scaled integers keeps it exact.
  if (scaled(a) > scaled(b)) {
    ctx.addIssue({
      code: 'custom',
      path: [low],
      message: `${low} is larger than ${high}: nothing could match`,
    });
  }
}

function scaled(decimal: string): bigint {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, '0') || '0');
}

/** Limit scopes: whose budget a request draws on. */
export const LIMIT_SCOPES = ['agent', 'account', 'agent-account', 'global', 'wallet'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

const MEASURES = ['notional', 'orders', 'openOrders', 'withdrawals', 'transfers'] as const;

const limitSchema = z
  .strictObject({
    name: configNameSchema('limit')
      .optional()
      .describe('A name shown instead of `policies.<p>.limits[<i>]`.'),
    per: z
      .enum(LIMIT_SCOPES)
      .describe(
        'Whose budget: each agent, each account (shared by every agent on it), each agent on each account, or one for all.',
      ),
    window: durationSchema({ min: 1_000 })
      .optional()
      .describe(
        'Rolling window, e.g. `1m` or `24h`. Required except for `openOrders`. Parsed to milliseconds.',
      ),
    notional: decimalSchema.optional().describe('Cap on the summed value of orders, in `quote`.'),
    quote: z
      .union([assetSchema, z.array(assetSchema).min(1)])
      .optional()
      .describe(
        'For `notional`: the quote asset(s) counted, 1:1 (e.g. `[USDT, USDC]`). An order in another quote is denied, since it cannot be measured.',
      ),
    orders: z.int().min(1).optional().describe('Cap on the number of orders placed in the window.'),
    openOrders: z.int().min(1).optional().describe('Cap on orders open at once (no window).'),
    withdrawals: decimalSchema.optional().describe('Cap on the summed amount of withdrawals of `asset`.'),
    transfers: decimalSchema
      .optional()
      .describe(
        'Issue 19: cap on the summed amount of `asset` that transactions and typed data move or authorise (native value, token transfers, approvals and permits).',
      ),
    asset: assetSchema.optional().describe('For `withdrawals` and `transfers`: the asset counted.'),
    wallets: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Only requests on these wallets count (default: every wallet).'),
    accounts: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Only requests on these accounts count (default: every account).'),
  })
  .superRefine(checkLimit, { when: () => true })
  .describe('One limit: a scope (`per`), one measure with its cap, and a window.');

function checkLimit(limit: unknown, ctx: z.RefinementCtx): void {
  const l = (typeof limit === 'object' && limit !== null ? limit : {}) as Record<string, unknown>;
  const measures = MEASURES.filter((m) => l[m] !== undefined);
  const add = (path: string | undefined, message: string, hint?: string) => {
    ctx.addIssue({
      code: 'custom',
      ...(path === undefined ? {} : { path: [path] }),
      message,
      ...(hint === undefined ? {} : { params: { hint } }),
    });
  };
  if (measures.length !== 1) {
    add(
      undefined,
      measures.length === 0
        ? 'a limit needs one measure: notional, orders, openOrders, withdrawals or transfers'
        : `a limit has one measure, this one has ${measures.join(' and ')}`,
      'write one limit per measure, e.g. `{ per: account, window: 1m, orders: 30 }`',
    );
    return;
  }
  const measure = measures[0];
  if (measure === 'openOrders' && l['window'] !== undefined)
    add('window', 'openOrders counts orders open now and takes no window', 'remove window');
  if (measure !== 'openOrders' && l['window'] === undefined)
    add('window', `${measure} needs a window`, 'add e.g. `window: 24h`');
  if (measure === 'notional' && l['quote'] === undefined)
    add('quote', 'notional needs the quote asset(s) it counts', 'add e.g. `quote: USDT`');
  if (measure !== 'notional' && l['quote'] !== undefined)
    add('quote', 'quote only goes with notional', 'remove it');
  const counted = measure === 'withdrawals' || measure === 'transfers';
  if (counted && l['asset'] === undefined)
    add('asset', `${measure} needs the asset it counts`, 'add e.g. `asset: USDT`');
  if (!counted && l['asset'] !== undefined)
    add('asset', 'asset only goes with withdrawals and transfers', 'remove it');
  // Issue 19: a limit whose scope or filter a request can never carry would silently count nothing.
  const onWallets = measure === 'transfers' || measure === 'notional';
  if (l['per'] === 'wallet' && !onWallets)
    add(
      'per',
      `per: wallet only goes with transfers and notional; ${measure} are not made from a wallet`,
      'use per: agent, account, agent-account or global',
    );
  if (l['wallets'] !== undefined && !onWallets)
    add(
      'wallets',
      `wallets only goes with transfers and notional; ${measure} are not made from a wallet`,
      'remove it',
    );
  if (measure === 'transfers' && (l['per'] === 'account' || l['per'] === 'agent-account'))
    add(
      'per',
      `transfers are made from wallets, not accounts: per: ${l['per']} would count nothing`,
      'use per: wallet, agent or global',
    );
  if (measure === 'transfers' && l['accounts'] !== undefined)
    add(
      'accounts',
      'transfers are made from wallets, not accounts: accounts would count nothing',
      'use wallets: instead',
    );
  if (l['wallets'] !== undefined && l['accounts'] !== undefined)
    add('wallets', 'a limit counts requests on accounts or on wallets, not both', 'write two limits');
}

/** The old form, kept as shorthand for one `allow` rule. */
const SHORTHAND_KEYS = ['accounts', 'actions'] as const;

/** A policy: rules and limits, or the shorthand `{ accounts, actions }` (one allow rule). */
export const policySchema = z
  .strictObject({
    rules: z
      .array(ruleSchema)
      .min(1)
      .optional()
      .describe('Rules, evaluated together: see the effects below.'),
    limits: z.array(limitSchema).optional().describe('Limits the state store keeps for allowed requests.'),
    accounts: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Shorthand with `actions`, for `rules: [{ allow: <actions>, accounts: <accounts> }]`.'),
    actions: actionListSchema
      .optional()
      .describe('Shorthand with `accounts`: the actions allowed on those accounts.'),
  })
  .superRefine(checkPolicyForm, { when: () => true })
  .describe(
    'Default deny; a matching `deny` wins over everything, then `approve`, then `confirm`, then `allow`. The decision names the rule and the SHA-256 of the policy text.',
  );

function checkPolicyForm(policy: unknown, ctx: z.RefinementCtx): void {
  const p = (typeof policy === 'object' && policy !== null ? policy : {}) as Record<string, unknown>;
  const shorthand = SHORTHAND_KEYS.filter((k) => p[k] !== undefined);
  const full = p['rules'] !== undefined || p['limits'] !== undefined;
  if (shorthand.length > 0 && full) {
    ctx.addIssue({
      code: 'custom',
      message: 'a policy is either `rules` (and `limits`) or the shorthand `accounts` + `actions`, not both',
      params: {
        hint: 'move the shorthand into the rules as `- allow: <actions>` with `accounts: <accounts>`',
      },
    });
    return;
  }
  if (shorthand.length === 1) {
    const missing = shorthand[0] === 'accounts' ? 'actions' : 'accounts';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: `the shorthand needs both accounts and actions; ${missing} is missing`,
      params: { hint: 'or write `rules:`' },
    });
  }
  if (shorthand.length === 0 && p['rules'] === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'a policy needs rules',
      params: { hint: 'add `rules:`, e.g. `- allow: [get_balance]` with `accounts: [<id>]`' },
    });
  }
  checkRuleNames(p['rules'], ctx);
}

function checkRuleNames(rules: unknown, ctx: z.RefinementCtx): void {
  if (!Array.isArray(rules)) return;
  const seen = new Set<string>();
  rules.forEach((rule: unknown, index) => {
    const name = (rule as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (seen.has(name))
      ctx.addIssue({
        code: 'custom',
        path: ['rules', index, 'name'],
        message: `rule name "${name}" is used twice in this policy`,
      });
    seen.add(name);
  });
}

/** One withdrawal destination. The address is operator data: never shown to agents, never in policy reasons. */
const addressSchema = z
  .strictObject({
    asset: assetSchema.describe('The asset sent to this address.'),
    network: z.string().min(1).max(32).describe('The network (chain) as the venue names it, e.g. TRX, ETH.'),
    address: z.string().min(1).max(256).describe('The destination address. Never shown to agents.'),
    memo: z.string().max(256).nullable().optional().describe('Memo or tag, for networks that need one.'),
  })
  .describe('A withdrawal destination. Agents name its label, never the address.');

/** `addressBook`: withdrawal destinations by label. */
export const addressBookSchema = z
  .record(configNameSchema('address book label'), addressSchema)
  .prefault({})
  .describe('Withdrawal destinations by label; a `withdraw` names a label, never an address.');

/**
 * Cross-references inside `policies` the schema alone cannot check: accounts (rules, shorthand, limits) must be
 * configured, destinations must be address-book labels. Reads defensively: runs when other parts failed too.
 */
export function checkPolicyReferences(root: Record<string, unknown> | undefined, ctx: z.RefinementCtx): void {
  const policies = asRecord(root?.['policies']);
  if (policies === undefined) return;
  const accounts = Object.keys(asRecord(root?.['accounts']) ?? {});
  const labels = Object.keys(asRecord(root?.['addressBook']) ?? {});
  const services = Object.keys(asRecord(root?.['services']) ?? {});
  const databases = Object.keys(asRecord(root?.['databases']) ?? {});
  const wallets = Object.keys(asRecord(root?.['wallets']) ?? {});
  const chains = asRecord(root?.['chains']) ?? {};
  const contracts = [
    ...new Set(Object.values(chains).flatMap((c) => Object.keys(asRecord(asRecord(c)?.['contracts']) ?? {}))),
  ];
  const keys = Object.keys(asRecord(root?.['encryptionKeys']) ?? {});
  for (const [name, policy] of Object.entries(policies)) {
    const p = asRecord(policy);
    checkNames(p?.['accounts'], ['policies', name, 'accounts'], accounts, 'account', ctx);
    listOf(p?.['rules']).forEach((rule, i) => {
      const r = asRecord(rule);
      checkNames(r?.['accounts'], ['policies', name, 'rules', i, 'accounts'], accounts, 'account', ctx);
      // Issue 19: a transaction's recipients are labels or contract names.
      const path = ['policies', name, 'rules', i, 'destinations'];
      if (transactional(r))
        checkNames(r?.['destinations'], path, [...labels, ...contracts], 'destination', ctx);
      else checkNames(r?.['destinations'], path, labels, 'address', ctx);
      // SECURITY: a misspelt name would never match, so a `deny` rule naming it would silently deny nothing.
      checkNames(r?.['services'], ['policies', name, 'rules', i, 'services'], services, 'service', ctx);
      checkNames(r?.['databases'], ['policies', name, 'rules', i, 'databases'], databases, 'database', ctx);
      checkNames(r?.['wallets'], ['policies', name, 'rules', i, 'wallets'], wallets, 'wallet', ctx);
      checkNames(r?.['chains'], ['policies', name, 'rules', i, 'chains'], Object.keys(chains), 'chain', ctx);
      checkNames(r?.['contracts'], ['policies', name, 'rules', i, 'contracts'], contracts, 'contract', ctx);
      checkNames(r?.['keys'], ['policies', name, 'rules', i, 'keys'], keys, 'key', ctx);
    });
    listOf(p?.['limits']).forEach((limit, i) => {
      const accountsOf = asRecord(limit)?.['accounts'];
      checkNames(accountsOf, ['policies', name, 'limits', i, 'accounts'], accounts, 'account', ctx);
      const walletsOf = asRecord(limit)?.['wallets'];
      checkNames(walletsOf, ['policies', name, 'limits', i, 'wallets'], wallets, 'limitWallet', ctx);
    });
  }
}

/** Where each kind of name is configured, for the messages of {@link checkNames}. */
const NAMED = {
  account: { section: '`accounts:`', plural: 'accounts', any: true },
  address: { section: '`addressBook:`', plural: 'labels', any: false },
  destination: {
    section: "`addressBook:` or a chain's `contracts:`",
    plural: 'labels and contracts',
    any: false,
  },
  service: { section: '`services:`', plural: 'services', any: true },
  database: { section: '`databases:`', plural: 'databases', any: true },
  wallet: { section: '`wallets:`', plural: 'wallets', any: true },
  // A limit's `wallets:` filter is a list of names; `*` would be the same as leaving it out.
  limitWallet: { section: '`wallets:`', plural: 'wallets', any: false },
  chain: { section: '`chains:`', plural: 'chains', any: false },
  contract: { section: "a chain's `contracts:`", plural: 'contracts', any: false },
  key: { section: '`encryptionKeys:`', plural: 'encryption keys', any: true },
} as const;

/** Whether a rule lists an action that carries a transaction (its destinations may be contracts too). */
function transactional(rule: Record<string, unknown> | undefined): boolean {
  return RULE_EFFECTS.some((e) => listOf(rule?.[e]).some((a) => TRANSACTION_ACTIONS.has(a as PolicyAction)));
}

function checkNames(
  listed: unknown,
  path: readonly (string | number)[],
  known: readonly string[],
  kind: keyof typeof NAMED,
  ctx: z.RefinementCtx,
): void {
  const named = NAMED[kind];
  listOf(listed).forEach((id, index) => {
    if (typeof id !== 'string' || (named.any && id === '*') || known.includes(id)) return;
    ctx.addIssue({
      code: 'custom',
      path: [...path, index],
      message:
        kind === 'address'
          ? `address label "${id}" is not in addressBook`
          : kind === 'destination'
            ? `destination "${id}" is neither an addressBook label nor a contract`
            : kind === 'limitWallet'
              ? `wallet "${id}" is not configured`
              : kind === 'key'
                ? `encryption key "${id}" is not configured`
                : `${kind} "${id}" is not configured`,
      params: {
        hint:
          known.length === 0
            ? `add it under ${named.section}`
            : `configured ${named.plural}: ${known.join(', ')}`,
      },
    });
  });
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export type RuleConfig = DeepReadonly<z.output<typeof ruleSchema>>;
export type LimitConfig = DeepReadonly<z.output<typeof limitSchema>>;
export type AddressConfig = DeepReadonly<z.output<typeof addressSchema>>;
