import { z } from 'zod';

import type { CofreConfig, PolicyAction } from '../../config/config-schema.js';
import { POLICY_ACTIONS } from '../../config/config-schema.js';
import { ENCRYPTION_ACTIONS, TRANSACTION_ACTIONS } from '../../config/policy-config.js';
import { CofreError } from '../../errors.js';
import type {
  PolicyQuestion,
  ResolvedMove,
  ResolvedOrder,
  ResolvedTransaction,
} from '../../policy/policy-types.js';
import { addDecimal, isDecimal, multiplyDecimal, normalizeDecimal } from '../../venues/decimal.js';

const decimal = z
  .union([z.number(), z.string()])
  .transform((v) => (typeof v === 'number' ? String(v) : v))
  .refine(isDecimal, { error: 'expected a non-negative decimal such as "0.01"' })
  .transform(normalizeDecimal);

const orderInput = z.object({
  account: z.string().min(1),
  symbol: z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/, { error: 'expected BASE/QUOTE, e.g. BTC/USDT' }),
  side: z.enum(['buy', 'sell']),
  type: z.enum(['market', 'limit']),
  amount: decimal,
  price: decimal.optional(),
  referencePrice: decimal.optional(),
});

const withdrawInput = z.object({
  account: z.string().min(1),
  asset: z.string().min(1),
  amount: decimal,
  destination: z.string().min(1),
});

// Issue 19: a transaction or typed data as the resolver would hand it to policy (names, decoded call, moves), judged
// as given: no RPC is asked, so gas is what the input says and the value is worked out from the chain's `prices`.
const moveInput = z.strictObject({
  kind: z.enum(['value', 'transfer', 'approval']),
  asset: z.string().min(1),
  amount: decimal,
  to: z.string().min(1),
});

const transactionInput = z.strictObject({
  wallet: z.string().min(1),
  kind: z.enum(['transaction', 'permit', 'permit2', 'typed-data-unknown']).optional(),
  to: z.string().min(1),
  contract: z.string().min(1).optional(),
  function: z.string().min(1).optional(),
  selector: z
    .string()
    .regex(/^0x[0-9a-f]{8}$/, { error: 'a 4-byte selector in lower-case hex, e.g. 0xa9059cbb' })
    .optional(),
  raw: z.boolean().default(false),
  moves: z.array(moveInput).default([]),
  recipients: z.array(z.string().min(1)).optional(),
  unlimitedApproval: z.boolean().default(false),
  gas: z.strictObject({ limit: z.int().min(0), maxFeePerGasGwei: decimal }).optional(),
});

const walletInput = z.object({ wallet: z.string().min(1) });
const encryptionInput = z.object({ key: z.string().min(1), purpose: z.string().min(1) });

const otherInput = z.object({ account: z.string().min(1).optional(), symbol: z.string().min(1).optional() });

/** Parses `--action`: one of the policy actions. */
export function parsePolicyAction(text: string): PolicyAction {
  const found = POLICY_ACTIONS.find((a) => a === text);
  if (found === undefined) {
    throw new CofreError('COFRE_USAGE', `unknown action "${text}"; actions: ${POLICY_ACTIONS.join(', ')}`);
  }
  return found;
}

/**
 * The question policy would be asked for `input`, judged as given (no venue is asked): an order's notional is
 * amount × (price, or referencePrice for a market order), base and quote come from its symbol; a withdrawal's network
 * from the address book. Throws `COFRE_USAGE` naming the field for input that does not fit the action.
 */
export function policyQuestionFrom(
  config: CofreConfig,
  who: { readonly agentId: string; readonly policy: string },
  action: PolicyAction,
  input: unknown,
): PolicyQuestion {
  if (action === 'place_order' || action === 'preview_order') {
    const order = parse(orderInput, input, action);
    return { ...who, action, account: order.account, order: resolveOrder(order) };
  }
  if (action === 'withdraw') {
    const w = parse(withdrawInput, input, action);
    const network = Object.hasOwn(config.addressBook, w.destination)
      ? config.addressBook[w.destination]?.network
      : undefined;
    return {
      ...who,
      action,
      account: w.account,
      withdrawal: { asset: w.asset, amount: w.amount, destination: w.destination, network },
    };
  }
  if (TRANSACTION_ACTIONS.has(action)) {
    const transaction = resolveTransaction(config, parse(transactionInput, input, action));
    return { ...who, action, account: undefined, wallet: transaction.wallet, transaction };
  }
  if (action === 'get_wallet') {
    return { ...who, action, account: undefined, wallet: parse(walletInput, input, action).wallet };
  }
  if (ENCRYPTION_ACTIONS.has(action)) {
    const { key, purpose } = parse(encryptionInput, input, action);
    return { ...who, action, account: undefined, encryption: { key, purpose } };
  }
  const other = parse(otherInput, input ?? {}, action);
  return { ...who, action, account: other.account, symbol: other.symbol };
}

function resolveOrder(order: z.output<typeof orderInput>): ResolvedOrder {
  const [base = '', quote = ''] = order.symbol.split('/');
  if (order.type === 'limit' && order.price === undefined) {
    throw new CofreError('COFRE_USAGE', 'a limit order needs "price" in --input');
  }
  const valuedAt = order.type === 'limit' ? order.price : order.referencePrice;
  if (valuedAt === undefined) {
    throw new CofreError('COFRE_USAGE', 'a market order needs "referencePrice" in --input to be valued');
  }
  return {
    symbol: order.symbol,
    base,
    quote,
    side: order.side,
    type: order.type,
    amount: order.amount,
    price: order.type === 'limit' ? order.price : undefined,
    referencePrice: order.referencePrice,
    notional: multiplyDecimal(order.amount, valuedAt),
  };
}

function resolveTransaction(
  config: CofreConfig,
  input: z.output<typeof transactionInput>,
): ResolvedTransaction {
  const wallet = Object.hasOwn(config.wallets, input.wallet) ? config.wallets[input.wallet] : undefined;
  const chain = wallet === undefined ? undefined : config.chains[wallet.chain];
  if (wallet === undefined || chain === undefined) {
    const names = Object.keys(config.wallets);
    throw new CofreError(
      'COFRE_USAGE',
      `input: wallet "${input.wallet}" is not configured (configured: ${names.join(', ') || 'none'})`,
    );
  }
  const moves: ResolvedMove[] = input.moves;
  const kind = input.kind ?? 'transaction';
  return {
    wallet: input.wallet,
    chain: wallet.chain,
    chainId: chain.chainId,
    kind,
    to: input.to,
    contract: input.contract,
    function: input.function,
    selector: input.selector,
    raw: input.raw,
    moves,
    // As the resolver does: whoever receives or is granted a move (`self` is the wallet itself).
    recipients: input.recipients ?? [...new Set(moves.map((m) => m.to).filter((to) => to !== 'self'))],
    unlimitedApproval: input.unlimitedApproval,
    gas: kind === 'transaction' ? input.gas : undefined,
    notional: notionalOf(moves, chain.quote, chain.prices),
  };
}

/** The moves valued at the chain's prices, in its quote; undefined when it has no quote or a move no price. */
function notionalOf(
  moves: readonly ResolvedMove[],
  quote: string | undefined,
  prices: Readonly<Record<string, string>> | undefined,
): ResolvedTransaction['notional'] {
  if (quote === undefined) return undefined;
  let amount = '0';
  for (const move of moves) {
    const price = move.asset === quote ? '1' : prices?.[move.asset];
    if (price === undefined) return undefined;
    amount = addDecimal(amount, multiplyDecimal(move.amount, price));
  }
  return { quote, amount };
}

function parse<T extends z.ZodType>(schema: T, input: unknown, action: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
  throw new CofreError('COFRE_USAGE', `input for ${action} is not valid: ${problems.join('; ')}`);
}
