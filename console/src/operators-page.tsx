// Operators: who may use the console and the operator API; add one (token shown once) or revoke one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type {
  OperatorAddedJson,
  OperatorJson,
  OperatorsJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { AddPrincipalForm } from './add-principal-form.js';
import { ConfirmAction, LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { DataTable, StatusBadge } from './table.js';
import { TokenOnce } from './token-once.js';
import { useApi, useResource } from './use-api.js';

/** `#/operators`. */
export function OperatorsPage(): JSX.Element {
  const api = useApi();
  const operators = useResource((a) => a.get<OperatorsJson>('/v1/operator/operators'), 'operators');
  const [added, setAdded] = useState<OperatorAddedJson | undefined>(undefined);

  return (
    <>
      <h1>Operators</h1>
      <LoadError error={operators.error} />
      <section aria-labelledby="add-operator-title" class="card">
        <h2 id="add-operator-title">Add an operator</h2>
        {added === undefined ? (
          <AddPrincipalForm
            kind="operator"
            onAdd={async (input) => {
              setAdded(await api.post<OperatorAddedJson>('/v1/operator/operators', input));
              operators.reload();
            }}
          />
        ) : (
          <TokenOnce
            what={`operator ${added.operator.id}`}
            token={added.token}
            onDismiss={() => {
              setAdded(undefined);
            }}
          />
        )}
      </section>
      <section aria-labelledby="operators-title">
        <h2 id="operators-title">All operators</h2>
        {operators.data === undefined ? (
          <p role="status">Loading…</p>
        ) : (
          <OperatorsTable operators={operators.data.operators} onRevoked={operators.reload} />
        )}
      </section>
    </>
  );
}

function OperatorsTable(props: {
  readonly operators: readonly OperatorJson[];
  readonly onRevoked: () => void;
}): JSX.Element {
  const api = useApi();
  return (
    <DataTable columns={['Operator', 'Status', 'Created', 'Expires', '']}>
      {props.operators.map((operator) => (
        <tr key={operator.id}>
          <th scope="row">{operator.id}</th>
          <td>
            <StatusBadge status={operator.status} />
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
                  await api.post(`/v1/operator/operators/${encodeURIComponent(operator.id)}/revoke`);
                  props.onRevoked();
                }}
              />
            ) : null}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
