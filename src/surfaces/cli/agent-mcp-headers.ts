import type { CliIo } from './cli-io.js';
import { println } from './cli-io.js';
import { readTokenFile } from './read-token-file.js';

/**
 * `cofre agent mcp-headers --token-file <f>`: prints `{"Authorization":"Bearer <token>"}` for the agent token in a
 * file (mode 600, else refused), for MCP clients that run a command to get their HTTP headers (Claude Code's
 * `headersHelper`), so that no client config holds the token. It prints what the caller can already read.
 */
export async function agentMcpHeaders(io: CliIo, options: { tokenFile: string }): Promise<void> {
  const token = await readTokenFile(io, options.tokenFile);
  println(io.stdout, JSON.stringify({ Authorization: `Bearer ${token}` }));
}
