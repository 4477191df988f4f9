// Agents: each agent's policy, status and live sessions; add one (its token shown once) or revoke one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type {
  AgentAddedJson,
  AgentRevokedJson,
  AgentsJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { ConfirmAction, LoadError } from './confirm-action.js';
import { formatTime } from './format.js';
import { TokenOnce } from './token-once.js';
import { asApiError, useApi, useResource } from './use-api.js';

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
          <AddAgentForm
            policies={agents.data?.policies ?? []}
            onAdded={(answer) => {
              setAdded(answer);
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
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Status</th>
                  <th scope="col">Sessions</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {agents.data.agents.map((agent) => (
                  <tr key={agent.id}>
                    <th scope="row">{agent.id}</th>
                    <td>{agent.policy}</td>
                    <td>
                      <span class={`status status-${agent.status}`}>{agent.status}</span>
                      {agent.revokedAt === null ? null : (
                        <span class="muted"> {formatTime(agent.revokedAt)}</span>
                      )}
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
                            setRevoked(
                              `Agent ${agent.id} revoked${answer.sessions === 0 ? '' : ` with ${answer.sessions} session(s)`}.`,
                            );
                            agents.reload();
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

function AddAgentForm(props: {
  readonly policies: readonly string[];
  readonly onAdded: (answer: AgentAddedJson) => void;
}): JSX.Element {
  const api = useApi();
  const [id, setId] = useState('');
  const [policy, setPolicy] = useState('');
  const [ttl, setTtl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (id.trim() === '') {
      setError('Give the agent an id.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<AgentAddedJson>('/v1/operator/agents', {
        id: id.trim(),
        ...(policy === '' ? {} : { policy }),
        ...(ttl.trim() === '' ? {} : { ttl: ttl.trim() }),
      });
      setId('');
      setTtl('');
      props.onAdded(answer);
    } catch (cause) {
      setError(asApiError(cause).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="inline-form" onSubmit={(event) => void submit(event)} noValidate>
      <div class="field">
        <label for="agent-id">Agent id</label>
        <input
          id="agent-id"
          type="text"
          autocomplete="off"
          value={id}
          onInput={(event) => {
            setId(event.currentTarget.value);
          }}
        />
      </div>
      <div class="field">
        <label for="agent-policy">Policy</label>
        <select
          id="agent-policy"
          value={policy}
          onChange={(event) => {
            setPolicy(event.currentTarget.value);
          }}
        >
          <option value="">default</option>
          {props.policies.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="agent-ttl">Lifetime (optional)</label>
        <input
          id="agent-ttl"
          type="text"
          placeholder="e.g. 30d"
          aria-describedby="agent-ttl-help"
          value={ttl}
          onInput={(event) => {
            setTtl(event.currentTarget.value);
          }}
        />
        <p id="agent-ttl-help" class="help">
          Like 12h or 30d; empty: the configured default.
        </p>
      </div>
      <div class="button-row">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add agent'}
        </button>
      </div>
      <p class="error" role="alert">
        {error ?? ''}
      </p>
    </form>
  );
}
