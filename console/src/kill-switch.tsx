// The kill switch: halting stops every agent request (and may cancel open orders and revoke agents); the halted
// state shows on every page as a banner with who halted, when, why, and a Resume that asks first.
import type { JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

import type { HaltJson, HaltReportJson } from '../../src/surfaces/http/operator-api-types.js';
import { ConfirmAction } from './confirm-action.js';
import { formatTime } from './format.js';
import { asApiError, useApi } from './use-api.js';

/** The word to type before a halt goes out: a second, deliberate step. */
const CONFIRM_WORD = 'HALT';

/** The red banner every page shows while trading is halted; nothing while it is not. */
export function HaltBanner(props: {
  readonly halt: HaltJson;
  readonly onChanged: () => void;
}): JSX.Element | null {
  const api = useApi();
  if (!props.halt.halted) return null;
  const { reason, by, at } = props.halt;
  return (
    <section class="halt-banner" aria-labelledby="halt-title" role="alert">
      <div class="halt-text">
        <h2 id="halt-title">Trading is halted</h2>
        <p>
          Every agent request is refused (COFRE_HALTED). Reason: <strong class="halt-reason">{reason}</strong>{' '}
          — by <strong>{by}</strong> at <time dateTime={at}>{formatTime(at)}</time>.
        </p>
      </div>
      <ConfirmAction
        label="Resume trading"
        question="Resume trading? Agents' requests will be accepted again."
        confirmLabel="Yes, resume"
        tone="plain"
        onConfirm={async () => {
          await api.post('/v1/operator/resume');
          props.onChanged();
        }}
      />
    </section>
  );
}

/** The header's Halt button and its dialog (a native modal `<dialog>`: focus stays in it, Escape closes it). */
export function HaltControl(props: {
  readonly halted: boolean;
  readonly onChanged: () => void;
}): JSX.Element {
  const api = useApi();
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [reason, setReason] = useState('');
  const [cancelOpenOrders, setCancel] = useState(false);
  const [revokeAgents, setRevoke] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [report, setReport] = useState<HaltReportJson | undefined>(undefined);

  useEffect(() => {
    if (!props.halted) setReport(undefined);
  }, [props.halted]);

  const open = (): void => {
    setReason('');
    setCancel(false);
    setRevoke(false);
    setTyped('');
    setError(undefined);
    setReport(undefined);
    dialog.current?.showModal();
  };
  const close = (): void => {
    dialog.current?.close();
  };

  const ready = reason.trim() !== '' && typed.trim().toUpperCase() === CONFIRM_WORD;
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!ready) {
      setError(
        reason.trim() === ''
          ? 'Give a reason: it is shown to every operator and recorded in the audit log.'
          : `Type ${CONFIRM_WORD} to confirm.`,
      );
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<HaltReportJson>('/v1/operator/halt', {
        reason: reason.trim(),
        ...(cancelOpenOrders ? { cancelOpenOrders: true } : {}),
        ...(revokeAgents ? { revokeAgents: true } : {}),
      });
      setReport(answer);
      props.onChanged();
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {props.halted ? (
        // Halted: the banner under the header says why and holds Resume; here, a mark no page can miss.
        <span class="halted-mark">Halted</span>
      ) : (
        <button type="button" class="button button-danger halt-button" onClick={open}>
          {/* One inline span: inside the flex button, a space at the start of a flex item would be dropped. */}
          <span>
            Halt<span class="wide-only"> trading</span>
          </span>
        </button>
      )}
      <dialog ref={dialog} class="dialog" aria-labelledby={`${id}-title`}>
        {report === undefined ? (
          <form onSubmit={(event) => void submit(event)} noValidate>
            <h2 id={`${id}-title`}>Halt all trading</h2>
            <p>
              Every agent request will be refused until an operator resumes. Requests already sent finish.
            </p>
            <div class="field">
              <label for={`${id}-reason`}>Reason</label>
              <input
                id={`${id}-reason`}
                type="text"
                required
                maxLength={500}
                value={reason}
                onInput={(event) => {
                  setReason(event.currentTarget.value);
                }}
              />
            </div>
            <div class="check">
              <input
                id={`${id}-cancel`}
                type="checkbox"
                checked={cancelOpenOrders}
                onChange={(event) => {
                  setCancel(event.currentTarget.checked);
                }}
              />
              <label for={`${id}-cancel`}>Cancel all open orders</label>
            </div>
            <div class="check">
              <input
                id={`${id}-revoke`}
                type="checkbox"
                checked={revokeAgents}
                onChange={(event) => {
                  setRevoke(event.currentTarget.checked);
                }}
              />
              <label for={`${id}-revoke`}>Revoke all agents (their tokens stop working for good)</label>
            </div>
            <div class="field">
              <label for={`${id}-typed`}>Type {CONFIRM_WORD} to confirm</label>
              <input
                id={`${id}-typed`}
                type="text"
                autocomplete="off"
                spellcheck={false}
                value={typed}
                onInput={(event) => {
                  setTyped(event.currentTarget.value);
                }}
              />
            </div>
            <p class="error" role="alert">
              {error ?? ''}
            </p>
            <div class="button-row">
              <button type="submit" class="button button-danger" disabled={busy}>
                {busy ? 'Halting…' : 'Halt now'}
              </button>
              <button type="button" class="button button-plain" onClick={close}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <div>
            <h2 id={`${id}-title`}>Trading halted</h2>
            <p>
              Halted at <time dateTime={report.halt.at}>{formatTime(report.halt.at)}</time> by{' '}
              {report.halt.by}.
            </p>
            <ul>
              <li>
                Agents revoked: {report.revokedAgents.length === 0 ? 'none' : report.revokedAgents.join(', ')}
              </li>
              {report.cancelled === undefined ? null : (
                <li>Open orders cancelled: {report.cancelled.length}</li>
              )}
            </ul>
            <div class="button-row">
              <button type="button" class="button button-primary" onClick={close}>
                Close
              </button>
            </div>
          </div>
        )}
      </dialog>
    </>
  );
}
