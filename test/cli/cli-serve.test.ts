// `cofre paper`, `doctor`, `config check --resolve`, `serve` (start-up check, summary, --host/--port, a taken port),
// `agent add --token-file` and `mcp --token-file`, run as a user runs them.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { PaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { paper } from '../../src/surfaces/cli/paper.js';
import { cli, startCliProcess, tempDir } from './cli-harness.js';
import { freePort } from './serve-test-tools.js';

let dir: string;
let remove: () => void;
const stops: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  ({ dir, remove } = tempDir());
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  remove();
});

/** A port nothing listens on now, and a server holding another one. */
async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  stops.push(() => new Promise((done) => server.close(done)));
  return server;
}

/** `cofre init`, with the paper account's baseUrl moved to a free port. */
async function initialised(): Promise<number> {
  expect((await cli(dir, ['init'])).code).toBe(0);
  const port = await freePort();
  const path = join(dir, 'cofre.yaml');
  const config = readFileSync(path, 'utf8');
  expect(config).toContain('baseUrl: http://127.0.0.1:8788');
  writeFileSync(path, config.replace('http://127.0.0.1:8788', `http://127.0.0.1:${port}`));
  return port;
}

async function startPaper(createKeys: boolean): Promise<PaperExchange> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
  const exchange = await paper(io, {}, { createKeys, wait: false });
  stops.push(() => exchange.stop());
  return exchange;
}

describe('cofre paper', () => {
  it('refuses to start without keys, creates them with --create-keys, and reads them on the next start', async () => {
    const port = await initialised();
    await expect(startPaper(false)).rejects.toThrow(/cofre paper --create-keys/);
    const first = await startPaper(true);
    expect(first.url).toBe(`http://127.0.0.1:${port}`);
    expect((await cli(dir, ['secret', 'list'])).stdout).toMatch(/^exchanges\/paper\s+1\s+1\s/m);
    await first.stop();
    await startPaper(false);
    // The same keys: still one version.
    expect((await cli(dir, ['secret', 'list'])).stdout).toMatch(/^exchanges\/paper\s+1\s+1\s/m);
  });
  it('refuses keys stored by hand that the paper exchange cannot take, without showing them', async () => {
    await initialised();
    const put = await cli(
      dir,
      ['secret', 'put', 'exchanges/paper', '--field', 'apiKey', '--field', 'secret'],
      'not-a-binance-key\ns3cr3t-value\n',
    );
    expect(put.code).toBe(0);
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
    const failure = await paper(io, {}, { wait: false }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure).toMatchObject({ code: 'COFRE_USAGE' });
    expect(failure?.message).toMatch(/apiKey must be 1-128 ASCII letters and digits/);
    expect(failure?.message).not.toMatch(/not-a-binance-key|s3cr3t-value/);
  });
});

describe('cofre paper --spare-key', () => {
  // Regression (issue 12's note): a newcomer on the Quick start could not finish a rotation, for the paper exchange
  // knew no key but the one it started with.
  it('accepts a second key, written to a new mode-600 file, that `cofre rotate --from-file` tests and promotes', async () => {
    await initialised();
    const spare = join(dir, 'new-key.json');
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
    let said = '';
    io.stderr.on('data', (c: Buffer) => (said += c.toString('utf8')));
    const exchange = await paper(io, {}, { createKeys: true, spareKey: spare, wait: false });
    stops.push(() => exchange.stop());
    expect(said).toContain(`cofre rotate paper --from-file ${spare}`);
    expect(statSync(spare).mode & 0o777).toBe(0o600);
    const key = JSON.parse(readFileSync(spare, 'utf8')) as { apiKey: string; secret: string };
    expect(said).not.toContain(key.secret);

    const rotated = await cli(dir, ['rotate', 'paper', '--from-file', spare]);
    expect(rotated.stderr).toContain('4/4');
    expect(rotated.code).toBe(0);
    // The promoted key is the one cofre signs with now: with the old key revoked at the exchange, doctor's signed
    // reads (key scope, as `cofre serve` makes them) still pass.
    const store = await EmbeddedBackend.open(join(dir, 'cofre.store'), {
      kind: 'key-file',
      path: join(dir, 'cofre.key'),
    });
    const old = await store.read('exchanges/paper', { kind: 'stage', stage: 'previous' });
    await store.close();
    exchange.revokeApiKey((JSON.parse(old.value.text()) as { apiKey: string }).apiKey);
    const doctor = await cli(dir, ['doctor']);
    // Its permissions were read with the key (a signed request); the old key would have failed authentication.
    expect(doctor.stdout).toMatch(/key-scope\n\s+WARN\s+paper: the key can withdraw/);
    expect(doctor.code).toBe(0);

    // Never overwritten: a second start with the same file is refused before it listens.
    await exchange.stop();
    const again = await paper(io, {}, { spareKey: spare, wait: false }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(again?.message).toMatch(/new-key\.json already exists; not overwriting it/);
    expect(JSON.parse(readFileSync(spare, 'utf8'))).toEqual(key);
  });
});

describe('cofre doctor and config check --resolve', () => {
  // Regression: `config check` passed references to secrets that did not exist and a misspelt venue; the agent found
  // out at its first request (a missing secret even answered HTTP 404).
  it('report every unresolvable reference and an unknown venue, and pass once the keys exist', async () => {
    await initialised();
    const doctor = await cli(dir, ['doctor']);
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toMatch(/COFRE_PREFLIGHT_FAILED: 2 problems/);
    expect(doctor.stderr).toMatch(/accounts\.paper\.credentials\.apiKey: COFRE_SECRET_NOT_FOUND/);
    expect(doctor.stderr).toMatch(/accounts\.paper\.credentials\.secret: COFRE_SECRET_NOT_FOUND/);

    await startPaper(true);
    expect(await cli(dir, ['doctor'])).toMatchObject({ code: 0 });
    expect((await cli(dir, ['config', 'check', '--resolve'])).stdout).toMatch(/every reference resolves/);

    const path = join(dir, 'cofre.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('venue: binance', 'venue: binanse'));
    // A misspelt venue is caught by the plain check already (venues are an allow-list, see README "Venues").
    const check = await cli(dir, ['config', 'check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/accounts\.paper\.venue: venue "binanse" .*did you mean "binance"\?/);
  });
});

describe('cofre serve', () => {
  // Regression: serve started on a config whose secrets did not exist; agents got the failure at their first request.
  it('refuses to start while a reference does not resolve, and names the fix', async () => {
    await initialised();
    const port = await freePort();
    const result = await cli(dir, ['serve', '--port', String(port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/COFRE_PREFLIGHT_FAILED/);
    expect(result.stderr).toMatch(/--no-verify/);
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
  });

  it('refuses --console-port when the config serves no console', async () => {
    await initialised();
    const path = join(dir, 'cofre.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^ {2}console:\n( {4}.*\n)+/m, ''));
    const result = await cli(dir, ['serve', '--no-verify', '--port', '0', '--console-port', '0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/COFRE_USAGE: --console-port needs a `server.console` block/);
  });

  // Regression: a taken port ended in a raw EADDRINUSE stack.
  it('names a taken port', async () => {
    await initialised();
    const taken = (await listening()).address() as { port: number };
    const result = await cli(dir, ['serve', '--no-verify', '--port', String(taken.port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`COFRE_PORT_IN_USE: port ${taken.port} on 127\\.0\\.0\\.1 is already in use`),
    );
  });

  it('listens on --host/--port, prints a summary, and serves an agent whose token file agent add wrote', async () => {
    await initialised();
    await startPaper(true);
    const added = await cli(dir, ['agent', 'add', 'trader-1', '--token-file', 'trader.token']);
    expect(added.code).toBe(0);
    const port = await freePort();
    const chosenConsolePort = await freePort();
    const server = startCliProcess(dir, [
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--console-port',
      String(chosenConsolePort),
    ]);
    stops.push(() => server.stop());
    const output = await server.waitFor(/agents: \d+ active/);
    expect(output).toMatch(new RegExp(`serving http://127\\.0\\.0\\.1:${port} `));
    expect(output).toMatch(/accounts: paper \(binance, paper\)/);
    expect(output).toMatch(/backends: local \(embedded\): reachable, 2\/2 references resolved/);
    expect(output).toMatch(/agents: 1 active/);
    // Issue 18: the starter config's console, moved by --console-port (replicas on one host each need their own).
    const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+) \(log in with an operator token/.exec(
      output,
    )?.[1];
    expect(consoleUrl).toBe(`http://127.0.0.1:${chosenConsolePort}`);
    const page = await fetch(`${consoleUrl}/console/session`);
    expect(page.status).toBe(401);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const token = readFileSync(join(dir, 'trader.token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${port}/v1/actions/get_balance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'paper' }),
    });
    expect(((await res.json()) as { status: string }).status).toBe('executed');
    // The start-up check's reads of each credential are on record, like the request's own.
    const purposes = readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"kind":"secret-access"'))
      .map((l) => (JSON.parse(l) as { purpose: string }).purpose);
    expect(purposes.filter((p) => p === 'preflight')).toHaveLength(2);
    expect(purposes.filter((p) => p === 'venue-credentials')).toHaveLength(2);
  });

  // Issue 12: the paper key can withdraw (as the paper exchange reports it) and no policy allows withdraw.
  it('starts, names the account refused for its key scope, and refuses actions on it', async () => {
    await initialised();
    await startPaper(true);
    const path = join(dir, 'cofre.yaml');
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(
        '    mode: paper\n',
        '    mode: paper\n    requireLeastPrivilege: true\n',
      ),
    );
    expect((await cli(dir, ['agent', 'add', 'trader-1', '--token-file', 'trader.token'])).code).toBe(0);
    const port = await freePort();
    const server = startCliProcess(dir, ['serve', '--host', '127.0.0.1', '--port', String(port)]);
    stops.push(() => server.stop());
    const output = await server.waitFor(/agents: \d+ active/);
    expect(output).toMatch(/accounts: paper \(binance, paper, REFUSED: its key can do too much\)/);
    const token = readFileSync(join(dir, 'trader.token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${port}/v1/actions/get_balance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'paper' }),
    });
    expect(((await res.json()) as { error?: { code: string } }).error?.code).toBe('COFRE_ACCOUNT_REFUSED');
  });
});

describe('agent token files', () => {
  // Regression: `agent add` only printed the token, so users redirected it into a file created with their umask.
  it('agent add --token-file writes a new file of mode 600, prints no token, and never overwrites one', async () => {
    await initialised();
    const added = await cli(dir, ['agent', 'add', 'bot-1', '--token-file', 'bot.token']);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('');
    const file = join(dir, 'bot.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^cofre_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).not.toContain(token);

    const again = await cli(dir, ['agent', 'add', 'bot-2', '--token-file', 'bot.token']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/COFRE_STORE_EXISTS/);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect((await cli(dir, ['agent', 'list'])).stdout).not.toMatch(/bot-2/);
  });

  // Regression: `cofre mcp --token-file` read a token file that every user could read.
  it('mcp --token-file refuses a file that group or others can read', async () => {
    await initialised();
    expect((await cli(dir, ['agent', 'add', 'bot-1', '--token-file', 'bot.token'])).code).toBe(0);
    chmodSync(join(dir, 'bot.token'), 0o644);
    const result = await cli(dir, ['mcp', '--token-file', 'bot.token']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/COFRE_TOKEN_FILE_INSECURE: the token file bot\.token has mode 644/);
    expect(result.stderr).toMatch(/chmod 600/);
  });
});
