// A button that asks before it acts: the first press opens a confirmation with an optional comment, the second one
// does it. Used for every decision and every destructive action (approve, deny, revoke, resume).
import type { JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

import { asApiError } from './use-api.js';

/** What {@link ConfirmAction} asks and does. */
export interface ConfirmActionProps {
  /** The first button's text ("Approve"). */
  readonly label: string;
  /** More of the first button's name for screen readers only ("trader-1" after "Revoke"), to tell rows apart. */
  readonly labelDetail?: string;
  /** What the confirmation asks ("Approve this order of 0.05 BTC?"). */
  readonly question: string;
  /** The second button's text ("Confirm approve"). */
  readonly confirmLabel: string;
  /** Offer a comment field (sent with the action). */
  readonly comment?: boolean;
  readonly tone?: 'primary' | 'danger' | 'plain';
  readonly disabled?: boolean;
  /** Does it; a thrown error is shown under the buttons. */
  readonly onConfirm: (comment: string | undefined) => Promise<void>;
}

/** A two-step action: ask, then do; errors stay beside the buttons. */
export function ConfirmAction(props: ConfirmActionProps): JSX.Element {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [comment, setComment] = useState('');
  const id = useId();
  const confirmRef = useRef<HTMLButtonElement>(null);
  const commentRef = useRef<HTMLTextAreaElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const tone = props.tone ?? 'plain';

  useEffect(() => {
    // Keyboard users land on the next thing to do: the comment if there is one, else the confirm button.
    if (open) (commentRef.current ?? confirmRef.current)?.focus();
  }, [open]);

  const cancel = (): void => {
    setOpen(false);
    setError(undefined);
    setTimeout(() => openerRef.current?.focus(), 0);
  };

  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm(comment.trim() === '' ? undefined : comment.trim());
      setOpen(false);
      setComment('');
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <button
        type="button"
        ref={openerRef}
        class={`button button-${tone}`}
        disabled={props.disabled === true}
        onClick={() => {
          setOpen(true);
        }}
      >
        {props.label}
        {props.labelDetail === undefined ? null : <span class="visually-hidden"> {props.labelDetail}</span>}
      </button>
    );
  }
  return (
    <div class="confirm" role="group" aria-labelledby={`${id}-q`}>
      <p id={`${id}-q`} class="confirm-question">
        {props.question}
      </p>
      {props.comment === true ? (
        <div class="field">
          <label for={`${id}-comment`}>Comment (optional)</label>
          <textarea
            id={`${id}-comment`}
            ref={commentRef}
            rows={2}
            maxLength={500}
            value={comment}
            onInput={(event) => {
              setComment(event.currentTarget.value);
            }}
          />
        </div>
      ) : null}
      <div class="button-row">
        <button
          type="button"
          ref={confirmRef}
          class={`button button-${tone}`}
          disabled={busy}
          onClick={() => void confirm()}
        >
          {busy ? 'Working…' : props.confirmLabel}
        </button>
        <button type="button" class="button button-plain" disabled={busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {error === undefined ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** An error line for a failed load, announced to screen readers. */
export function LoadError(props: {
  readonly error: { readonly message: string } | undefined;
}): JSX.Element | null {
  if (props.error === undefined) return null;
  return (
    <p class="error" role="alert">
      {props.error.message}
    </p>
  );
}
