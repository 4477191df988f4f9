// The Python snippets `cofre agent mcp-config <agent> openai-agents` prints, run as printed with the OpenAI Agents
// SDK (in .tools/venv-client, made by `scripts/peers/install.sh pyclient`): MCPServerStdio starts the built cofre,
// MCPServerStreamableHttp reads the token file and reaches /mcp of cofre demo; both list the tools and call
// get_balance, and the Python MCP client checks the result against the tool's outputSchema. Without the venv or
// dist/ this fails in CI and is skipped loudly elsewhere, like the Python client's own suite.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inCi } from '../peers/ci-env.js';
import { REPO_ROOT } from '../peers/peers.js';
import { cli, type QuietDemo, startQuietDemo } from './cli-harness.js';

const PYTHON = join(REPO_ROOT, '.tools', 'venv-client', 'bin', 'python');

function missingSetup(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist; run: scripts/peers/install.sh pyclient`;
  if (!existsSync(join(REPO_ROOT, 'dist', 'index.js')))
    return `${REPO_ROOT}dist/ is missing; run: npm run build`;
  return undefined;
}

const missing = missingSetup();
if (missing !== undefined && !inCi()) {
  process.stderr.write(
    `\n!!! The OpenAI Agents SDK MCP configuration test is SKIPPED: ${missing}\n!!! In CI this fails the run.\n\n`,
  );
}

// Appended to the printed snippet: what an agent does with `cofre` before its model ever runs.
const USE = `
import asyncio, json

async def main():
    async with cofre:
        tools = await cofre.list_tools()
        result = await cofre.call_tool("get_balance", {"account": "paper"})
        print(json.dumps({"tools": [t.name for t in tools], "structured": result.structuredContent}))

asyncio.run(main())
`;

function runPython(program: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(
      PYTHON,
      ['-'],
      { env: { PATH: process.env['PATH'] ?? '' }, timeout: 120_000 },
      (err, stdout, stderr) => {
        done({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
    child.stdin?.end(program);
  });
}

describe.skipIf(missing !== undefined && !inCi())('cofre agent mcp-config <agent> openai-agents', () => {
  if (missing !== undefined) {
    it('has its venv and the built CLI', () => {
      throw new Error(missing);
    });
    return;
  }

  let handle: QuietDemo;

  beforeAll(async () => {
    handle = await startQuietDemo();
  });

  afterAll(async () => {
    await handle.close();
  });

  it.each(['stdio', 'http'])(
    'runs as printed over %s: lists the tools and gets a typed balance',
    async (transport) => {
      const printed = await cli(handle.dir, [
        '--config',
        handle.configFile,
        'agent',
        'mcp-config',
        'demo-agent',
        'openai-agents',
        '--token-file',
        handle.tokenFile,
        '--transport',
        transport,
        ...(transport === 'http' ? ['--url', handle.url] : []),
      ]);
      expect(printed.code, printed.stderr).toBe(0);
      const ran = await runPython(printed.stdout + USE);
      expect(ran, ran.stderr).toMatchObject({ code: 0 });
      const out = JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '') as {
        tools: string[];
        structured: { status: string; result: { balance: { assets: Record<string, unknown> } } };
      };
      expect(out.tools).toContain('place_order');
      expect(out.structured).toMatchObject({
        status: 'executed',
        result: { balance: { assets: { USDT: {} } } },
      });
    },
  );
});
