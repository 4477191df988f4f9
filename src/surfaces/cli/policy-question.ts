import { z } from 'zod';

import type { CofreConfig, PolicyAction } from '../../config/config-schema.js';
import { POLICY_ACTIONS } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import type { PolicyQuestion, ResolvedOrder } from '../../policy/policy-types.js';
import { isDecimal, multiplyDecimal, normalizeDecimal } from '../../venues/decimal.js';

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

function parse<T extends z.ZodType>(schema: T, input: unknown, action: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
  throw new CofreError('COFRE_USAGE', `input for ${action} is not valid: ${problems.join('; ')}`);
}
