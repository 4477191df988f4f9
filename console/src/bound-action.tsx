// What an approval will send, read from its bound payload (approval-binding.ts `BoundAction`): the resolved order or
// withdrawal exactly as it goes to the venue. The payload is `unknown` on the wire, so each field is checked here.
import type { JSX } from 'preact';

import { formatDecimal, formatDistance } from './format.js';

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

/** The order or withdrawal as a definition list: what will be sent, its value and how far from the market. */
export function SendDetails(props: { readonly payload: unknown; readonly action: string }): JSX.Element {
  const send = sendOf(props.payload);
  if (send === undefined) {
    return (
      <div class="send">
        <p class="send-summary">{props.action}</p>
        <details>
          <summary>Input</summary>
          <pre class="json">{JSON.stringify(field(props.payload, 'input') ?? null, null, 2)}</pre>
        </details>
      </div>
    );
  }
  if (send.kind === 'withdrawal') {
    return (
      <div class="send">
        <p class="send-summary">
          <span class="side side-withdraw">Withdraw</span> {formatDecimal(send.amount)} {send.asset} to{' '}
          <strong>{send.destination}</strong>
        </p>
        <dl class="facts">
          <dt>Amount</dt>
          <dd>
            {formatDecimal(send.amount)} {send.asset}
          </dd>
          <dt>Destination</dt>
          <dd>{send.destination} (address-book label)</dd>
          {send.network === undefined ? null : (
            <>
              <dt>Network</dt>
              <dd>{send.network}</dd>
            </>
          )}
        </dl>
      </div>
    );
  }
  const priced = send.type === 'market' ? send.referencePrice : send.price;
  const distance = send.type === 'market' ? undefined : formatDistance(send.price, send.referencePrice);
  return (
    <div class="send">
      <p class="send-summary">
        <span class={`side side-${send.side === 'buy' ? 'buy' : 'sell'}`}>{send.side.toUpperCase()}</span>{' '}
        {formatDecimal(send.amount)} {send.base || send.symbol} {send.type}
        {send.type === 'market' ? ' at market' : ` @ ${formatDecimal(send.price ?? '?')} ${send.quote}`}
      </p>
      <dl class="facts">
        <dt>Symbol</dt>
        <dd>{send.symbol}</dd>
        <dt>Side</dt>
        <dd>{send.side}</dd>
        <dt>Type</dt>
        <dd>{send.type}</dd>
        <dt>Amount</dt>
        <dd>
          {formatDecimal(send.amount)} {send.base}
        </dd>
        <dt>{send.type === 'market' ? 'Valued at' : 'Limit price'}</dt>
        <dd>{priced === undefined ? '—' : `${formatDecimal(priced)} ${send.quote}`}</dd>
        <dt>Notional</dt>
        <dd class="notional">
          {formatDecimal(send.notional)} {send.quote}
        </dd>
        <dt>Reference price</dt>
        <dd>
          {send.referencePrice === undefined
            ? 'none from the venue'
            : `${formatDecimal(send.referencePrice)} ${send.quote}`}
          {distance === undefined ? null : <span class="distance"> ({distance} from it)</span>}
        </dd>
      </dl>
    </div>
  );
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function text(value: unknown, name: string): string | undefined {
  const v = field(value, name);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
