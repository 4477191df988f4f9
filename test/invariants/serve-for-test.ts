import { join } from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';

import { issueAgentToken } from '../../src/broker/agent-tokens.js';
import { type BrokerRuntime, openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';

/** A broker as `cofre serve` wires it, on a free loopback port, for the invariant tests. */
export interface ServedBroker {
  readonly runtime: BrokerRuntime;
  readonly server: FastifyInstance;
  readonly url: string;
  /** The token of the one agent issued for the test. */
  readonly token: string;
  close(): Promise<void>;
}

/**
 * Opens the broker runtime a config (YAML lines, paths relative to `dir`) describes and serves its HTTP API, with
 * every log line (at trace level) appended to `logLines` so a test can search them, and issues a token for
 * `agent.id` under `agent.policy`.
 */
export async function serveBrokerForTest(
  dir: string,
  configLines: readonly string[],
  logLines: string[],
  agent: { readonly id: string; readonly policy: string },
): Promise<ServedBroker> {
  const config = parseConfig(configLines.join('\n'), { sourcePath: join(dir, 'cofre.yaml') });
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, capture);
  const runtime = await openBrokerRuntime(config, { logger });
  const { token } = issueAgentToken(runtime.state, { ...agent, ttlMs: 3_600_000, now: new Date() });
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
    close: async () => {
      await server.close();
      await runtime.close();
    },
  };
}
