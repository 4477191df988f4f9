// Audit: the chain's head and last signed checkpoint, the last verification, and "Verify now" with its progress
// (from the `audit-verification` event, and by polling while it runs in case the stream is down).
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import type { AuditStatusJson, AuditVerificationJson } from '../../src/surfaces/http/operator-api-types.js';
import { LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { useLiveEvent } from './live-events.js';
import { asApiError, useApi, useResource } from './use-api.js';

const POLL_MS = 1000;

/** `#/audit`. */
export function AuditPage(): JSX.Element {
  const api = useApi();
  const status = useResource((a) => a.get<AuditStatusJson>('/v1/operator/audit'), 'audit');
  // The freshest view of a running verification: from the event stream or the last poll, whichever is newer.
  const [live, setLive] = useState<AuditVerificationJson | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [starting, setStarting] = useState(false);
  useLiveEvent('audit-verification', (data) => {
    if (data === undefined) status.reload();
    else setLive(data);
  });

  const fromStatus = status.data?.verification ?? undefined;
  const verification = newer(live, fromStatus);
  const running = verification?.state === 'running';

  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(status.reload, POLL_MS);
    return () => {
      clearInterval(timer);
    };
  }, [running, status.reload]);
  useEffect(() => {
    // A finished run changes the chain status (last verified checkpoint): read it once more.
    if (live !== undefined && live.state !== 'running') status.reload();
  }, [live?.state]);

  const verify = async (): Promise<void> => {
    setStarting(true);
    setError(undefined);
    try {
      setLive(await api.post<AuditVerificationJson>('/v1/operator/audit/verify'));
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setStarting(false);
    }
  };

  const data = status.data;
  return (
    <>
      <h1>Audit</h1>
      <LoadError error={status.error} />
      {data === undefined ? (
        <p role="status">Loading…</p>
      ) : (
        <section aria-labelledby="chain-title" class="card">
          <h2 id="chain-title">Chain</h2>
          <dl class="facts">
            <dt>Store</dt>
            <dd>{data.store === 'file' ? 'JSONL file' : 'PostgreSQL'}</dd>
            <dt>Head</dt>
            <dd>
              {data.head === null ? 'unknown' : `record #${data.head.seq} at ${formatTime(data.head.at)}`}
            </dd>
            <dt>Last signed checkpoint</dt>
            <dd>
              {data.lastCheckpoint === null
                ? 'none yet'
                : `record #${data.lastCheckpoint.seq} at ${formatTime(data.lastCheckpoint.at)}`}
            </dd>
            <dt>Last verification</dt>
            <dd>
              {verification === undefined
                ? 'not verified since this server started'
                : `${verification.state} — started ${formatTime(verification.startedAt)} by ${verification.by}`}
            </dd>
          </dl>
        </section>
      )}
      <section aria-labelledby="verify-title" class="card">
        <h2 id="verify-title">Verify the chain</h2>
        <p>
          Reads every record, checks each hash links to the one before and each checkpoint's signature. It
          runs on the server; you can leave this page.
        </p>
        <button
          type="button"
          class="button button-primary"
          disabled={starting || running}
          onClick={() => void verify()}
        >
          {running ? 'Verifying…' : 'Verify now'}
        </button>
        <p class="error" role="alert">
          {error ?? ''}
        </p>
        {verification === undefined ? null : <VerificationView verification={verification} />}
      </section>
    </>
  );
}

function VerificationView(props: { readonly verification: AuditVerificationJson }): JSX.Element {
  const v = props.verification;
  const total = v.total ?? undefined;
  return (
    <div class={`verification verification-${v.state}`} aria-live="polite">
      <label for="verify-progress" class="progress-label">
        {v.state === 'running'
          ? `Checked ${v.records}${total === undefined ? '' : ` of ${total}`} records`
          : v.state === 'passed'
            ? `Passed: ${v.records} records verified`
            : `Failed after ${v.records} records`}
      </label>
      {/* Without a known total the bar is indeterminate (no value), which browsers animate. */}
      <progress
        id="verify-progress"
        max={total ?? undefined}
        value={v.state === 'running' ? (total === undefined ? undefined : v.records) : (total ?? v.records)}
      />
      <dl class="facts">
        <dt>Started</dt>
        <dd>
          {formatTime(v.startedAt)} by {v.by}
        </dd>
        <dt>Finished</dt>
        <dd>{v.finishedAt === null ? 'still running' : formatTime(v.finishedAt)}</dd>
        <dt>Last checkpoint verified</dt>
        <dd>
          {v.lastCheckpoint === null
            ? 'none'
            : `#${v.lastCheckpoint.seq} at ${formatTime(v.lastCheckpoint.at)}`}
        </dd>
      </dl>
      {v.findings.length === 0 ? null : (
        <>
          <h3>Findings</h3>
          <ul class="findings">
            {v.findings.map((finding, index) => (
              <li key={index}>{finding}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** The later of two views of verifications: a different (newer) run wins, else the one with more records checked. */
function newer(
  a: AuditVerificationJson | undefined,
  b: AuditVerificationJson | undefined,
): AuditVerificationJson | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.id !== b.id) return a.startedAt >= b.startedAt ? a : b;
  if (a.state !== 'running') return a;
  if (b.state !== 'running') return b;
  return a.records >= b.records ? a : b;
}
