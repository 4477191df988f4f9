// What an approval will send, read from its bound payload (approval-binding.ts `BoundAction`): the resolved order or
// withdrawal exactly as it goes to the venue. The payload is `unknown` on the wire, so each field is checked here.

/** A resolved order as the console shows it; a missing field reads `?` (or undefined for optional ones). */
export interface OrderView {
  readonly kind: 'order';
  readonly account: string;
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly side: string;
  readonly type: string;
  readonly amount: string;
  readonly price: string | undefined;
  readonly referencePrice: string | undefined;
  readonly notional: string;
}

/** A withdrawal as the console shows it: its address-book label, never the address. */
export interface WithdrawalView {
  readonly kind: 'withdrawal';
  readonly account: string;
  readonly asset: string;
  readonly amount: string;
  readonly destination: string;
  readonly network: string | undefined;
}

/** The order or withdrawal a bound payload sends, or undefined for actions that send none (a cancel). */
export function sendOf(payload: unknown): OrderView | WithdrawalView | undefined {
  const send = field(payload, 'send');
  const kind = text(send, 'kind');
  const account = text(send, 'account') ?? '';
  if (kind === 'order') {
    const order = field(send, 'order');
    return {
      kind,
      account,
      symbol: text(order, 'symbol') ?? '?',
      base: text(order, 'base') ?? '',
      quote: text(order, 'quote') ?? '',
      side: text(order, 'side') ?? '?',
      type: text(order, 'type') ?? '?',
      amount: text(order, 'amount') ?? '?',
      price: text(order, 'price'),
      referencePrice: text(order, 'referencePrice'),
      notional: text(order, 'notional') ?? '?',
    };
  }
  if (kind === 'withdrawal') {
    const withdrawal = field(send, 'withdrawal');
    return {
      kind,
      account,
      asset: text(withdrawal, 'asset') ?? '?',
      amount: text(withdrawal, 'amount') ?? '?',
      destination: text(withdrawal, 'destination') ?? '?',
      network: text(withdrawal, 'network'),
    };
  }
  return undefined;
}

/** `value[name]` when `value` is an object. */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function text(value: unknown, name: string): string | undefined {
  const v = field(value, name);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
