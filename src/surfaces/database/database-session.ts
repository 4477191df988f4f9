import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

import type { Logger } from 'pino';

import type { AuditEvent, AuditSink } from '../../audit/audit-log.js';
import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import type { AuditedSecrets } from '../../broker/audited-secrets.js';
import type { DatabaseConfig } from '../../config/config-schema.js';
import { authenticationOk, errorResponse } from '../../databases/pg-wire.js';
import { loginUpstream, UpstreamLoginError, type UpstreamSession } from '../../databases/upstream-login.js';
import { isCofreError } from '../../errors.js';
import type { AgentAuthenticator } from '../../identity/agent-authenticator.js';
import type { PolicyDecision, PolicyEngine } from '../../policy/policy-types.js';
import type { StateStore } from '../../state/state-store.js';
import { runWithRequestId } from '../../venues/request-context.js';
import { type ClientHello, HandshakeEnd, readClientHello } from './client-handshake.js';

/** What one listener needs to broker a connection. */
export interface DatabaseSessionDeps {
  readonly name: string;
  readonly database: DatabaseConfig;
  readonly state: StateStore;
  /** How the agent's token (the start-up password) is checked. */
  readonly authenticator: AgentAuthenticator;
  readonly policy: PolicyEngine;
  readonly secrets: AuditedSecrets;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * Start-up parameters passed on to the upstream. Others are dropped: `options` could set server settings at start,
 * `replication` is refused outright, `user` and `database` come from cofre.
 */
const PASSED_PARAMS = [
  'application_name',
  'client_encoding',
  'DateStyle',
  'TimeZone',
  'IntervalStyle',
  'extra_float_digits',
  'search_path',
  'statement_timeout',
];

/**
 * Brokers one client connection: the agent token as password, a `connect_database` policy decision, the upstream
 * login with the current credentials, then bytes relayed both ways untouched. Every end is audited (`database`).
 * SECURITY: nothing of the credentials reaches the client, the logs or the audit log (only HMAC'd references).
 */
export async function handleDatabaseClient(client: Socket, deps: DatabaseSessionDeps): Promise<void> {
  const connection = `db_${randomBytes(9).toString('base64url')}`;
  const log = deps.logger.child({ database: deps.name, connection });
  client.on('error', () => undefined); // a reset by the client is its close; 'close' follows
  let hello: ClientHello;
  try {
    hello = await readClientHello(client);
  } catch (err) {
    const end = err instanceof HandshakeEnd ? err : new HandshakeEnd('protocol', 'handshake failed');
    log.info({ reason: end.reason }, `database client ended before authenticating: ${end.message}`);
    if (end.reason === 'protocol') refuse(client, '08P01', `cofre: ${end.message}`);
    else client.destroy();
    return;
  }
  let agent: AuthenticatedAgent;
  try {
    agent = await deps.authenticator.authenticate(hello.password, deps.now());
  } catch (err) {
    const message = isCofreError(err) ? err.message : 'invalid agent token';
    log.warn('database connection refused: agent token not accepted');
    refuse(client, '28P01', `cofre: ${message}; give the agent's cofre token as the password`);
    return;
  }
  // Issue 17: a database connection is a `services` action; an OAuth access token without that scope reaches none.
  if (agent.actionClasses !== undefined && !agent.actionClasses.has('services')) {
    log.info({ agent: agent.id }, 'database connection refused: the access token has no services scope');
    refuse(
      client,
      '28000',
      'cofre: this access token has no scope for services (databases, http_request); ask the authorization server for a token with the services scope (agents.oauth[].scopes.services)',
    );
    return;
  }
  const record = (status: string, decision: PolicyDecision | undefined, detail: Record<string, unknown>) =>
    deps.audit.append(auditEvent(connection, agent.id, status, decision, { database: deps.name, ...detail }));
  // The kill switch (`cofre halt`, the operator API) stops agents reaching databases too; open connections stay.
  const halt = await deps.state.halted();
  if (halt !== undefined) {
    await record('refused', undefined, { halted: true }).catch(() => undefined);
    refuse(client, '57P03', `cofre: halted since ${halt.at.toISOString()}: ${halt.reason}`);
    return;
  }
  const decision = deps.policy.decide({
    agentId: agent.id,
    policy: agent.policy,
    action: 'connect_database',
    account: undefined,
    database: deps.name,
  });
  if (decision.decision !== 'allow') {
    await record('refused', decision, {}).catch(() => undefined);
    log.info({ agent: agent.id, rule: decision.rule }, 'database connection refused by policy');
    refuse(client, '28000', policyRefusal(decision, deps.name));
    return;
  }
  const opened = Date.now();
  let upstream: UpstreamSession | undefined;
  try {
    upstream = await runWithRequestId(connection, agent.id, () => openUpstream(deps, hello));
    // SECURITY: fail closed — a connection whose opening is not on record is not served.
    await record('opened', decision, {});
  } catch (err) {
    upstream?.socket.destroy();
    const reason = whyUnavailable(err);
    await record('failed', decision, { reason }).catch(() => undefined);
    // A backend's error names the reference and the backend, never a value (how secrets/ words its errors).
    log.warn(
      { agent: agent.id, reason, err: isCofreError(err) ? err.message : undefined },
      'database connection failed',
    );
    refuse(client, '08006', `COFRE_DATABASE_UNAVAILABLE: database "${deps.name}" is unavailable: ${reason}`);
    return;
  }
  log.info({ agent: agent.id }, 'database connection opened');
  const counts = relay(client, upstream, hello.rest);
  const closed = (): void => {
    const detail = { ...counts(), durationMs: Date.now() - opened };
    log.info({ agent: agent.id, ...detail }, 'database connection closed');
    record('closed', decision, detail).catch((err: unknown) => {
      log.error({ err }, 'could not record the close of a database connection');
    });
  };
  // The client may have gone while cofre logged in upstream: its 'close' has then already been emitted.
  if (client.destroyed) {
    upstream.socket.destroy();
    closed();
  } else client.once('close', closed);
}

/** Reads the current credentials (each read audited under the connection id) and logs in upstream with them. */
async function openUpstream(deps: DatabaseSessionDeps, hello: ClientHello): Promise<UpstreamSession> {
  const { credentials } = deps.database;
  const access = { purpose: 'database-credentials' as const };
  const user = await deps.secrets.read(credentials.username, access);
  try {
    const password = await deps.secrets.read(credentials.password, access);
    try {
      const params: Record<string, string> = {};
      for (const key of PASSED_PARAMS) {
        const value = hello.params.get(key);
        if (value !== undefined) params[key] = value;
      }
      return await loginUpstream({
        host: deps.database.host,
        port: deps.database.port,
        database: deps.database.database,
        user: user.text(),
        password: password.text(),
        params,
      });
    } finally {
      password.zero();
    }
  } finally {
    user.zero();
  }
}

/** Pipes both ways; each side's end or error closes the other. Returns the byte counts so far. */
function relay(
  client: Socket,
  upstream: UpstreamSession,
  pending: Buffer,
): () => { bytesFromClient: number; bytesFromDatabase: number } {
  const server = upstream.socket;
  let fromClient = pending.length;
  let fromDatabase = 0;
  server.on('error', () => undefined);
  client.on('data', (chunk: Buffer) => {
    fromClient += chunk.length;
  });
  server.on('data', (chunk: Buffer) => {
    fromDatabase += chunk.length;
  });
  client.write(Buffer.concat([authenticationOk(), upstream.greeting, upstream.rest]));
  if (pending.length > 0) server.write(pending);
  client.pipe(server);
  server.pipe(client);
  client.once('close', () => server.destroy());
  server.once('close', () => client.destroy());
  client.resume();
  server.resume();
  return () => ({ bytesFromClient: fromClient, bytesFromDatabase: fromDatabase });
}

/** The words of a policy refusal: the rule's reason, or why `approve` and `confirm` cannot apply here. */
function policyRefusal(decision: PolicyDecision, name: string): string {
  const why =
    decision.decision === 'deny'
      ? decision.reason
      : `the policy asks for ${decision.decision === 'approval' ? 'operator approval' : 'confirmation'}, which a database connection cannot wait for`;
  return `cofre: policy does not allow connect_database to "${name}": ${why}`;
}

function whyUnavailable(err: unknown): string {
  if (err instanceof UpstreamLoginError) return err.message;
  // The tool is told the code only: where cofre keeps the credentials (the reference) is not its business.
  if (isCofreError(err)) return `cofre could not open it (${err.code})`;
  return 'internal error';
}

function refuse(client: Socket, code: string, message: string): void {
  client.end(errorResponse(code, message));
}

function auditEvent(
  requestId: string,
  agent: string,
  status: string,
  decision: PolicyDecision | undefined,
  detail: Record<string, unknown>,
): AuditEvent {
  return {
    kind: 'database',
    requestId,
    agent,
    action: 'connect_database',
    ...(decision === undefined
      ? {}
      : { decision: decision.decision, rule: decision.rule, policyHash: decision.policyHash }),
    status,
    detail,
  };
}
