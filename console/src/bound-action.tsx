// An approval's order or withdrawal shown as what will be sent: the summary line and its facts.
import type { JSX } from 'preact';

import { formatDecimal, formatDistance } from './format.js';
import { field, sendOf } from './send-of.js';

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
