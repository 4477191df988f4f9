// SECURITY invariant: a canary secret put through the CLI appears in no stdout, stderr, config, or store file,
// in any encoding. Runs the real `cofre` process, so nothing in-process can hide a leak.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliProcess, type CliResult, tempDir } from '../cli/cli-harness.js';
import { leaks, makeCanary } from './canary.js';

describe('canary through the CLI', () => {
  const canary = makeCanary();
  const outputs: CliResult[] = [];
  let dir: string;
  let remove: () => void;

  beforeAll(async () => {
    ({ dir, remove } = tempDir());
    const run = async (args: string[], input = ''): Promise<CliResult> => {
      // Every command logs at trace level: each line any of them writes is searched too.
      const result = await cliProcess(dir, args, input, { COFRE_LOG_LEVEL: 'trace' });
      outputs.push(result);
      return result;
    };
    expect((await run(['init'])).code).toBe(0);
    expect((await run(['secret', 'put', 'exchanges/canary'], `${canary.value}\n`)).code).toBe(0);
    expect(
      (
        await run(
          ['secret', 'put', 'exchanges/fields', '--field', 'apiKey', '--field', 'secret'],
          `k\n${canary.value}\n`,
        )
      ).code,
    ).toBe(0);
    expect((await run(['secret', 'put', 'exchanges/canary', '--pending'], `${canary.value}-2\n`)).code).toBe(
      0,
    );
    await run(['secret', 'list']);
    await run(['secret', 'versions', 'exchanges/canary']);
    await run(['secret', 'fingerprint', 'exchanges/canary']);
    await run(['secret', 'promote', 'exchanges/canary', '2']);
    // The start-up checks (doctor, config check --resolve, serve) resolve the canary and report problems beside it.
    const configPath = join(dir, 'cofre.yaml');
    const config = readFileSync(configPath, 'utf8');
    writeFileSync(
      configPath,
      config
        .replace('venue: binance', 'venue: binanse')
        .replace('local:exchanges/paper#apiKey', 'local:exchanges/fields#apiKey')
        .replace('local:exchanges/paper#secret', 'local:exchanges/fields#secret'),
    );
    expect((await run(['doctor'])).code).toBe(1);
    expect((await run(['config', 'check', '--resolve'])).code).toBe(1);
    expect((await run(['serve', '--port', '0'])).code).toBe(1);
    // A #field of a value that is not JSON: the error must describe it without quoting it.
    writeFileSync(
      configPath,
      config.replace('local:exchanges/paper#secret', 'local:exchanges/canary#secret'),
    );
    expect((await run(['doctor'])).stderr).toMatch(/accounts\.paper\.credentials\.secret: COFRE_SECRET_/);
    writeFileSync(configPath, config);
    // Failure paths: a bad version, a bad field count, a value on argv, a corrupted store.
    await run(['secret', 'fingerprint', 'exchanges/canary@99']);
    await run(['secret', 'put', 'exchanges/bad', '--field', 'a', '--field', 'b'], `${canary.value}\n`);
    await run(['secret', 'put', 'exchanges/argv', canary.value]);
    const storePath = join(dir, 'cofre.store');
    const store = readFileSync(storePath);
    const damaged = Buffer.from(store);
    damaged[damaged.length - 20] = (damaged[damaged.length - 20] ?? 0) ^ 0xff;
    writeFileSync(storePath, damaged);
    expect((await run(['secret', 'list'])).code).toBe(1);
    writeFileSync(storePath, store);
  });

  afterAll(() => {
    remove();
  });

  it('is in no stdout or stderr', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const { stdout, stderr } of outputs) {
      expect(leaks(stdout, canary.encodings)).toEqual([]);
      expect(leaks(stderr, canary.encodings)).toEqual([]);
    }
  });

  it('is in no file the CLI wrote, raw or encoded', () => {
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['cofre.yaml', 'cofre.store', 'cofre.key']));
    for (const file of files) expect(leaks(readFileSync(join(dir, file)), canary.encodings)).toEqual([]);
  });

  it('can still be read back, so the test is not vacuous', async () => {
    const { EmbeddedBackend } = await import('../../src/secrets/embedded/embedded-backend.js');
    const backend = await EmbeddedBackend.open(join(dir, 'cofre.store'), {
      kind: 'key-file',
      path: join(dir, 'cofre.key'),
    });
    try {
      const current = await backend.read('exchanges/canary', { kind: 'latest' });
      expect(current.value.text()).toBe(`${canary.value}-2`);
      const previous = await backend.read('exchanges/canary', { kind: 'stage', stage: 'previous' });
      expect(previous.value.text()).toBe(canary.value);
    } finally {
      await backend.close();
    }
  });
});
