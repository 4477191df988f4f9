// The shell line and the Python snippet as a shell and Python read them: odd paths come back exact.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import {
  MCP_CLIENTS,
  mcpClientConfig,
  type McpServerTarget,
} from '../../src/surfaces/cli/mcp-client-config.js';

const odd = '/tmp/x "quoted" \\ back/é/agent.token';
const target: McpServerTarget = {
  name: 'cofre-bot',
  agent: 'bot',
  transport: 'stdio',
  stdio: { command: '/usr/bin/node', args: ['/opt/cofre/bin/cofre.js', 'mcp', '--token-file', odd] },
  url: 'http://127.0.0.1:8787/mcp',
  tokenFile: odd,
  headersCommand: 'helper',
};

describe('mcpClientConfig', () => {
  it.each(MCP_CLIENTS.filter((c) => c !== 'openai-agents'))(
    '%s: JSON that keeps odd paths exact',
    (client) => {
      for (const transport of ['stdio', 'http'] as const) {
        if (client === 'claude-desktop' && transport === 'http') continue;
        const text = mcpClientConfig(client, { ...target, transport }).text;
        expect(() => JSON.parse(text) as unknown, `${client} ${transport}`).not.toThrow();
        if (transport === 'stdio') expect(JSON.stringify(JSON.parse(text))).toContain(JSON.stringify(odd));
      }
    },
  );

  it('openai-agents: Python whose string literals are the exact paths', () => {
    for (const transport of ['stdio', 'http'] as const) {
      const text = mcpClientConfig('openai-agents', { ...target, transport }).text;
      const program = [
        'import ast, json, sys',
        'tree = ast.parse(sys.stdin.read())',
        'print(json.dumps([n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]))',
      ].join('\n');
      const strings = JSON.parse(
        execFileSync('python3', ['-c', program], { input: text, encoding: 'utf8' }),
      ) as string[];
      expect(strings, transport).toContain(odd);
    }
  });

  it('refuses HTTP for Claude Desktop, whose config file starts local servers only', () => {
    expect(() => mcpClientConfig('claude-desktop', { ...target, transport: 'http' })).toThrow(/stdio/);
  });
});
