// A newly issued token, shown once: read-only, selectable, with a Copy button. The server never shows it again, and
// neither does the console once this is dismissed (it is kept in this component's state only).
import type { JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

/** A new token with its Copy button and the warning that it will not be shown again. */
export function TokenOnce(props: {
  readonly what: string;
  readonly token: string;
  readonly onDismiss: () => void;
}): JSX.Element {
  const id = useId();
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | undefined>(undefined);

  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, []);

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(props.token);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard permission (or not a secure context): leave it selected for Ctrl+C.
      field.current?.select();
      setCopied('Copying was refused by the browser: the token is selected, press Ctrl+C (⌘C).');
    }
  };

  return (
    <div class="token-once" role="region" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Token for {props.what}</h3>
      <p class="warning">
        <strong>This token will not be shown again.</strong> Copy it now and store it where the {props.what}{' '}
        can read it.
      </p>
      <div class="token-row">
        <label for={`${id}-token`} class="visually-hidden">
          New token for {props.what}
        </label>
        <input
          id={`${id}-token`}
          ref={field}
          class="token"
          type="text"
          readOnly
          value={props.token}
          spellcheck={false}
        />
        <button type="button" class="button button-primary" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p class="muted" role="status">
        {copied ?? ''}
      </p>
      <button type="button" class="button button-plain" onClick={props.onDismiss}>
        I have stored it — hide the token
      </button>
    </div>
  );
}
