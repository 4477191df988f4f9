// Agents: each agent's policy, status and live sessions; add one (its token shown once) or revoke one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type {
  AgentAddedJson,
  AgentJson,
  AgentRevokedJson,
  AgentsJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { AddPrincipalForm } from './add-principal-form.js';
import { ConfirmAction, LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { DataTable, StatusBadge } from './table.js';
import { TokenOnce } from './token-once.js';
import { useApi, useResource } from './use-api.js';

/** `#/agents`. */
export function AgentsPage(): JSX.Element {
  const api = useApi();
  const agents = useResource((a) => a.get<AgentsJson>('/v1/operator/agents'), 'agents');
  const [added, setAdded] = useState<AgentAddedJson | undefined>(undefined);
  const [revoked, setRevoked] = useState<string | undefined>(undefined);

  return (
    <>
      <h1>Agents</h1>
      <LoadError error={agents.error} />
      <section aria-labelledby="add-agent-title" class="card">
        <h2 id="add-agent-title">Add an agent</h2>
        {added === undefined ? (
          <AddPrincipalForm
            kind="agent"
            policies={agents.data?.policies ?? []}
            onAdd={async (input) => {
              setAdded(await api.post<AgentAddedJson>('/v1/operator/agents', input));
              agents.reload();
            }}
          />
        ) : (
          <TokenOnce
            what={`agent ${added.agent.id}`}
            token={added.token}
            onDismiss={() => {
              setAdded(undefined);
            }}
          />
        )}
      </section>
      <section aria-labelledby="agents-title">
        <h2 id="agents-title">All agents</h2>
        <p class="muted" role="status">
          {revoked ?? ''}
        </p>
        {agents.data === undefined ? (
          <p role="status">Loading…</p>
        ) : agents.data.agents.length === 0 ? (
          <p class="empty">No agents yet.</p>
        ) : (
          <AgentsTable
            agents={agents.data.agents}
            onRevoked={(id, answer) => {
              setRevoked(
                `Agent ${id} revoked${answer.sessions === 0 ? '' : ` with ${answer.sessions} session(s)`}.`,
              );
              agents.reload();
            }}
          />
        )}
      </section>
    </>
  );
}

function AgentsTable(props: {
  readonly agents: readonly AgentJson[];
  readonly onRevoked: (id: string, answer: AgentRevokedJson) => void;
}): JSX.Element {
  const api = useApi();
  return (
    <DataTable columns={['Agent', 'Policy', 'Status', 'Sessions', 'Created', 'Expires', '']}>
      {props.agents.map((agent) => (
        <tr key={agent.id}>
          <th scope="row">{agent.id}</th>
          <td>{agent.policy}</td>
          <td>
            <StatusBadge status={agent.status} />
            {agent.revokedAt === null ? null : <span class="muted"> {formatTime(agent.revokedAt)}</span>}
          </td>
          <td>{agent.sessions}</td>
          <td>{formatTime(agent.createdAt)}</td>
          <td>{formatTime(agent.expiresAt)}</td>
          <td>
            {agent.status === 'active' ? (
              <ConfirmAction
                label="Revoke"
                labelDetail={agent.id}
                question={`Revoke agent ${agent.id}? Its token and every session it started stop working now.`}
                confirmLabel={`Yes, revoke ${agent.id}`}
                tone="danger"
                onConfirm={async () => {
                  const answer = await api.post<AgentRevokedJson>(
                    `/v1/operator/agents/${encodeURIComponent(agent.id)}/revoke`,
                  );
                  props.onRevoked(agent.id, answer);
                }}
              />
            ) : null}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
