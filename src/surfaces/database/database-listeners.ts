import { createServer, type Server, type Socket } from 'node:net';

import type { Logger } from 'pino';

import type { AuditSink } from '../../audit/audit-log.js';
import type { AuditedSecrets } from '../../broker/audited-secrets.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { type AgentAuthenticator, createAgentAuthenticator } from '../../identity/agent-authenticator.js';
import { RulePolicy } from '../../policy/rule-policy.js';
import type { StateStore } from '../../state/state-store.js';
import { handleDatabaseClient } from './database-session.js';

/** The database listeners of a serving cofre (issue 15): one loopback TCP port per entry of `databases`. */
export interface DatabaseListeners {
  /** Where each database listens, by name (the port is the real one when `listen.port` was 0). */
  readonly addresses: Readonly<Record<string, { readonly host: string; readonly port: number }>>;
  /** Stops listening and ends every brokered connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a listener for each configured database; none when `databases` is empty. All or nothing. */
export async function startDatabaseListeners(
  config: CofreConfig,
  deps: {
    readonly state: StateStore;
    /** Default: agent and session tokens from `state`. */
    readonly authenticator?: AgentAuthenticator;
    readonly secrets: AuditedSecrets;
    readonly audit: AuditSink;
    readonly logger: Logger;
    readonly now?: () => Date;
  },
): Promise<DatabaseListeners> {
  const now = deps.now ?? (() => new Date());
  // The same rules the broker decides with (a pure engine over the config), asked for `connect_database`.
  const policy = new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    now,
  });
  const logger = deps.logger.child({ part: 'database' });
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const addresses: Record<string, { host: string; port: number }> = {};
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      const stopped = servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => {
              resolve();
            });
          }),
      );
      // server.close waits for open connections: end the brokered ones (their upstreams close with them).
      for (const socket of sockets) socket.destroy();
      await Promise.all(stopped);
    })());
  try {
    const authenticator = deps.authenticator ?? createAgentAuthenticator(deps.state);
    for (const [name, database] of Object.entries(config.databases)) {
      const server = createServer({ noDelay: true }, (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        handleDatabaseClient(socket, {
          name,
          database,
          state: deps.state,
          authenticator,
          policy,
          secrets: deps.secrets,
          audit: deps.audit,
          logger,
          now,
        }).catch((err: unknown) => {
          logger.error({ err, database: name }, 'database connection failed');
          socket.destroy();
        });
      });
      servers.push(server);
      addresses[name] = await listen(server, name, database.listen.host, database.listen.port);
      logger.info({ database: name, ...addresses[name] }, 'database listener ready');
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { addresses, close };
}

function listen(
  server: Server,
  name: string,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new CofreError(
              'COFRE_PORT_IN_USE',
              `port ${port} on ${host} (databases.${name}.listen) is already in use by another process; choose another port`,
              { cause: err, details: { host, port } },
            )
          : err,
      );
    });
    server.listen({ host, port }, () => {
      const address = server.address();
      resolve({ host, port: typeof address === 'object' && address !== null ? address.port : port });
    });
  });
}
