// The approvals queue (default page): each pending request with exactly what it will send, the rule that asked for
// approval, votes and time left; approve (that payload hash, nothing else) or deny, each after a confirmation.
// Refetched on every `approvals` event, so a new request appears without reload.
import type { JSX } from 'preact';
import { useContext, useRef } from 'preact/hooks';

import type { ApprovalJson, ApprovalsJson } from '../../src/surfaces/http/operator-api-types.js';
import { SendDetails } from './bound-action.js';
import { ConfirmAction, LoadError } from './confirm-action.js';
import { formatClock, formatDecimal, formatSpan, formatTime, shortHash } from './format.js';
import { useLiveEvent } from './live-events.js';
import { RuleName } from './rule-name.js';
import { sendOf } from './send-of.js';
import { DataTable, StatusBadge } from './table.js';
import { OperatorContext, useApi, useResource } from './use-api.js';
import { useNow } from './use-now.js';

/** How many decided approvals the "recently decided" list shows. */
const RECENT = 15;

/** `#/approvals` (the start page). */
export function ApprovalsPage(): JSX.Element {
  const approvals = useResource((api) => api.get<ApprovalsJson>('/v1/operator/approvals'), 'approvals');
  useLiveEvent('approvals', approvals.reload);
  useLiveEvent('requests', approvals.reload);
  const pendingTitle = useRef<HTMLHeadingElement>(null);
  const decided = (): void => {
    approvals.reload();
    // The decided card goes away with the focused button: keyboard users continue from the list's heading.
    pendingTitle.current?.focus();
  };
  const all = approvals.data?.approvals ?? [];
  const pending = all
    .filter((a) => a.status === 'pending')
    .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  const recent = all
    .filter((a) => a.status !== 'pending')
    .sort((a, b) => (b.decidedAt ?? b.expiresAt).localeCompare(a.decidedAt ?? a.expiresAt))
    .slice(0, RECENT);

  return (
    <>
      <h1>Approvals</h1>
      <LoadError error={approvals.error} />
      <section aria-labelledby="pending-title">
        <h2 id="pending-title" tabIndex={-1} ref={pendingTitle}>
          Pending <span class="count">{approvals.data === undefined ? '' : `(${pending.length})`}</span>
        </h2>
        {approvals.data === undefined ? (
          <p role="status">Loading…</p>
        ) : pending.length === 0 ? (
          <p class="empty">Nothing waits for approval. New requests appear here as they arrive.</p>
        ) : (
          <ul class="cards">
            {pending.map((approval) => (
              <li key={approval.requestId}>
                <PendingApproval approval={approval} onDecided={decided} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="decided-title">
        <h2 id="decided-title">Recently decided</h2>
        {recent.length === 0 ? (
          <p class="empty">No decisions yet.</p>
        ) : (
          <RecentDecisions approvals={recent} />
        )}
      </section>
    </>
  );
}

function RecentDecisions(props: { readonly approvals: readonly ApprovalJson[] }): JSX.Element {
  return (
    <DataTable
      columns={['Outcome', 'What', 'Agent', 'Rule', 'Decided by', 'When', 'Comment']}
      caption="Recently decided approvals"
    >
      {props.approvals.map((approval) => (
        <tr key={approval.requestId}>
          <td>
            <StatusBadge status={approval.status} />
          </td>
          <td>
            <a href={`#/activity/${encodeURIComponent(approval.requestId)}`}>{summaryOf(approval)}</a>
          </td>
          <td>{approval.agent}</td>
          <td>
            <RuleName rule={approval.rule} compact />
          </td>
          <td>{approval.decidedBy ?? (approval.status === 'expired' ? 'nobody (expired)' : '—')}</td>
          <td>
            <time dateTime={approval.decidedAt ?? approval.expiresAt}>
              {formatTime(approval.decidedAt ?? approval.expiresAt)}
            </time>
          </td>
          <td class="wrap">{approval.comment ?? ''}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function PendingApproval(props: {
  readonly approval: ApprovalJson;
  readonly onDecided: () => void;
}): JSX.Element {
  const { approval } = props;
  const api = useApi();
  const me = useContext(OperatorContext);
  const now = useNow();
  const voted = approval.approvals.some((vote) => vote.operator === me);
  const mayApprove = approval.approvers.length === 0 || approval.approvers.includes(me);
  const left = Date.parse(approval.expiresAt) - now;
  const expired = left <= 0;
  const titleId = `approval-${approval.requestId}`;
  const summary = summaryOf(approval);
  const path = `/v1/operator/approvals/${encodeURIComponent(approval.requestId)}`;

  return (
    <article class="card approval" aria-labelledby={titleId} data-request-id={approval.requestId}>
      <header class="approval-head">
        <h3 id={titleId}>
          {approval.agent} <span class="arrow">→</span> {approval.account ?? 'no account'}
          <span class="action"> · {approval.action}</span>
        </h3>
        <p class="rule">
          Asked by rule <RuleName rule={approval.rule} />
        </p>
      </header>
      <div class="approval-body">
        <SendDetails payload={approval.payload} action={approval.action} />
        <dl class="facts approval-facts">
          <dt>Votes</dt>
          <dd>
            {approval.approvals.length} of {approval.required} needed
            {approval.approvals.length === 0
              ? null
              : ` (${approval.approvals.map((v) => `${v.operator}${v.comment === null ? '' : `: “${v.comment}”`}`).join(', ')})`}
          </dd>
          <dt>Approvers</dt>
          <dd>{approval.approvers.length === 0 ? 'any operator' : approval.approvers.join(', ')}</dd>
          <dt>Time left</dt>
          <dd class={left < 60_000 ? 'urgent' : undefined}>
            <span class="countdown">{expired ? 'expired' : formatSpan(left)}</span> (until{' '}
            <time dateTime={approval.expiresAt}>{formatClock(approval.expiresAt, now)}</time>)
          </dd>
          <dt>Requested</dt>
          <dd>
            <time dateTime={approval.createdAt}>{formatTime(approval.createdAt)}</time>
          </dd>
          <dt>Payload hash</dt>
          <dd>
            <details class="hash">
              <summary>
                <code title={approval.payloadHash}>{shortHash(approval.payloadHash)}</code>
              </summary>
              <code class="hash-full">{approval.payloadHash}</code>
            </details>
          </dd>
        </dl>
      </div>
      {voted ? (
        <p class="muted">You have voted; it waits for another operator.</p>
      ) : !mayApprove ? (
        <p class="muted">You are not among this rule's approvers; you can still deny it.</p>
      ) : null}
      <div class="decide">
        <ConfirmAction
          label="Approve"
          question={`Approve ${summary}? You approve payload ${shortHash(approval.payloadHash)} exactly as shown.`}
          confirmLabel="Confirm approve"
          comment
          tone="primary"
          disabled={expired || voted || !mayApprove}
          onConfirm={async (comment) => {
            await api.post(`${path}/approve`, {
              payloadHash: approval.payloadHash,
              ...(comment === undefined ? {} : { comment }),
            });
            props.onDecided();
          }}
        />
        <ConfirmAction
          label="Deny"
          question={`Deny ${summary}? The agent's request will read denied.`}
          confirmLabel="Confirm deny"
          comment
          tone="danger"
          disabled={expired}
          onConfirm={async (comment) => {
            await api.post(`${path}/deny`, comment === undefined ? {} : { comment });
            props.onDecided();
          }}
        />
      </div>
    </article>
  );
}

/** One line for an approval: "buy 0.05 BTC/USDT (3,000 USDT)", "withdraw 1 ETH to cold", or its action. */
function summaryOf(approval: ApprovalJson): string {
  const send = sendOf(approval.payload);
  if (send === undefined) return `${approval.action} by ${approval.agent}`;
  if (send.kind === 'withdrawal') {
    return `withdraw ${formatDecimal(send.amount)} ${send.asset} to ${send.destination}`;
  }
  return `${send.side} ${formatDecimal(send.amount)} ${send.symbol} (${formatDecimal(send.notional)} ${send.quote})`;
}
