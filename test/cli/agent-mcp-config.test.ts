// `cofre agent mcp-config <agent> <client>` and `cofre agent add --mcp-config <client>`: every client's configuration
// parses, holds no token, and works as printed — the stdio command starts the built cofre and answers tools/list
// through the official client; the HTTP configurations, with the header filled in as each client fills it (Claude
// Code runs the headers helper), reach /mcp of a running cofre demo.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { demo, type DemoHandle } from '../../src/surfaces/cli/demo.js';
import { MCP_CLIENTS } from '../../src/surfaces/cli/mcp-client-config.js';
import { cli, tempDir } from './cli-harness.js';

const repo = resolve(import.meta.dirname, '../..');

let handle: DemoHandle;
let remove: () => void;
let token: string;
let demoOutput = '';

beforeAll(async () => {
  // The printed command runs bin/cofre.js, the built CLI (`npm ci` builds dist/ through `prepare`).
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'ignore' });
  let dir: string;
  ({ dir, remove } = tempDir());
  const stdout = new PassThrough();
  stdout.on('data', (chunk: Buffer) => (demoOutput += chunk.toString('utf8')));
  handle = await demo(
    { stdin: process.stdin, stdout, stderr: new PassThrough(), cwd: dir },
    { port: '0', wait: false },
  );
  token = readFileSync(handle.tokenFile, 'utf8').trim();
}, 180_000);

afterAll(async () => {
  await handle.stop();
  remove();
});

/** `cofre --config <demo config> <args>`, in-process, from the demo's folder. */
function cofre(args: readonly string[]) {
  return cli(handle.dir, ['--config', handle.configFile, ...args]);
}

function mcpConfig(client: string, transport: 'stdio' | 'http', extra: readonly string[] = []) {
  const url = transport === 'http' && !extra.includes('--url') ? ['--url', handle.url] : [];
  return cofre([
    'agent',
    'mcp-config',
    'demo-agent',
    client,
    '--token-file',
    handle.tokenFile,
    '--transport',
    transport,
    ...url,
    ...extra,
  ]);
}

interface StdioServer {
  readonly command: string;
  readonly args: string[];
  readonly type?: string;
}

/** The stdio server entry of a client's configuration, read as that client reads it. */
function stdioServer(client: string, text: string): StdioServer {
  if (client === 'openai-agents') {
    // The Python snippet's MCPServerStdio(params=...), evaluated as a literal by Python itself.
    const program = [
      'import ast, json, sys',
      'tree = ast.parse(sys.stdin.read())',
      'call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "MCPServerStdio")',
      'print(json.dumps(ast.literal_eval(next(k.value for k in call.keywords if k.arg == "params"))))',
    ].join('\n');
    return JSON.parse(
      execFileSync('python3', ['-c', program], { input: text, encoding: 'utf8' }),
    ) as StdioServer;
  }
  const parsed = JSON.parse(text) as Record<string, Record<string, StdioServer>>;
  const servers = client === 'vscode' ? parsed['servers'] : parsed['mcpServers'];
  const server = servers?.['cofre-demo-agent'];
  if (server === undefined) throw new Error(`no cofre-demo-agent server in ${text}`);
  return server;
}

async function toolNames(transport: StdioClientTransport | StreamableHTTPClientTransport): Promise<string[]> {
  const client = new Client({ name: 'mcp-config-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe('cofre agent mcp-config over stdio', () => {
  it.each(MCP_CLIENTS)('%s: the printed command starts cofre mcp and answers tools/list', async (client) => {
    const out = await mcpConfig(client, 'stdio');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout + out.stderr).not.toContain(token);
    expect(out.stderr).toContain('reads the token from its file');
    const server = stdioServer(client, out.stdout);
    if (client !== 'openai-agents' && client !== 'claude-desktop' && client !== 'windsurf') {
      expect(server.type).toBe('stdio');
    }
    // SECURITY: the token file's path goes on the command line, never the token.
    expect(server.args.slice(-3)).toEqual(['mcp', '--token-file', handle.tokenFile]);
    expect(server.command).toBe(process.execPath);
    expect(server.args[0]).toBe(join(repo, 'bin/cofre.js'));
    // Started as the client starts it: its own environment, nothing else.
    const names = await toolNames(
      new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: { PATH: process.env['PATH'] ?? '' },
        stderr: 'pipe',
      }),
    );
    expect(names).toContain('get_balance');
    expect(names).toContain('place_order');
  });
});

describe('cofre agent mcp-config over Streamable HTTP', () => {
  async function listOverHttp(url: string, authorization: string): Promise<string[]> {
    return toolNames(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization } } }),
    );
  }

  it('claude-code: the headers helper reads the token file and the header it prints opens /mcp', async () => {
    const out = await mcpConfig('claude-code', 'http');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).not.toContain(token);
    const server = (
      JSON.parse(out.stdout) as {
        mcpServers: Record<string, { type: string; url: string; headersHelper: string }>;
      }
    ).mcpServers['cofre-demo-agent'];
    expect(server).toMatchObject({ type: 'http', url: `${handle.url}/mcp` });
    // Claude Code runs the helper in a shell and merges the JSON object it prints into the request headers.
    const printed = execFileSync('sh', ['-c', server?.headersHelper ?? 'false'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '' },
    });
    const headers = JSON.parse(printed) as Record<string, string>;
    expect(headers).toEqual({ Authorization: `Bearer ${token}` });
    expect(await listOverHttp(server?.url ?? '', headers['Authorization'] ?? '')).toContain('get_balance');
  });

  it('vscode: the token is an input VS Code asks for and keeps secret, not a value in the file', async () => {
    const out = await mcpConfig('vscode', 'http');
    expect(out.code, out.stderr).toBe(0);
    const config = JSON.parse(out.stdout) as {
      inputs: { type: string; id: string; password: boolean }[];
      servers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    const input = config.inputs[0];
    expect(input).toMatchObject({ type: 'promptString', password: true });
    const server = config.servers['cofre-demo-agent'];
    expect(server).toMatchObject({ type: 'http', url: `${handle.url}/mcp` });
    const header = server?.headers['Authorization'] ?? '';
    expect(header).toBe(`Bearer \${input:${input?.id ?? ''}}`);
    expect(await listOverHttp(server?.url ?? '', header.replace(/\$\{input:[^}]+\}/, token))).toContain(
      'get_balance',
    );
  });

  it.each([
    ['cursor', 'url'],
    ['windsurf', 'serverUrl'],
  ])('%s: the header comes from an environment variable, and the output says so', async (client, urlKey) => {
    const out = await mcpConfig(client, 'http');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).not.toContain(token);
    const server = (JSON.parse(out.stdout) as { mcpServers: Record<string, Record<string, unknown>> })
      .mcpServers['cofre-demo-agent'];
    expect(server?.[urlKey]).toBe(`${handle.url}/mcp`);
    const header = (server?.['headers'] as Record<string, string>)['Authorization'] ?? '';
    expect(header).toBe('Bearer ${env:COFRE_TOKEN_DEMO_AGENT}');
    expect(out.stderr).toContain('COFRE_TOKEN_DEMO_AGENT');
    expect(out.stderr).toMatch(/then it is in that file/);
    const env = { COFRE_TOKEN_DEMO_AGENT: token };
    const filled = header.replace(/\$\{env:([A-Z_]+)\}/, (_m, name: keyof typeof env) => env[name]);
    expect(await listOverHttp(String(server?.[urlKey]), filled)).toContain('get_balance');
  });

  it('openai-agents: Python that reads the token from its file', async () => {
    const out = await mcpConfig('openai-agents', 'http');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).not.toContain(token);
    execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: out.stdout });
    expect(out.stdout).toContain(`Path(${JSON.stringify(handle.tokenFile)}).read_text().strip()`);
    expect(out.stdout).toContain(`"url": "${handle.url}/mcp"`);
  });

  it('adds /mcp to the URL given', async () => {
    const out = await mcpConfig('cursor', 'http', ['--url', 'http://127.0.0.1:9999/']);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      mcpServers: { 'cofre-demo-agent': { url: 'http://127.0.0.1:9999/mcp' } },
    });
  });

  it("takes the URL from the config's server.host and server.port, or asks for it when the port is 0", async () => {
    const other = tempDir();
    try {
      expect((await cli(other.dir, ['init'])).code).toBe(0);
      const add = ['agent', 'add', 'bot', '--token-file', 'bot.token', '--mcp-config', 'cursor'];
      const out = await cli(other.dir, [...add, '--transport', 'http']);
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({
        mcpServers: { 'cofre-bot': { url: 'http://127.0.0.1:8787/mcp' } },
      });
    } finally {
      other.remove();
    }
    // The demo here serves on port 0 (any free port), so its config cannot say where it listens.
    const unknown = await cofre([
      'agent',
      'mcp-config',
      'demo-agent',
      'cursor',
      '--token-file',
      handle.tokenFile,
      '--transport',
      'http',
    ]);
    expect(unknown.stderr).toMatch(/COFRE_USAGE: server.port is 0 .*give it with --url/);
  });
});

describe('cofre demo', () => {
  it('prints the mcp-config line for its agent, which works as printed', () => {
    const line = demoOutput.split('\n').find((l) => l.includes(' agent mcp-config demo-agent CLIENT '));
    expect(line).toBeDefined();
    const printed = execFileSync('sh', ['-c', String(line).trim().replace('CLIENT', 'claude-desktop')], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(stdioServer('claude-desktop', printed).args).toContain(handle.tokenFile);
  });
});

describe('cofre agent add --mcp-config', () => {
  it('adds the agent, writes its token file and prints the configuration pointing to it', async () => {
    const tokenFile = join(handle.dir, 'trader-2.token');
    const out = await cofre([
      'agent',
      'add',
      'trader-2',
      '--policy',
      'demo',
      '--token-file',
      tokenFile,
      '--mcp-config',
      'windsurf',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const issued = readFileSync(tokenFile, 'utf8').trim();
    expect(out.stdout + out.stderr).not.toContain(issued);
    const server = stdioServer('windsurf', out.stdout.replace('cofre-trader-2', 'cofre-demo-agent'));
    expect(server.args.slice(-2)).toEqual(['--token-file', tokenFile]);
    expect(out.stderr).toMatch(/Agent "trader-2" added/);
  });

  it('refuses an unknown client before adding the agent', async () => {
    const tokenFile = join(handle.dir, 'never.token');
    const out = await cofre([
      'agent',
      'add',
      'never',
      '--policy',
      'demo',
      '--token-file',
      tokenFile,
      '--mcp-config',
      'emacs',
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('COFRE_USAGE');
    expect(out.stderr).toContain(MCP_CLIENTS.join(', '));
    expect(existsSync(tokenFile)).toBe(false);
    expect((await cofre(['agent', 'list'])).stdout).not.toMatch(/^never\s/m);
  });

  it('needs --token-file, and --transport only goes with --mcp-config', async () => {
    const noFile = await cofre(['agent', 'add', 'never', '--policy', 'demo', '--mcp-config', 'cursor']);
    expect(noFile.stderr).toMatch(/--mcp-config needs --token-file/);
    const stray = await cofre(['agent', 'add', 'never', '--policy', 'demo', '--transport', 'http']);
    expect(stray.stderr).toMatch(/go with --mcp-config/);
    expect((await cofre(['agent', 'list'])).stdout).not.toMatch(/^never\s/m);
  });
});

describe('cofre agent mcp-config refuses', () => {
  it.each<[string, readonly string[], RegExp]>([
    [
      'an unknown client, listing the known ones',
      ['demo-agent', 'emacs', '--token-file', 'agent.token'],
      /COFRE_USAGE: unknown MCP client "emacs"; known clients: claude-desktop, claude-code, cursor, vscode, windsurf, openai-agents/,
    ],
    [
      'an unknown agent',
      ['ghost', 'cursor', '--token-file', 'agent.token'],
      /COFRE_AGENT_NOT_FOUND: no agent "ghost"/,
    ],
    [
      'a missing token file',
      ['demo-agent', 'cursor', '--token-file', 'missing.token'],
      /COFRE_INPUT_INVALID: cannot read the token file .*missing\.token: ENOENT/,
    ],
    ['no token file', ['demo-agent', 'cursor'], /COFRE_USAGE: give the agent's token file with --token-file/],
    [
      'an unknown transport',
      ['demo-agent', 'cursor', '--token-file', 'agent.token', '--transport', 'sse'],
      /COFRE_USAGE: unknown transport "sse"; use stdio or http/,
    ],
    [
      '--url with stdio',
      ['demo-agent', 'cursor', '--token-file', 'agent.token', '--url', 'http://127.0.0.1:1'],
      /COFRE_USAGE: --url is for --transport http/,
    ],
    [
      'a URL that is not http(s)',
      [
        'demo-agent',
        'cursor',
        '--token-file',
        'agent.token',
        '--transport',
        'http',
        '--url',
        'file:///etc/passwd',
      ],
      /COFRE_USAGE: --url must be the broker's http:\/\/ or https:\/\/ URL/,
    ],
    [
      'HTTP for Claude Desktop, whose config file starts local servers only',
      [
        'demo-agent',
        'claude-desktop',
        '--token-file',
        'agent.token',
        '--transport',
        'http',
        '--url',
        'http://127.0.0.1:1',
      ],
      /COFRE_USAGE: Claude Desktop's config file starts local \(stdio\) servers only/,
    ],
  ])('%s', async (_what, args, message) => {
    const out = await cofre(['agent', 'mcp-config', ...args]);
    expect(out.code).not.toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(message);
  });

  it('a token file others can read, like cofre mcp does', async () => {
    const copy = join(handle.dir, 'loose.token');
    execFileSync('cp', [handle.tokenFile, copy]);
    chmodSync(copy, 0o644);
    const out = await cofre(['agent', 'mcp-config', 'demo-agent', 'cursor', '--token-file', copy]);
    expect(out.stderr).toMatch(/COFRE_TOKEN_FILE_INSECURE: .*mode 644/);
    expect(out.stderr).not.toContain(token);
  });

  it('cofre agent mcp-headers: a token file others can read, or none', async () => {
    const copy = join(handle.dir, 'loose-headers.token');
    execFileSync('cp', [handle.tokenFile, copy]);
    chmodSync(copy, 0o640);
    const loose = await cofre(['agent', 'mcp-headers', '--token-file', copy]);
    expect(loose.stdout).toBe('');
    expect(loose.stderr).toMatch(/COFRE_TOKEN_FILE_INSECURE: .*mode 640/);
    const missing = await cofre(['agent', 'mcp-headers', '--token-file', 'nowhere.token']);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/COFRE_INPUT_INVALID: cannot read the token file nowhere\.token: ENOENT/);
  });

  it("another agent's token", async () => {
    const tokenFile = join(handle.dir, 'other.token');
    expect((await cofre(['agent', 'add', 'other', '--policy', 'demo', '--token-file', tokenFile])).code).toBe(
      0,
    );
    const out = await cofre(['agent', 'mcp-config', 'demo-agent', 'cursor', '--token-file', tokenFile]);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(
      /COFRE_INPUT_INVALID: the token in .*other\.token is agent "other"'s, not "demo-agent"'s/,
    );
  });

  it('a revoked agent', async () => {
    const tokenFile = join(handle.dir, 'gone.token');
    expect((await cofre(['agent', 'add', 'gone', '--policy', 'demo', '--token-file', tokenFile])).code).toBe(
      0,
    );
    expect((await cofre(['agent', 'revoke', 'gone'])).code).toBe(0);
    const out = await cofre(['agent', 'mcp-config', 'gone', 'cursor', '--token-file', tokenFile]);
    expect(out.stderr).toMatch(
      /COFRE_INPUT_INVALID: the token in .*gone\.token is no valid token of agent "gone"/,
    );
  });
});
