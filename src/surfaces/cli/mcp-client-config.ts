import { CofreError } from '../../errors.js';
import type { CofreCommand } from './cofre-command.js';

/** The MCP clients `cofre agent mcp-config` writes a configuration for. */
export const MCP_CLIENTS = [
  'claude-desktop',
  'claude-code',
  'cursor',
  'vscode',
  'windsurf',
  'openai-agents',
] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];

export type McpTransport = 'stdio' | 'http';

/** What a client configuration points at: one agent's cofre MCP server. */
export interface McpServerTarget {
  /** The server's name in the client's configuration, e.g. `cofre-trader-1`. */
  readonly name: string;
  readonly agent: string;
  readonly transport: McpTransport;
  /** `cofre mcp --token-file <tokenFile>` with absolute paths (stdio). */
  readonly stdio: CofreCommand;
  /** The broker's `/mcp` URL (Streamable HTTP). */
  readonly url: string;
  /** The agent's token file, absolute. */
  readonly tokenFile: string;
  /** A shell command that prints `{"Authorization": "Bearer …"}` from the token file (Claude Code's headersHelper). */
  readonly headersCommand: string;
}

/** A configuration to paste: the text (JSON, or Python for the OpenAI Agents SDK), where it goes, and what to know. */
export interface McpClientConfig {
  readonly text: string;
  readonly where: string;
  readonly notes: readonly string[];
}

/** The client named on the command line, or a usage error listing the known ones. */
export function parseMcpClient(name: string): McpClient {
  const client = MCP_CLIENTS.find((c) => c === name);
  if (client === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      `unknown MCP client "${name.slice(0, 40)}"; known clients: ${MCP_CLIENTS.join(', ')}`,
    );
  }
  return client;
}

/** The transport named on the command line (`stdio` when none is). */
export function parseMcpTransport(name: string | undefined): McpTransport {
  if (name === undefined || name === 'stdio' || name === 'http') return name ?? 'stdio';
  throw new CofreError('COFRE_USAGE', `unknown transport "${name.slice(0, 40)}"; use stdio or http`);
}

/**
 * The configuration of `client` for `target`. SECURITY: no configuration holds the token. Over stdio the client
 * starts `cofre mcp --token-file`, which reads the file itself; over HTTP each client gets the header through its
 * own way of keeping a secret out of its config file where it has one (Claude Code runs a headers helper that reads
 * the file, VS Code asks once and keeps it in its secret storage, the Python snippet reads the file), else from an
 * environment variable, and the notes say so.
 */
export function mcpClientConfig(client: McpClient, target: McpServerTarget): McpClientConfig {
  return target.transport === 'stdio' ? stdioConfig(client, target) : httpConfig(client, target);
}

const STDIO_NOTE = 'The client starts `cofre mcp`, which reads the token from its file: no config holds it.';

/**
 * The JSON clients' stdio entries differ only in the key their servers sit under, whether the entry names its type,
 * and where the file is: one row each.
 */
const STDIO_JSON: Readonly<
  Record<Exclude<McpClient, 'openai-agents'>, { key: string; typed: boolean; where: string }>
> = {
  'claude-desktop': {
    key: 'mcpServers',
    typed: false,
    where:
      'claude_desktop_config.json (Settings > Developer > Edit Config; macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), merged into its "mcpServers"; then restart Claude Desktop',
  },
  'claude-code': {
    key: 'mcpServers',
    typed: true,
    where:
      '.mcp.json at the project root (shared with the project), or ~/.claude.json, merged into its "mcpServers"',
  },
  cursor: {
    key: 'mcpServers',
    typed: true,
    where:
      '~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project), merged into its "mcpServers"',
  },
  vscode: {
    key: 'servers',
    typed: true,
    where:
      '.vscode/mcp.json in the workspace (or the user mcp.json: "MCP: Open User Configuration"), merged into its "servers"',
  },
  windsurf: {
    key: 'mcpServers',
    typed: false,
    where: '~/.codeium/windsurf/mcp_config.json, merged into its "mcpServers"; then refresh the MCP servers',
  },
};

function stdioConfig(client: McpClient, t: McpServerTarget): McpClientConfig {
  const command = { command: t.stdio.command, args: [...t.stdio.args] };
  switch (client) {
    case 'openai-agents':
      return {
        text: python([
          `# cofre's MCP server for agent ${py(t.agent)}, over stdio: \`cofre mcp\` reads the token from its file.`,
          'from agents.mcp import MCPServerStdio',
          '',
          'cofre = MCPServerStdio(',
          `    name=${py(t.name)},`,
          '    params={',
          `        "command": ${py(command.command)},`,
          `        "args": [${command.args.map(py).join(', ')}],`,
          '    },',
          '    cache_tools_list=True,',
          ')',
          '',
          '# async with cofre:',
          '#     agent = Agent(name="trader", instructions="...", mcp_servers=[cofre])',
        ]),
        where: 'your agent, in Python with the OpenAI Agents SDK (pip install openai-agents)',
        notes: [STDIO_NOTE],
      };
    default: {
      const row = STDIO_JSON[client];
      const entry = row.typed ? { type: 'stdio', ...command } : command;
      return { text: json({ [row.key]: { [t.name]: entry } }), where: row.where, notes: [STDIO_NOTE] };
    }
  }
}

function httpConfig(client: McpClient, t: McpServerTarget): McpClientConfig {
  const envName = `COFRE_TOKEN_${t.agent.toUpperCase().replaceAll('-', '_')}`;
  const fromEnv = (editor: string): string =>
    `${editor} cannot read a header from a file: it takes the token from the environment variable ${envName} of the process that starts ${editor} (e.g. ${envName}="$(cat ${t.tokenFile})"), or you put the token itself in place of \${env:${envName}} — and then it is in that file, which must stay private (mode 600, never in git). --transport stdio (the default) needs neither: the token stays in its own file.`;
  switch (client) {
    case 'claude-desktop':
      throw new CofreError(
        'COFRE_USAGE',
        "Claude Desktop's config file starts local (stdio) servers only; its remote connectors must be reachable from Anthropic's cloud, not a cofre on this host. Use --transport stdio (the default)",
      );
    case 'claude-code':
      return {
        text: json({
          mcpServers: { [t.name]: { type: 'http', url: t.url, headersHelper: t.headersCommand } },
        }),
        where:
          '.mcp.json at the project root (shared with the project), or ~/.claude.json, merged into its "mcpServers"',
        notes: [
          `Claude Code runs the headersHelper command at each connection; it reads the token from ${t.tokenFile}, so no config holds it.`,
        ],
      };
    case 'cursor':
      return {
        text: json({
          mcpServers: { [t.name]: { url: t.url, headers: { Authorization: `Bearer \${env:${envName}}` } } },
        }),
        where:
          '~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project), merged into its "mcpServers"',
        notes: [fromEnv('Cursor')],
      };
    case 'vscode':
      return vscodeHttp(t);
    case 'windsurf':
      return {
        text: json({
          mcpServers: {
            [t.name]: { serverUrl: t.url, headers: { Authorization: `Bearer \${env:${envName}}` } },
          },
        }),
        where:
          '~/.codeium/windsurf/mcp_config.json, merged into its "mcpServers"; then refresh the MCP servers',
        notes: [fromEnv('Windsurf')],
      };
    case 'openai-agents':
      return openAiAgentsHttp(t);
  }
}

// VS Code asks for the token once and keeps it in its secret storage (an input of type promptString, password).
function vscodeHttp(t: McpServerTarget): McpClientConfig {
  const input = `cofre-token-${t.agent}`;
  return {
    text: json({
      inputs: [
        {
          type: 'promptString',
          id: input,
          description: `cofre agent token of ${t.agent} (the contents of ${t.tokenFile})`,
          password: true,
        },
      ],
      servers: {
        [t.name]: { type: 'http', url: t.url, headers: { Authorization: `Bearer \${input:${input}}` } },
      },
    }),
    where:
      '.vscode/mcp.json in the workspace (or the user mcp.json: "MCP: Open User Configuration"), merged into its "inputs" and "servers"',
    notes: [
      `VS Code asks for the token once, when the server first starts, and keeps it in its secret storage, not in this file: paste the contents of ${t.tokenFile}.`,
    ],
  };
}

// The snippet reads the token file when the agent starts.
function openAiAgentsHttp(t: McpServerTarget): McpClientConfig {
  return {
    text: python([
      `# cofre's MCP server for agent ${py(t.agent)}, over Streamable HTTP. The token is read from its file when`,
      '# the agent starts: no source file holds it.',
      'from pathlib import Path',
      '',
      'from agents.mcp import MCPServerStreamableHttp',
      '',
      `token = Path(${py(t.tokenFile)}).read_text().strip()`,
      'cofre = MCPServerStreamableHttp(',
      `    name=${py(t.name)},`,
      `    params={"url": ${py(t.url)}, "headers": {"Authorization": f"Bearer {token}"}},`,
      '    cache_tools_list=True,',
      ')',
      '',
      '# async with cofre:',
      '#     agent = Agent(name="trader", instructions="...", mcp_servers=[cofre])',
    ]),
    where: 'your agent, in Python with the OpenAI Agents SDK (pip install openai-agents)',
    notes: [`The agent's process must be able to read ${t.tokenFile}.`],
  };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function python(lines: readonly string[]): string {
  return lines.join('\n');
}

// A JSON string is a valid Python string literal for any text (the same escapes), so paths with quotes, backslashes
// or non-ASCII characters stay exact.
function py(text: string): string {
  return JSON.stringify(text);
}
