import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

import { buildMcpServer, type McpServerOptions } from './mcp-server.js';

/** Where the stdio server reads and writes; the process's own streams unless a test passes others. */
export interface McpStdioOptions extends McpServerOptions {
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout?: NodeJS.WritableStream;
}

/** A running stdio MCP server. */
export interface McpStdioSession {
  /** Resolves once the server has stopped: the client closed stdin (after in-flight calls finished) or `close()`. */
  readonly closed: Promise<void>;
  /** Stops serving after in-flight tool calls finish. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves MCP over stdio for one agent (`cofre mcp --token-file <f>`: the CLI authenticates the token once, then
 * calls this). SECURITY: stdout carries MCP messages only; the caller must send every log line to stderr (or a file)
 * and never print to stdout while this runs.
 *
 * When the client closes stdin the calls already running are allowed to finish and answer, then the server stops
 * and `closed` resolves; the caller then closes the broker's resources and exits.
 */
export async function runMcpStdio(options: McpStdioOptions): Promise<McpStdioSession> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const inFlight = new Set<Promise<unknown>>();
  const server = buildMcpServer(options, inFlight);
  const transport = new StdioServerTransport(stdin as typeof process.stdin, stdout as typeof process.stdout);

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  server.server.onclose = () => {
    resolveClosed();
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // A call that started must finish and be answered: it may already have reached the exchange. The SDK
      // dispatches a message and sends its answer a few promise turns later, so wait a macrotask before looking
      // and after each batch settles.
      await nextMacrotask();
      while (inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
        await nextMacrotask();
      }
      await server.close();
      resolveClosed();
    })();
    return closing;
  };
  const onEnd = (): void => {
    void close();
  };
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  void closed.then(() => {
    stdin.off('end', onEnd);
    stdin.off('close', onEnd);
  });

  await server.connect(transport);
  return { closed, close };
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
