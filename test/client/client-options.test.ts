// Creating a client: the token file by the server's rules (mode 600, one token), a base URL that cannot leak the
// token, and a client whose printed forms never show the token.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CofreClientError, createCofreClient } from '../../src/client/index.js';
import { tempDir } from '../cli/cli-harness.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { startClientFixture } from './served-client.js';

let fx: ServedFixture;
let dir: string;
let remove: () => void;

beforeAll(async () => {
  fx = await startClientFixture();
  ({ dir, remove } = tempDir());
});

afterAll(async () => {
  await fx.close();
  remove();
});

function tokenFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<CofreClientError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofreClientError);
  return err as CofreClientError;
}

describe('the token file', () => {
  it('is read once, with its trailing newline dropped, and works', async () => {
    const path = tokenFile('agent.token', `${await fx.agentToken('file-agent', 'reader')}\n`);
    const client = await createCofreClient({ baseUrl: fx.url, tokenFile: path });
    expect(await client.getTicker({ account: 'paper', symbol: 'BTC/USDT' })).toMatchObject({
      ticker: { last: '60000' },
    });
  });

  it('is refused when group or others can read it, naming the fix', async () => {
    const path = tokenFile('open.token', await fx.agentToken('open-agent', 'reader'), 0o644);
    const err = await refusal(createCofreClient({ baseUrl: fx.url, tokenFile: path }));
    expect(err.code).toBe('COFRE_TOKEN_FILE_INSECURE');
    expect(err.message).toBe(
      `the token file ${path} has mode 644, so other users can read it; run: chmod 600 ${path}`,
    );
  });

  it('is refused when missing, a directory, too large, or not one token', async () => {
    const folder = join(dir, 'folder');
    mkdirSync(folder, { mode: 0o700 });
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.token'), /cannot read the token file .*missing\.token: ENOENT/],
      [folder, /is not a regular file/],
      [tokenFile('big.token', 'x'.repeat(5000)), /larger than 4096 bytes/],
      [tokenFile('empty.token', ''), /is empty or holds characters/],
      [tokenFile('two.token', 'cofre_a\ncofre_b\n'), /is empty or holds characters/],
      [tokenFile('op.token', 'cofre_op_abc'), /is an operator token; the client takes an agent token/],
    ];
    for (const [path, message] of cases) {
      const err = await refusal(createCofreClient({ baseUrl: fx.url, tokenFile: path }));
      expect(err.code).toBe('COFRE_INPUT_INVALID');
      expect(err.message).toMatch(message);
    }
  });
});

describe('the options', () => {
  it('refuses a token with spaces or line breaks without quoting it', async () => {
    const err = await refusal(createCofreClient({ baseUrl: fx.url, token: 'secret-part\r\nX-Evil: 1' }));
    expect(err.message).toMatch(/options\.token is empty or holds characters/);
    expect(err.message).not.toContain('secret-part');
  });

  it('refuses a base URL that is not http(s), holds credentials, or sends the token in clear text off the host', async () => {
    const token = 'cofre_x';
    const cases: [string, RegExp][] = [
      ['not a url', /baseUrl is not a URL/],
      ['ftp://127.0.0.1/', /must be http: or https:, not ftp:/],
      ['http://user:pw@127.0.0.1:8787', /must not hold a user or password/],
      [
        'http://cofre.example.com:8787',
        /plain http to another host: the token would cross the network in clear text/,
      ],
    ];
    for (const [baseUrl, message] of cases) {
      expect((await refusal(createCofreClient({ baseUrl, token }))).message).toMatch(message);
    }
    await expect(createCofreClient({ baseUrl: 'https://cofre.example.com', token })).resolves.toBeDefined();
    await expect(
      createCofreClient({ baseUrl: 'http://cofre.internal:8787', token, allowInsecureHttp: true }),
    ).resolves.toBeDefined();
  });

  it('keeps a path prefix of the base URL (cofre behind a reverse proxy)', async () => {
    const client = await createCofreClient({ baseUrl: 'https://proxy.example.com/cofre', token: 'cofre_x' });
    expect(client.baseUrl).toBe('https://proxy.example.com/cofre/');
  });
});

describe('the token never shows', () => {
  it('in util.inspect, JSON.stringify or the object’s own properties', async () => {
    const token = await fx.agentToken('quiet-agent', 'reader');
    const client = await createCofreClient({ baseUrl: fx.url, token });
    const shown = [
      inspect(client, { showHidden: true, depth: 10 }),
      JSON.stringify(client),
      JSON.stringify(
        Object.getOwnPropertyNames(client).map((k) => (client as unknown as Record<string, unknown>)[k]),
      ),
    ];
    for (const text of shown) expect(text).not.toContain(token.slice(6));
    expect(inspect(client)).toBe(`CofreClient { baseUrl: '${fx.url}/', token: [REDACTED] }`);
    expect(JSON.stringify(client)).toBe(JSON.stringify({ baseUrl: `${fx.url}/` }));
  });

  it('in errors: refused, denied and unreachable', async () => {
    const token = await fx.agentToken('quiet-reader', 'reader');
    const client = await createCofreClient({ baseUrl: fx.url, token });
    const closed = await createCofreClient({ baseUrl: 'http://127.0.0.1:9', token });
    const errors = [
      await client
        .placeOrder({
          account: 'paper',
          symbol: 'BTC/USDT',
          side: 'buy',
          type: 'market',
          amount: 1,
          clientOrderId: 'q1',
        })
        .catch((e: unknown) => e),
      await client.getBalance({ account: 'Bad Account' }).catch((e: unknown) => e),
      await closed.getBalance({ account: 'paper' }).catch((e: unknown) => e),
    ];
    for (const err of errors) {
      expect(err).toBeInstanceOf(CofreClientError);
      const text = [
        inspect(err, { showHidden: true, depth: 10 }),
        JSON.stringify(err),
        (err as Error).stack,
      ].join('\n');
      expect(text).not.toContain(token.slice(6));
    }
  });
});
