// Issue 15, part 2: `cofre run` wrapping an MCP stdio server, as an MCP client's config does. A real MCP server
// (the SDK's McpServer on stdio) that reads its API key from the environment and fetches a local HTTPS upstream;
// the SDK's client talks to it through `cofre run`, whose stdin/stdout must carry the protocol untouched.
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { cli, cofreArgv, tempDir } from './cli-harness.js';
import { startUpstream, type Upstream } from './run-peers.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const sdk = (path: string): string =>
  pathToFileURL(createRequire(import.meta.url).resolve(`@modelcontextprotocol/sdk/${path}`)).href;

let dir: string;
let remove: () => void;
let news: Upstream;

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  news = await startUpstream();
  expect((await cli(dir, ['init'])).code).toBe(0);
  expect((await cli(dir, ['secret', 'put', 'news/key'], CANARY)).code).toBe(0);
  appendFileSync(
    join(dir, 'cofre.yaml'),
    `
services:
  cryptopanic:
    baseUrl: https://127.0.0.1:${news.port}/api/developer/v2
    secret: local:news/key
    inject: { type: query, name: auth_token }
    paths: ['/**']
    local: true
`,
  );
  // A community-style MCP server: its key from the environment, its egress with fetch.
  writeFileSync(
    join(dir, 'server.mjs'),
    `
import { McpServer } from ${JSON.stringify(sdk('server/mcp.js'))};
import { StdioServerTransport } from ${JSON.stringify(sdk('server/stdio.js'))};
const server = new McpServer({ name: 'news', version: '1.0.0' });
server.registerTool('latest_news', { description: 'latest posts' }, async () => {
  const r = await fetch(process.argv[2] + '/api/developer/v2/posts/?auth_token=' + process.env.CRYPTOPANIC_API_KEY);
  return { content: [{ type: 'text', text: r.status + ' ' + (await r.text()) }] };
});
server.registerTool('my_key', { description: 'what the server holds' }, async () => ({
  content: [{ type: 'text', text: process.env.CRYPTOPANIC_API_KEY }],
}));
await server.connect(new StdioServerTransport());
`,
  );
});

afterAll(async () => {
  await news.close();
  remove();
});

it('an MCP client drives a wrapped stdio server; the server calls its API with a placeholder it holds', async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: cofreArgv([
      'run',
      '--env',
      'CRYPTOPANIC_API_KEY=cryptopanic',
      '--',
      process.execPath,
      'server.mjs',
      `https://127.0.0.1:${news.port}`,
    ]),
    cwd: dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      NODE_EXTRA_CA_CERTS: process.env['NODE_EXTRA_CA_CERTS'] ?? '',
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['latest_news', 'my_key']);
    const held = (await client.callTool({ name: 'my_key' })).content as { text: string }[];
    expect(held[0]?.text).toMatch(/^cofre-placeholder-cryptopanic-[0-9a-f]{32}$/);
    const result = (await client.callTool({ name: 'latest_news' })).content as { text: string }[];
    expect(result[0]?.text).toMatch(/^200 /);
    expect(result[0]?.text).not.toContain(CANARY);
    expect(news.received.at(-1)?.url).toBe(`/api/developer/v2/posts/?auth_token=${CANARY}`);
  } finally {
    await client.close();
  }
});
