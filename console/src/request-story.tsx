// One request's story: what the agent asked, how policy decided (and by which rule), the approval and its votes,
// the outcome, and each audit record with its time after the first.
import { Fragment, type JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

import type {
  ApprovalJson,
  AuditRecordJson,
  RequestStoryJson,
  RequestSummaryJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { SendDetails } from './bound-action.js';
import { LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { useLiveEvent } from './live-events.js';
import { RuleName } from './rule-name.js';
import { StatusBadge } from './table.js';
import { useResource } from './use-api.js';

/** Audit fields shown inline, in this order, as `[field, label]`; the rest are behind "All fields". */
const KEY_FIELDS: readonly (readonly [string, string])[] = [
  ['action', 'action'],
  ['decision', 'decision'],
  ['rule', 'rule'],
  ['approvedBy', 'approved by'],
  ['status', 'status'],
  ['reason', 'reason'],
  ['error', 'error'],
  ['code', 'code'],
];
/** The same for the record's `detail` (an operator's vote, an outcome's order). */
const KEY_DETAIL: readonly (readonly [string, string])[] = [
  ['operator', 'operator'],
  ['outcome', 'outcome'],
  ['comment', 'comment'],
  ['orderId', 'order id'],
  ['orderStatus', 'order status'],
];

/** One request's story, loaded by id and kept current by the event stream. */
export function RequestStory(props: { readonly requestId: string }): JSX.Element {
  const story = useResource(
    (api) => api.get<RequestStoryJson>(`/v1/operator/requests/${encodeURIComponent(props.requestId)}`),
    props.requestId,
  );
  useLiveEvent('requests', story.reload);
  useLiveEvent('approvals', story.reload);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [props.requestId]);
  // The last story stays in the resource while the next loads: never show one request's story under another's id.
  const data = story.data?.request.requestId === props.requestId ? story.data : undefined;

  return (
    <section class="card story" aria-labelledby="story-title">
      <div class="story-head">
        <h2 id="story-title" ref={heading} tabIndex={-1}>
          Request <code>{props.requestId}</code>
        </h2>
        <a class="button button-plain" href="#/activity">
          Close
        </a>
      </div>
      <LoadError error={story.error} />
      {data === undefined ? (
        story.error === undefined ? (
          <p role="status">Loading…</p>
        ) : null
      ) : (
        <>
          <RequestFacts request={data.request} />
          {data.approval === null ? null : <StoryApproval approval={data.approval} />}
          <section aria-labelledby="story-timeline">
            <h3 id="story-timeline">Timeline (audit records)</h3>
            {data.audit.length === 0 ? (
              <p class="empty">No audit records name this request.</p>
            ) : (
              <ol class="timeline">
                {data.audit.map((record) => (
                  <TimelineEntry
                    key={record.seq}
                    record={record}
                    afterMs={data.timings.find((t) => t.seq === record.seq)?.afterMs}
                  />
                ))}
              </ol>
            )}
          </section>
          <details>
            <summary>The answer the agent got</summary>
            <pre class="json">{JSON.stringify(data.response, null, 2)}</pre>
          </details>
        </>
      )}
    </section>
  );
}

function RequestFacts(props: { readonly request: RequestSummaryJson }): JSX.Element {
  return (
    <dl class="facts">
      <dt>Agent</dt>
      <dd>{props.request.agent}</dd>
      <dt>Action</dt>
      <dd>{props.request.action}</dd>
      <dt>Account</dt>
      <dd>{props.request.account ?? '—'}</dd>
      <dt>Status</dt>
      <dd>
        <StatusBadge status={props.request.status} />
      </dd>
      <dt>Decided by rule</dt>
      <dd>
        <RuleName rule={props.request.rule} />
      </dd>
      {props.request.reason === null ? null : (
        <>
          <dt>Reason</dt>
          <dd>
            {props.request.errorCode === null ? '' : `${props.request.errorCode}: `}
            {props.request.reason}
          </dd>
        </>
      )}
      <dt>Asked</dt>
      <dd>
        <time dateTime={props.request.createdAt}>{formatTime(props.request.createdAt)}</time>
      </dd>
      <dt>Last change</dt>
      <dd>
        <time dateTime={props.request.updatedAt}>{formatTime(props.request.updatedAt)}</time>
      </dd>
    </dl>
  );
}

/** The approval a request waited for: what it would send, the rule that asked, each vote and the decision. */
function StoryApproval(props: { readonly approval: ApprovalJson }): JSX.Element {
  return (
    <section aria-labelledby="story-approval">
      <h3 id="story-approval">Approval</h3>
      <SendDetails payload={props.approval.payload} action={props.approval.action} />
      <p>
        Asked by rule <RuleName rule={props.approval.rule} />; {props.approval.required} vote
        {props.approval.required === 1 ? '' : 's'} needed; status{' '}
        <StatusBadge status={props.approval.status} />
        {props.approval.decidedBy === null ? '' : ` by ${props.approval.decidedBy}`}
        {props.approval.decidedAt === null ? '' : ` at ${formatTime(props.approval.decidedAt)}`}.
      </p>
      {props.approval.approvals.length === 0 ? null : (
        <ul>
          {props.approval.approvals.map((vote) => (
            <li key={vote.operator}>
              {vote.operator} approved at <time dateTime={vote.at}>{formatTime(vote.at)}</time>
              {vote.comment === null ? '' : `: “${vote.comment}”`}
            </li>
          ))}
        </ul>
      )}
      {props.approval.comment === null ? null : <p>Comment: “{props.approval.comment}”</p>}
    </section>
  );
}

function TimelineEntry(props: {
  readonly record: AuditRecordJson;
  readonly afterMs: number | undefined;
}): JSX.Element {
  const { record } = props;
  const shown = factsOf(record);
  return (
    <li class={`timeline-entry kind-${record.kind}`}>
      <div class="timeline-head">
        <strong>{record.kind}</strong>
        <span class="muted">
          #{record.seq} · <time dateTime={record.at}>{formatTime(record.at)}</time>
          {props.afterMs === undefined || props.afterMs === 0 ? '' : ` · +${props.afterMs} ms`}
        </span>
      </div>
      {shown.length === 0 ? null : (
        <dl class="facts compact">
          {shown.map(([label, value]) => (
            <Fragment key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      <details>
        <summary>All fields</summary>
        <pre class="json">{JSON.stringify(record.fields, null, 2)}</pre>
      </details>
    </li>
  );
}

/** What a person reads first of an audit record: its key fields, its order if it names one, who voted. */
function factsOf(record: AuditRecordJson): (readonly [string, string])[] {
  const facts: (readonly [string, string])[] = [];
  const add = (source: Record<string, unknown>, keys: typeof KEY_FIELDS): void => {
    for (const [key, label] of keys) {
      const value = source[key];
      if (value !== undefined && value !== null && value !== '') facts.push([label, textOf(value)]);
    }
  };
  add(record.fields, KEY_FIELDS);
  const detail = record.fields['detail'];
  if (typeof detail === 'object' && detail !== null && !Array.isArray(detail)) {
    const d = detail as Record<string, unknown>;
    if (typeof d['side'] === 'string' && typeof d['amount'] === 'string' && typeof d['symbol'] === 'string') {
      const price = typeof d['price'] === 'string' ? ` @ ${d['price']}` : '';
      const notional =
        typeof d['notional'] === 'string' ? ` (${d['notional']} ${textOf(d['quote'] ?? '')})` : '';
      facts.push(['order', `${d['side']} ${d['amount']} ${d['symbol']}${price}${notional}`]);
    }
    add(d, KEY_DETAIL);
  }
  return facts;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
