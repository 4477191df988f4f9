// Limits: every budget of the policies with what is used and what remains in its window, grouped by scope, a chart
// of spend against caps, and the agents with the policy each runs under.
import type { JSX } from 'preact';

import type { LimitsJson, LimitUsageJson } from '../../src/surfaces/http/operator-api-types.js';
import { SpendChart, UsageBar } from './charts.js';
import { LoadError } from './confirm-action.js';
import { formatDecimal, formatTime, formatWindow } from './format.js';
import { useLiveEvent } from './live-events.js';
import { DataTable, StatusBadge } from './table.js';
import { useResource } from './use-api.js';

/** `#/limits`. */
export function LimitsPage(): JSX.Element {
  const limits = useResource((api) => api.get<LimitsJson>('/v1/operator/limits'), 'limits');
  // Each request may spend from a budget.
  useLiveEvent('requests', limits.reload);
  const data = limits.data;
  const byScope = new Map<string, LimitUsageJson[]>();
  for (const limit of data?.limits ?? []) {
    const list = byScope.get(limit.scope) ?? [];
    list.push(limit);
    byScope.set(limit.scope, list);
  }

  return (
    <>
      <h1>Limits</h1>
      <LoadError error={limits.error} />
      {data === undefined ? (
        <p role="status">Loading…</p>
      ) : (
        <>
          <p class="muted">
            As of <time dateTime={data.at}>{formatTime(data.at)}</time>. Budgets with the same ledger key are
            one budget, shown once.
          </p>
          <section aria-labelledby="spend-title">
            <h2 id="spend-title">Spend against caps</h2>
            <SpendChart limits={data.limits} />
          </section>
          {data.limits.length === 0 ? <p class="empty">The policies set no limits.</p> : null}
          {[...byScope].map(([scope, list]) => (
            <section key={scope} class="scope" aria-labelledby={`scope-${scope}`}>
              <h2 id={`scope-${scope}`}>{scope}</h2>
              <ul class="limits">
                {list.map((limit) => (
                  <li key={limit.key} class="limit">
                    <LimitRow limit={limit} />
                  </li>
                ))}
              </ul>
            </section>
          ))}
          <section aria-labelledby="agents-policy-title">
            <h2 id="agents-policy-title">Agents and their policies</h2>
            {data.agents.length === 0 ? (
              <p class="empty">No agents.</p>
            ) : (
              <DataTable columns={['Agent', 'Policy', 'Status', 'Expires']}>
                {data.agents.map((agent) => (
                  <tr key={agent.id}>
                    <td>{agent.id}</td>
                    <td>{agent.policy}</td>
                    <td>
                      <StatusBadge status={agent.status} />
                    </td>
                    <td>{formatTime(agent.expiresAt)}</td>
                  </tr>
                ))}
              </DataTable>
            )}
            <p class="muted">Policies in the config: {data.policies.join(', ') || 'none'}.</p>
          </section>
        </>
      )}
    </>
  );
}

function LimitRow(props: { readonly limit: LimitUsageJson }): JSX.Element {
  const { limit } = props;
  const unit = limit.unit === null ? '' : ` ${limit.unit}`;
  const label = `${limit.limit}: ${limit.used} of ${limit.cap}${unit} used, ${limit.remaining} remaining, window ${formatWindow(limit.windowMs)}`;
  return (
    <>
      <div class="limit-head">
        <strong class="limit-name">{limit.limit}</strong>
        <span class="muted">
          {measureText(limit.measure)} ·{' '}
          {limit.windowMs === null ? 'standing' : `per ${formatWindow(limit.windowMs)}`}
        </span>
      </div>
      <UsageBar used={limit.used} cap={limit.cap} label={label} />
      <p class="limit-numbers">
        <span class="used">
          {formatDecimal(limit.used)} / {formatDecimal(limit.cap)}
          {unit} used
        </span>
        <span>
          {formatDecimal(limit.remaining)}
          {unit} remaining
        </span>
      </p>
      <p class="muted small">
        Applies to {limit.agents.length === 0 ? 'no agent yet' : limit.agents.join(', ')} (policy{' '}
        {limit.policies.join(', ')})
      </p>
    </>
  );
}

function measureText(measure: string): string {
  switch (measure) {
    case 'notional':
      return 'order value';
    case 'orders':
      return 'orders';
    case 'openOrders':
      return 'open orders';
    case 'withdrawals':
      return 'withdrawn';
    default:
      return measure;
  }
}
