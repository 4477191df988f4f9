import { createLogger } from '../../audit/create-logger.js';
import { openBrokerRuntime } from '../../broker/broker-runtime.js';
import { createHttpServer } from '../http/http-server.js';
import type { CliIo } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';
import { untilSignal } from './until-signal.js';

/** `cofre serve`: the HTTP API and MCP Streamable HTTP for a real config, until SIGINT or SIGTERM. */
export async function serve(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const logger = createLogger();
  const runtime = await openBrokerRuntime(config, { logger, promptPassphrase: (q) => promptHidden(io, q) });
  const server = createHttpServer({
    broker: runtime.broker,
    state: runtime.state,
    logger,
    bodyLimit: config.server.bodyLimit,
    ...(config.server.allowedHosts === undefined ? {} : { allowedHosts: [...config.server.allowedHosts] }),
  });
  try {
    const address = await server.listen({ host: config.server.host, port: config.server.port });
    logger.info({ address }, 'cofre is serving');
    await untilSignal();
  } finally {
    await server.close();
    await runtime.close();
  }
}
