import { join } from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

import { createAuditKeys } from '../../src/audit/audit-keys.js';
import { createLogger } from '../../src/audit/create-logger.js';
import { issueAgentToken } from '../../src/broker/agent-tokens.js';
import { type BrokerRuntime, openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import { parseConfig } from '../../src/config/load-config.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { LogRedactor } from '../../src/secrets/log-redactor.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';

/** A broker as `cofre serve` wires it, on a free loopback port, for the invariant tests. */
export interface ServedBroker {
  readonly runtime: BrokerRuntime;
  readonly server: FastifyInstance;
  readonly url: string;
  /** The token of the one agent issued for the test. */
  readonly token: string;
  /** The logger the broker and the server write to (trace level, lines captured), for deliberate test lines. */
  readonly logger: Logger;
  close(): Promise<void>;
}

/** What {@link serveBrokerForTest} sets up. */
export interface TestBrokerSetup {
  /** The exchange keys, stored as `exchanges/paper` in a new embedded store that every account uses. */
  readonly keys: { readonly apiKey: string; readonly secret: string };
  /** Paper accounts by id, each with the URL of the exchange it talks to. */
  readonly accounts: Readonly<Record<string, string>>;
  /** Actions of the one policy, `all`, which allows every account above. */
  readonly actions: readonly string[];
  readonly agentId: string;
  /** The audit log's path relative to the folder; default `audit.jsonl`. */
  readonly auditPath?: string;
  /** A file witness of the audit log's checkpoints, relative to the folder, with a checkpoint every 5 records. */
  readonly witnessPath?: string;
}

/**
 * Writes an embedded store holding `setup.keys` and a config for `setup.accounts` into `dir`, opens the broker
 * runtime it describes and serves its HTTP API, with every log line (at trace level) appended to `logLines` so a
 * test can search them, and issues a token for `setup.agentId`.
 */
export async function serveBrokerForTest(
  dir: string,
  setup: TestBrokerSetup,
  logLines: string[],
): Promise<ServedBroker> {
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  try {
    await store.write('exchanges/paper', SecretValue.fromText(JSON.stringify(setup.keys)));
    await createAuditKeys(store); // as `cofre init` does
  } finally {
    await store.close();
  }
  const credentials =
    'credentials: { apiKey: "local:exchanges/paper#apiKey", secret: "local:exchanges/paper#secret" }';
  const configLines = [
    'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
    'accounts:',
    ...Object.entries(setup.accounts).map(
      ([id, url]) => `  ${id}: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    ),
    'policies:',
    `  all: { accounts: [${Object.keys(setup.accounts).join(', ')}], actions: [${setup.actions.join(', ')}] }`,
    `audit: { path: ${setup.auditPath ?? 'audit.jsonl'}, signingKey: "local:audit/signing-key", hmacKey: "local:audit/hmac-key"${
      setup.witnessPath === undefined
        ? ''
        : `, checkpoint: { every: 5 }, witnesses: [{ type: file, path: ${setup.witnessPath} }]`
    } }`,
    'state: { path: state.db }',
  ];
  const config = parseConfig(configLines.join('\n'), { sourcePath: join(dir, 'cofre.yaml') });
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  // As `cofre serve` makes it (createLogger: path and value redaction), with a redactor of this broker's own.
  const logRedactor = new LogRedactor();
  const logger = createLogger({ level: 'trace', destination: capture, redactor: logRedactor });
  const runtime = await openBrokerRuntime(config, { logger, logRedactor });
  const { token } = await issueAgentToken(runtime.state, {
    id: setup.agentId,
    policy: 'all',
    ttlMs: 3_600_000,
    now: new Date(),
  });
  const server = createHttpServer({
    broker: runtime.broker,
    state: runtime.state,
    logger,
    bodyLimit: 65_536,
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    runtime,
    server,
    url,
    token,
    logger,
    close: async () => {
      await server.close();
      await runtime.close();
      logRedactor.dispose();
    },
  };
}
