// Activity: the requests agents made, newest first, filtered and paged; a chart of outcomes over time; one
// request's story when its row is opened (#/activity/<requestId>).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type {
  ActivityJson,
  RequestsJson,
  RequestStatusJson,
  RequestSummaryJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { ActivityChart } from './charts.js';
import { LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { useLiveEvent } from './live-events.js';
import { RequestStory } from './request-story.js';
import { RuleName } from './rule-name.js';
import { DataTable, StatusBadge } from './table.js';
import { useResource } from './use-api.js';

const STATUSES: readonly RequestStatusJson[] = [
  'executing',
  'executed',
  'denied',
  'pending_approval',
  'failed',
];
const ACTIONS = [
  'place_order',
  'preview_order',
  'cancel_order',
  'withdraw',
  'get_balances',
  'get_open_orders',
  'get_ticker',
  'http_request',
  'connect_database',
] as const;
const PAGE_SIZE = '25';

interface Filters {
  readonly agent: string;
  readonly account: string;
  readonly status: string;
  readonly action: string;
}
const NO_FILTERS: Filters = { agent: '', account: '', status: '', action: '' };

/** `#/activity[/<requestId>]`: the requests list, its chart, and the opened request's story. */
export function ActivityPage(props: { readonly requestId: string | undefined }): JSX.Element {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The `before` cursor of each page shown so far: the last one is the current page.
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([undefined]);
  const before = cursors.at(-1);

  const requests = useResource(
    (api) => api.get<RequestsJson>('/v1/operator/requests', { ...filters, limit: PAGE_SIZE, before }),
    JSON.stringify([filters, before]),
  );
  const activity = useResource(
    (api) => api.get<ActivityJson>('/v1/operator/activity', { window: '24h', bucket: '1h' }),
    'activity',
  );
  useLiveEvent('requests', () => {
    // Only the first page moves when requests arrive; older pages stay put while someone reads them.
    if (before === undefined) requests.reload();
    activity.reload();
  });
  const nextBefore = requests.data?.nextBefore ?? null;

  return (
    <>
      <h1>Activity</h1>
      {props.requestId === undefined ? null : <RequestStory requestId={props.requestId} />}
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Requests and denials, last 24 hours</h2>
        <LoadError error={activity.error} />
        {activity.data === undefined ? null : <ActivityChart activity={activity.data} />}
      </section>
      <section aria-labelledby="requests-title">
        <h2 id="requests-title">Requests</h2>
        <RequestFilters
          onApply={(applied) => {
            setFilters(applied);
            setCursors([undefined]);
          }}
        />
        <LoadError error={requests.error} />
        {requests.data === undefined ? (
          <p role="status">Loading…</p>
        ) : requests.data.requests.length === 0 ? (
          <p class="empty">No requests match.</p>
        ) : (
          <RequestsTable requests={requests.data.requests} selected={props.requestId} />
        )}
        <div class="button-row pager">
          <button
            type="button"
            class="button button-plain"
            disabled={cursors.length <= 1}
            onClick={() => {
              setCursors(cursors.slice(0, -1));
            }}
          >
            ← Newer
          </button>
          <span class="muted">Page {cursors.length}</span>
          <button
            type="button"
            class="button button-plain"
            disabled={nextBefore === null}
            onClick={() => {
              if (nextBefore !== null) setCursors([...cursors, nextBefore]);
            }}
          >
            Older →
          </button>
        </div>
      </section>
    </>
  );
}

/** The filter form; filters apply on submit (not on each key), so typing an agent's id does not refetch. */
function RequestFilters(props: { readonly onApply: (filters: Filters) => void }): JSX.Element {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const field = (name: keyof Filters) => (event: { currentTarget: HTMLInputElement | HTMLSelectElement }) => {
    setDraft({ ...draft, [name]: event.currentTarget.value });
  };
  return (
    <form
      class="filters"
      aria-label="Filter requests"
      onSubmit={(event) => {
        event.preventDefault();
        props.onApply(draft);
      }}
    >
      <div class="field">
        <label for="filter-agent">Agent</label>
        <input id="filter-agent" type="text" value={draft.agent} onInput={field('agent')} />
      </div>
      <div class="field">
        <label for="filter-account">Account</label>
        <input id="filter-account" type="text" value={draft.account} onInput={field('account')} />
      </div>
      <div class="field">
        <label for="filter-status">Status</label>
        <select id="filter-status" value={draft.status} onChange={field('status')}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-action">Action</label>
        <select id="filter-action" value={draft.action} onChange={field('action')}>
          <option value="">any</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </div>
      <div class="button-row">
        <button type="submit" class="button button-primary">
          Apply filters
        </button>
        <button
          type="button"
          class="button button-plain"
          onClick={() => {
            setDraft(NO_FILTERS);
            props.onApply(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function RequestsTable(props: {
  readonly requests: readonly RequestSummaryJson[];
  readonly selected: string | undefined;
}): JSX.Element {
  return (
    <DataTable
      columns={['When', 'Request', 'Agent', 'Action', 'Account', 'Status', 'Rule', 'Reason']}
      caption="Requests, newest first; open one to see its story"
      class="requests"
    >
      {props.requests.map((r) => (
        <tr key={r.requestId} class={r.requestId === props.selected ? 'selected' : undefined}>
          <td>
            <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
          </td>
          <td>
            <a
              href={`#/activity/${encodeURIComponent(r.requestId)}`}
              aria-current={r.requestId === props.selected ? 'true' : undefined}
            >
              <code>{r.requestId}</code>
            </a>
          </td>
          <td>{r.agent}</td>
          <td>{r.action}</td>
          <td>{r.account ?? '—'}</td>
          <td>
            <StatusBadge status={r.status} />
          </td>
          <td>
            <RuleName rule={r.rule} compact />
          </td>
          <td class="reason">
            {r.errorCode === null ? (r.reason ?? '') : `${r.errorCode}: ${r.reason ?? ''}`}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
