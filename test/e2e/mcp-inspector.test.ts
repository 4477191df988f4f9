// The official MCP Inspector's CLI (@modelcontextprotocol/inspector-cli, pinned in devDependencies: the 2.x
// Inspector needs Node 22, this is the last CLI that runs on Node 20) against cofre demo: tools/list, then
// tools/call of every tool the demo agent has, over stdio (`cofre mcp --token-file`, given to the Inspector as an
// mcpServers config file, the format Claude Desktop uses) and over Streamable HTTP at /mcp with the bearer header.
// The Inspector's client validates each result's structuredContent against the tool's outputSchema and fails the
// command (exit 1) when it does not match.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACTION_NAMES } from '../../src/broker/actions.js';
import { ENCRYPTION_ACTIONS, WALLET_ACTIONS } from '../../src/config/policy-config.js';
import { DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import { cofreArgv, type QuietDemo, startQuietDemo } from '../cli/cli-harness.js';

const require = createRequire(import.meta.url);
const INSPECTOR = join(
  resolve(require.resolve('@modelcontextprotocol/inspector-cli/package.json'), '..'),
  'build/cli.js',
);

let handle: QuietDemo;
let token: string;
let serversFile: string;

beforeAll(async () => {
  handle = await startQuietDemo();
  token = readFileSync(handle.tokenFile, 'utf8').trim();
  // `cofre mcp` from the sources (through tsx), as an mcpServers entry: the Inspector's --config format.
  serversFile = join(handle.dir, 'mcp-servers.json');
  writeFileSync(
    serversFile,
    JSON.stringify({
      mcpServers: {
        cofre: {
          command: process.execPath,
          args: cofreArgv(['--config', handle.configFile, 'mcp', '--token-file', handle.tokenFile]),
        },
      },
    }),
  );
});

afterAll(async () => {
  await handle.close();
});

/** Runs the Inspector CLI; resolves with its exit code, stdout parsed as JSON when it is, and stderr. */
function inspector(args: readonly string[]): Promise<{ code: number; json: unknown; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [INSPECTOR, '--cli', ...args],
      // cwd: inspector-cli 1.0.3 finds its package.json by testing "../package.json" against the working directory
      // but importing it relative to its own build/, so it must run from a folder whose parent holds one.
      { cwd: resolve(INSPECTOR, '..'), env: { PATH: process.env['PATH'] ?? '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        done({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), json, stderr });
      },
    );
  });
}

const targets = {
  stdio: (): string[] => ['--config', serversFile, '--server', 'cofre'],
  // The Inspector CLI takes headers on its command line only: this is the demo agent's token (paper money, this
  // test's own run), never a pattern for a real one.
  http: (): string[] => [
    `${handle.url}/mcp`,
    '--transport',
    'http',
    '--header',
    `Authorization: Bearer ${token}`,
  ],
};

/** tools/call of one tool through the Inspector; its parsed answer's structuredContent. */
async function callTool(
  kind: keyof typeof targets,
  name: string,
  args: Record<string, string>,
): Promise<Record<string, unknown>> {
  const pairs = Object.entries(args).map(([k, v]) => `${k}=${v}`);
  const ran = await inspector([
    ...targets[kind](),
    '--method',
    'tools/call',
    '--tool-name',
    name,
    ...(pairs.length === 0 ? [] : ['--tool-arg', ...pairs]),
  ]);
  expect(ran, `${name}: ${ran.stderr}`).toMatchObject({ code: 0 });
  const result = ran.json as {
    content: { type: string; text: string }[];
    structuredContent: Record<string, unknown>;
  };
  expect(result.content[0]?.text.split('\n')[0]).toBe(DATA_NOTICE);
  return result.structuredContent;
}

describe.each(Object.keys(targets) as (keyof typeof targets)[])('MCP Inspector CLI over %s', (kind) => {
  it('lists every tool of the demo agent, each with its input and output schema', async () => {
    const ran = await inspector([...targets[kind](), '--method', 'tools/list']);
    expect(ran, ran.stderr).toMatchObject({ code: 0 });
    const { tools } = ran.json as { tools: { name: string; inputSchema: object; outputSchema: object }[] };
    // The demo configures no wallet and no encryption key (issue 19), so its policy allows every other action.
    const demoActions = ACTION_NAMES.filter((n) => !WALLET_ACTIONS.has(n) && !ENCRYPTION_ACTIONS.has(n));
    expect(tools.map((t) => t.name).sort()).toEqual(demoActions.sort());
    for (const tool of tools) {
      expect(tool.inputSchema, tool.name).toMatchObject({ type: 'object' });
      expect(tool.outputSchema, tool.name).toMatchObject({ type: 'object', required: ['notice'] });
    }
  });

  it('calls every tool: reads and small orders execute, a large order waits, an over-cap one is denied', async () => {
    const id = (n: string): string => `insp-${kind}-${n}`;
    const btc = { account: 'paper', symbol: 'BTC/USDT' };
    const market = (amount: string, clientOrderId: string) => ({
      ...btc,
      side: 'buy',
      type: 'market',
      amount,
      clientOrderId,
    });
    const answers: Record<string, Record<string, unknown>> = {};
    const calls: [string, Record<string, string>][] = [
      ['list_accounts', {}],
      ['get_limits', {}],
      ['get_balance', { account: 'paper' }],
      ['get_ticker', btc],
      ['preview_order', { ...btc, side: 'buy', type: 'market', amount: '0.001' }],
      ['place_order', market('0.001', id('small'))],
      ['get_order', { ...btc, clientOrderId: id('small') }],
      ['get_open_orders', { account: 'paper' }],
      ['cancel_all_orders', btc],
    ];
    for (const [name, args] of calls) {
      answers[name] = await callTool(kind, name, args);
      expect(answers[name], name).toMatchObject({ status: 'executed', result: expect.anything() });
    }
    await callTool(kind, 'place_order', { ...market('0.001', id('resting')), type: 'limit', price: '58000' });
    expect(await callTool(kind, 'cancel_order', { ...btc, clientOrderId: id('resting') })).toMatchObject({
      status: 'executed',
      result: { order: { status: 'canceled' } },
    });
    const placed = answers['place_order'] ?? {};
    expect(await callTool(kind, 'get_request', { requestId: String(placed['requestId']) })).toEqual(placed);
    expect(
      await callTool(kind, 'withdraw', {
        account: 'paper',
        asset: 'USDT',
        amount: '10',
        destination: 'cold-usdt',
        clientWithdrawId: id('withdraw'),
      }),
    ).toMatchObject({ status: 'pending_approval' });
    expect(await callTool(kind, 'place_order', market('0.1', id('huge')))).toMatchObject({
      status: 'denied',
      reason: expect.stringContaining('maxNotional'),
    });
    // Each Inspector run starts node twice, and over stdio a cofre from the sources: seconds per call.
  }, 240_000);
});
