import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cli, tempDir } from './cli-harness.js';

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir());
});
afterEach(() => {
  remove();
});

async function initialised(): Promise<void> {
  const result = await cli(dir, ['init']);
  expect(result.code).toBe(0);
}

describe('cofre CLI', () => {
  it('init writes a config that checks clean and an encrypted store, and refuses to run twice', async () => {
    await initialised();
    expect(readFileSync(join(dir, 'cofre.yaml'), 'utf8')).toContain('type: embedded');
    const check = await cli(dir, ['config', 'check']);
    expect(check).toMatchObject({ code: 0 });
    expect(check.stdout).toMatch(/cofre\.yaml: ok/);
    const again = await cli(dir, ['init']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/COFRE_STORE_EXISTS/);
  });

  it('puts, lists, versions, promotes, fingerprints and removes a secret', async () => {
    await initialised();
    expect(
      (
        await cli(
          dir,
          ['secret', 'put', 'exchanges/paper', '--field', 'apiKey', '--field', 'secret'],
          'k1\ns1\n',
        )
      ).code,
    ).toBe(0);
    expect(
      (await cli(dir, ['secret', 'put', 'exchanges/paper', '--pending'], '{"apiKey":"k2","secret":"s2"}\n'))
        .code,
    ).toBe(0);

    const list = await cli(dir, ['secret', 'list']);
    expect(list.stdout).toMatch(/^exchanges\/paper\s+1\s+2\s/m);

    const versions = await cli(dir, ['secret', 'versions', 'exchanges/paper']);
    expect(versions.stdout).toMatch(/^1\s+current\s/m);
    expect(versions.stdout).toMatch(/^2\s+pending\s/m);

    const before = (await cli(dir, ['secret', 'fingerprint', 'exchanges/paper'])).stdout.trim();
    const pending = (
      await cli(dir, ['secret', 'fingerprint', 'exchanges/paper@stage=pending'])
    ).stdout.trim();
    expect(before).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    expect(pending).not.toBe(before);

    expect((await cli(dir, ['secret', 'promote', 'exchanges/paper', '2'])).code).toBe(0);
    const after = await cli(dir, ['secret', 'versions', 'exchanges/paper']);
    expect(after.stdout).toMatch(/^1\s+previous\s/m);
    expect(after.stdout).toMatch(/^2\s+current\s/m);
    expect((await cli(dir, ['secret', 'fingerprint', 'exchanges/paper'])).stdout.trim()).toBe(pending);

    expect((await cli(dir, ['secret', 'rm', 'exchanges/paper'])).code).toBe(0);
    const gone = await cli(dir, ['secret', 'versions', 'exchanges/paper']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/COFRE_SECRET_NOT_FOUND/);
  });

  it('trims one trailing newline from stdin, keeps bytes exact with --binary, reads --from-file', async () => {
    await initialised();
    await cli(dir, ['secret', 'put', 'a'], 'value\n');
    await cli(dir, ['secret', 'put', 'b'], 'value');
    await cli(dir, ['secret', 'put', 'c', '--binary'], 'value\n');
    const fp = async (name: string): Promise<string> =>
      (await cli(dir, ['secret', 'fingerprint', name])).stdout;
    expect(await fp('a')).toBe(await fp('b'));
    expect(await fp('c')).not.toBe(await fp('a'));
  });

  it('rejects an empty value and never takes a value from argv', async () => {
    await initialised();
    const empty = await cli(dir, ['secret', 'put', 'x'], '\n');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/COFRE_SECRET_VALUE_INVALID/);
    const argv = await cli(dir, ['secret', 'put', 'x', 'argv-secret-value']);
    expect(argv.code).toBe(2);
    expect(argv.stderr + argv.stdout).not.toContain('argv-secret-value');
  });

  it('exits 2 on usage errors, 1 on failures, 3 when the store key is wrong', async () => {
    expect((await cli(dir, ['frobnicate'])).code).toBe(2);
    expect((await cli(dir, ['secret', 'put'])).code).toBe(2);
    const missing = await cli(dir, ['secret', 'list']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/COFRE_CONFIG_NOT_FOUND/);

    await initialised();
    const other = tempDir();
    try {
      expect((await cli(other.dir, ['init'])).code).toBe(0);
      // Point this store's config at the other store's key.
      const config = readFileSync(join(dir, 'cofre.yaml'), 'utf8').replace(
        'keyFile: "cofre.key"',
        `keyFile: ${JSON.stringify(join(other.dir, 'cofre.key'))}`,
      );
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'cofre.yaml'), config);
      const denied = await cli(dir, ['secret', 'list']);
      expect(denied.code).toBe(3);
      expect(denied.stderr).toMatch(/COFRE_STORE_WRONG_KEY/);
    } finally {
      other.remove();
    }
  });

  it('adds an agent (token printed once, on stdout only), lists it, and revokes it', async () => {
    await initialised();
    const added = await cli(dir, ['agent', 'add', 'bot-1', '--policy', 'paper-trading', '--ttl', '2h']);
    expect(added.code).toBe(0);
    const token = added.stdout.trim();
    expect(token).toMatch(/^cofre_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).not.toContain(token);
    const list = await cli(dir, ['agent', 'list']);
    expect(list.stdout).toMatch(/^bot-1\s+paper-trading\s+active\s/m);
    expect(list.stdout).not.toContain(token.split('.')[1]);
    expect((await cli(dir, ['agent', 'add', 'bot-1', '--policy', 'paper-trading'])).stderr).toMatch(
      /COFRE_AGENT_EXISTS/,
    );
    expect((await cli(dir, ['agent', 'revoke', 'bot-1'])).code).toBe(0);
    expect((await cli(dir, ['agent', 'list'])).stdout).toMatch(/^bot-1\s+paper-trading\s+revoked\s/m);
    expect((await cli(dir, ['agent', 'revoke', 'bot-1'])).stderr).toMatch(/COFRE_AGENT_NOT_FOUND/);
    const unknownPolicy = await cli(dir, ['agent', 'add', 'bot-2', '--policy', 'nope']);
    expect(unknownPolicy.code).toBe(2);
    expect(unknownPolicy.stderr).toMatch(/no policy "nope"/);
  });

  it('reports every config error at once with its path', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(dir, 'cofre.yaml'),
      [
        'backends:',
        '  local: { type: embedded, path: s, keyFile: k, extra: 1 }',
        'server:',
        '  port: "x"',
        'bogus: 1',
        '',
      ].join('\n'),
    );
    const result = await cli(dir, ['config', 'check']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/COFRE_CONFIG_INVALID/);
    expect(result.stderr).toMatch(/backends\.local/);
    expect(result.stderr).toMatch(/server\.port/);
    expect(result.stderr).toMatch(/bogus/);
  });

  // Regression: `cofre --version` was an unknown option, `cofre help` and `cofre frobnicate` said "too many arguments".
  it('prints its version, has a help command, and names an unknown command', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(await cli(dir, ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await cli(dir, ['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cofre/m);
    expect(help.stdout).toMatch(/^ {2}secret /m);
    expect((await cli(dir, ['help', 'secret'])).stdout).toMatch(/^Usage: cofre secret/m);
    const unknown = await cli(dir, ['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(unknown.stderr).toMatch(/cofre help/);
  });

  it('prints a JSON Schema', async () => {
    const result = await cli(dir, ['config', 'schema']);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['backends', 'accounts', 'agents', 'policies', 'audit', 'server', 'state']),
    );
  });

  it.each([
    [[]],
    [['init']],
    [['config']],
    [['config', 'check']],
    [['config', 'schema']],
    [['secret']],
    [['secret', 'put']],
    [['secret', 'list']],
    [['secret', 'versions']],
    [['secret', 'promote']],
    [['secret', 'rm']],
    [['secret', 'fingerprint']],
    [['agent']],
    [['agent', 'add']],
    [['agent', 'list']],
    [['agent', 'revoke']],
    [['demo']],
    [['paper']],
    [['doctor']],
    [['help']],
    [['serve']],
    [['mcp']],
  ])('has --help on %j', async (command) => {
    const result = await cli(dir, [...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: cofre/m);
  });
});
