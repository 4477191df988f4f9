// The form that adds an agent or an operator: an id, a policy (agents), an optional lifetime. Its answer carries the
// new token, which the page shows once.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { asApiError } from './use-api.js';

/** The body of `POST /v1/operator/agents` or `/operators`. */
export interface PrincipalInput {
  readonly id: string;
  readonly policy?: string;
  readonly ttl?: string;
}

/** The add form of the Agents and Operators pages. */
export function AddPrincipalForm(props: {
  readonly kind: 'agent' | 'operator';
  /** The config's policies, for an agent; absent for an operator. */
  readonly policies?: readonly string[];
  /** Adds it; a thrown error is shown under the form. */
  readonly onAdd: (input: PrincipalInput) => Promise<void>;
}): JSX.Element {
  const { kind, policies } = props;
  const [id, setId] = useState('');
  const [policy, setPolicy] = useState('');
  const [ttl, setTtl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const Kind = kind === 'agent' ? 'Agent' : 'Operator';

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (id.trim() === '') {
      setError(`Give the ${kind} an id.`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await props.onAdd({
        id: id.trim(),
        ...(policy === '' ? {} : { policy }),
        ...(ttl.trim() === '' ? {} : { ttl: ttl.trim() }),
      });
      setId('');
      setTtl('');
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="inline-form" onSubmit={(event) => void submit(event)} noValidate>
      <div class="field">
        <label for={`${kind}-id`}>{Kind} id</label>
        <input
          id={`${kind}-id`}
          type="text"
          autocomplete="off"
          aria-describedby={`${kind}-id-help`}
          value={id}
          onInput={(event) => {
            setId(event.currentTarget.value);
          }}
        />
        <p id={`${kind}-id-help`} class="help">
          Lower case: a-z, 0-9, - and _.
        </p>
      </div>
      {policies === undefined ? null : (
        <div class="field">
          <label for={`${kind}-policy`}>Policy</label>
          <select
            id={`${kind}-policy`}
            value={policy}
            onChange={(event) => {
              setPolicy(event.currentTarget.value);
            }}
          >
            <option value="">default</option>
            {policies.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class="field">
        <label for={`${kind}-ttl`}>Lifetime (optional)</label>
        <input
          id={`${kind}-ttl`}
          type="text"
          placeholder={kind === 'agent' ? 'e.g. 30d' : 'e.g. 90d'}
          aria-describedby={`${kind}-ttl-help`}
          value={ttl}
          onInput={(event) => {
            setTtl(event.currentTarget.value);
          }}
        />
        <p id={`${kind}-ttl-help`} class="help">
          Like 12h or 30d; empty: the configured default.
        </p>
      </div>
      <div class="button-row">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Adding…' : `Add ${kind}`}
        </button>
      </div>
      <p class="error" role="alert">
        {error ?? ''}
      </p>
    </form>
  );
}
