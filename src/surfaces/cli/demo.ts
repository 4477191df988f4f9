import { join, resolve } from 'node:path';

import { createLogger } from '../../audit/create-logger.js';
import { issueOperatorToken } from '../../broker/operator-tokens.js';
import { loadConfig } from '../../config/load-config.js';
import { STARTER_CONSOLE_PORT } from '../../config/starter-config.js';
import { startBrokerServer } from './broker-server.js';
import { type CliIo, println } from './cli-io.js';
import { printDemoInstructions } from './demo-instructions.js';
import { claimDemoRun } from './demo-run-dir.js';
import {
  randomPaperKeys,
  startPaperVenue,
  writeAgentTokenFile,
  writeDemoSetup,
} from './paper-provisioning.js';
import { parsePort } from './serve.js';
import { untilSignal } from './until-signal.js';

/** What `cofre demo` started; tests stop it without sending signals. */
export interface DemoHandle {
  readonly url: string;
  /** Where the operator console listens (issue 18). */
  readonly consoleUrl: string | undefined;
  /** This run's own folder, `.cofre-demo/run-…`. */
  readonly dir: string;
  readonly tokenFile: string;
  readonly configFile: string;
  readonly auditFile: string;
  stop(): Promise<void>;
}

/**
 * `cofre demo`: the whole path on one machine with nothing to set up. Starts the paper exchange (Binance-compatible,
 * on loopback), creates demo keys for it in a fresh embedded store, a demo agent, and the broker's HTTP API with MCP
 * (wired as `cofre serve` wires it), then prints a curl line and MCP client configs that work as printed. Runs until
 * Ctrl-C.
 *
 * Each run lives in its own folder under `./.cofre-demo/`, so two demos in one folder do not disturb each other; a
 * run's folder (with its audit log) is kept after it stops and removed by the next `cofre demo`.
 */
export async function demo(io: CliIo, options: { port?: string; wait?: boolean } = {}): Promise<DemoHandle> {
  const run = await claimDemoRun(resolve(io.cwd, '.cofre-demo'));
  if (run.removed > 0) {
    println(
      io.stderr,
      `Removed ${run.removed} finished demo run${run.removed === 1 ? '' : 's'} from .cofre-demo/.`,
    );
  }
  const keys = randomPaperKeys();
  const exchange = await startPaperVenue([keys]);
  const cleanup: (() => Promise<unknown>)[] = [() => run.finish(), () => exchange.stop()];
  const stop = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  };
  try {
    const port = parsePort(options.port ?? '8787');
    const configFile = await writeDemoSetup(run.dir, {
      exchangeUrl: exchange.url,
      apiKey: keys.apiKey,
      apiSecret: keys.secret,
      port,
      // Beside the starter config's console port; any free one in tests (port 0) and when it is taken.
      consolePort: port === 0 ? 0 : STARTER_CONSOLE_PORT,
    });
    const config = await loadConfig(configFile);
    const server = await startBrokerServer(config, {
      logger: createLogger({ level: 'warn' }),
      verify: false, // just provisioned; skipping it spares loading ccxt before the first request
      anyPortIfTaken: true, // a second demo, or another program on 8787: any free port will do
    });
    cleanup.push(() => server.close());
    const tokenFile = join(run.dir, 'agent.token');
    const { token } = await writeAgentTokenFile(server.runtime.state, tokenFile, {
      id: 'demo-agent',
      policy: 'demo',
      ttlMs: config.agents.tokenTtl,
      now: new Date(),
    });
    // The demo operator's token is printed once, for pasting into the console's login form: like the demo agent's,
    // it acts on paper money only, on this run's loopback paper exchange, and expires with the demo's day.
    const operator = await issueOperatorToken(server.runtime.state, {
      id: 'demo-operator',
      ttlMs: config.agents.tokenTtl,
      now: new Date(),
    });
    const auditFile = config.audit.path;
    printDemoInstructions(io, {
      url: server.url,
      dir: run.dir,
      tokenFile,
      configFile,
      token,
      ...(server.consoleUrl === undefined
        ? {}
        : { console: { url: server.consoleUrl, operatorToken: operator.token } }),
    });
    const handle: DemoHandle = {
      url: server.url,
      consoleUrl: server.consoleUrl,
      dir: run.dir,
      tokenFile,
      configFile,
      auditFile,
      stop,
    };
    if (options.wait !== false) {
      await untilSignal();
      await stop();
      println(
        io.stderr,
        `\ncofre demo stopped. Its audit log stays in ${auditFile} until the next \`cofre demo\` removes the run.`,
      );
    }
    return handle;
  } catch (err) {
    await stop();
    throw err;
  }
}
