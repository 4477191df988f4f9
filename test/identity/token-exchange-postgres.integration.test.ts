// Issue 17: the token exchange on PostgreSQL state (the session store itself is conformance-tested on both stores;
// this runs the exchange once end to end on PostgreSQL): a Kubernetes stand-in token exchanged, the issued token
// authenticated, revoked with the agent; and an issuance the audit log cannot record is revoked and refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuditEvent, AuditSink } from '../../src/audit/audit-log.js';
import type { ExchangeIssuerConfig } from '../../src/config/identity-config.js';
import { isCofreError } from '../../src/errors.js';
import { authenticateAgentSession } from '../../src/identity/agent-sessions.js';
import { createTokenExchange } from '../../src/identity/token-exchange.js';
import { postgresStateTestFile } from '../state/postgres-state-test-file.js';
import {
  type KubernetesApiServer,
  startKubernetesApiServer,
} from '../workload-issuers/kubernetes-api-server.js';

const pg = await postgresStateTestFile();
let k8s: KubernetesApiServer;

beforeAll(async () => {
  k8s = await startKubernetesApiServer();
});
afterAll(async () => {
  await k8s.close();
});

function issuerConfig(): ExchangeIssuerConfig {
  return {
    issuer: k8s.issuer,
    algorithms: ['RS256'],
    clockSkew: 30_000,
    audience: 'cofre',
    tokenTtl: 600_000,
    rules: [{ claims: { 'kubernetes.io.namespace': 'trading' }, agent: 'k8s-bot', policy: 'trader' }],
  };
}

function recordingSink(failOn?: (event: AuditEvent) => boolean): AuditSink & { events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return {
    events,
    append(event) {
      if (failOn?.(event) === true) return Promise.reject(new Error('disk full'));
      events.push(event);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

function form(subjectToken: string): Map<string, string[]> {
  return new Map([
    ['grant_type', ['urn:ietf:params:oauth:grant-type:token-exchange']],
    ['subject_token', [subjectToken]],
    ['subject_token_type', ['urn:ietf:params:oauth:token-type:jwt']],
  ]);
}

describe('token exchange on PostgreSQL state', () => {
  it('issues a session token that authenticates until the agent is revoked', async () => {
    const state = await pg.replica();
    const audit = recordingSink();
    const exchange = createTokenExchange({
      issuers: [issuerConfig()],
      publicUrl: undefined,
      state,
      audit,
      now: () => new Date(),
    });
    const issued = await exchange.exchange(
      form(await k8s.issueToken({ namespace: 'trading', serviceAccount: 'bot' })),
    );
    const agent = await authenticateAgentSession(state, issued.accessToken, new Date());
    expect(agent).toMatchObject({ id: 'k8s-bot', policy: 'trader', via: 'exchange' });
    expect(await state.listAgentSessions({ agentId: 'k8s-bot', now: new Date() })).toEqual([
      expect.objectContaining({
        subject: `${k8s.issuer} system:serviceaccount:trading:bot`,
        kind: 'exchange',
      }),
    ]);
    expect(audit.events).toEqual([
      expect.objectContaining({ kind: 'identity', agent: 'k8s-bot', status: 'issued' }),
    ]);

    expect(await state.revokeAgentSessionsOf('k8s-bot', new Date())).toBe(1);
    await expect(authenticateAgentSession(state, issued.accessToken, new Date())).rejects.toMatchObject({
      code: 'COFRE_UNAUTHENTICATED',
    });
  });

  it('revokes and refuses an issuance the audit log cannot record (fail closed)', async () => {
    const state = await pg.replica();
    const exchange = createTokenExchange({
      issuers: [issuerConfig()],
      publicUrl: undefined,
      state,
      audit: recordingSink((e) => e.status === 'issued'),
      now: () => new Date(),
    });
    const err = await exchange
      .exchange(form(await k8s.issueToken({ namespace: 'trading', serviceAccount: 'bot' })))
      .catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    expect(await state.listAgentSessions({ agentId: 'k8s-bot', now: new Date() })).toEqual([]);
  });
});
