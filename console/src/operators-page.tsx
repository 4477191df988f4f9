// Operators: who may use the console and the operator API; add one (token shown once) or revoke one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type { OperatorAddedJson, OperatorsJson } from '../../src/surfaces/http/operator-api-types.js';
import { ConfirmAction, LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { TokenOnce } from './token-once.js';
import { asApiError, useApi, useResource } from './use-api.js';

export function OperatorsPage(): JSX.Element {
  const api = useApi();
  const operators = useResource((a) => a.get<OperatorsJson>('/v1/operator/operators'), 'operators');
  const [added, setAdded] = useState<OperatorAddedJson | undefined>(undefined);
  const [id, setId] = useState('');
  const [ttl, setTtl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (id.trim() === '') {
      setError('Give the operator an id.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<OperatorAddedJson>('/v1/operator/operators', {
        id: id.trim(),
        ...(ttl.trim() === '' ? {} : { ttl: ttl.trim() }),
      });
      setId('');
      setTtl('');
      setAdded(answer);
      operators.reload();
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Operators</h1>
      <LoadError error={operators.error} />
      <section aria-labelledby="add-operator-title" class="card">
        <h2 id="add-operator-title">Add an operator</h2>
        {added !== undefined ? (
          <TokenOnce
            what={`operator ${added.operator.id}`}
            token={added.token}
            onDismiss={() => {
              setAdded(undefined);
            }}
          />
        ) : (
          <form class="inline-form" onSubmit={(event) => void submit(event)} noValidate>
            <div class="field">
              <label for="operator-id">Operator id</label>
              <input
                id="operator-id"
                type="text"
                autocomplete="off"
                value={id}
                onInput={(event) => {
                  setId(event.currentTarget.value);
                }}
              />
            </div>
            <div class="field">
              <label for="operator-ttl">Lifetime (optional)</label>
              <input
                id="operator-ttl"
                type="text"
                placeholder="e.g. 90d"
                value={ttl}
                onInput={(event) => {
                  setTtl(event.currentTarget.value);
                }}
              />
            </div>
            <div class="button-row">
              <button type="submit" class="button button-primary" disabled={busy}>
                {busy ? 'Adding…' : 'Add operator'}
              </button>
            </div>
            <p class="error" role="alert">
              {error ?? ''}
            </p>
          </form>
        )}
      </section>
      <section aria-labelledby="operators-title">
        <h2 id="operators-title">All operators</h2>
        {operators.data === undefined ? (
          <p role="status">Loading…</p>
        ) : (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Operator</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {operators.data.operators.map((operator) => (
                  <tr key={operator.id}>
                    <th scope="row">{operator.id}</th>
                    <td>
                      <span class={`status status-${operator.status}`}>{operator.status}</span>
                    </td>
                    <td>{formatTime(operator.createdAt)}</td>
                    <td>{formatTime(operator.expiresAt)}</td>
                    <td>
                      {operator.status === 'active' ? (
                        <ConfirmAction
                          label="Revoke"
                          labelDetail={operator.id}
                          question={`Revoke operator ${operator.id}? Their token and console sessions stop working.`}
                          confirmLabel={`Yes, revoke ${operator.id}`}
                          tone="danger"
                          onConfirm={async () => {
                            await api.post(
                              `/v1/operator/operators/${encodeURIComponent(operator.id)}/revoke`,
                            );
                            operators.reload();
                          }}
                        />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
