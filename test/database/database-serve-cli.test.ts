// `cofre serve` as a user runs it, with a `databases:` entry: the summary names the listener, the listener answers
// in the running process, and a taken listen port is named by its config path. No upstream is needed for that.
import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

import { Client } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cli, startCliProcess, tempDir } from '../cli/cli-harness.js';
import { freePort } from '../cli/serve-test-tools.js';

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

async function withDatabase(listenPort: number): Promise<void> {
  expect((await cli(dir, ['init'])).code).toBe(0);
  appendFileSync(
    join(dir, 'cofre.yaml'),
    [
      '',
      'databases:',
      '  analytics:',
      '    type: postgres',
      '    host: 127.0.0.1',
      `    port: ${await freePort()}`,
      '    database: analytics',
      '    credentials: { username: "local:db/analytics#username", password: "local:db/analytics#password" }',
      `    listen: { port: ${listenPort} }`,
      '',
    ].join('\n'),
  );
}

describe('cofre serve with databases:', () => {
  it('prints where each database listens, and answers there with PostgreSQL errors', async () => {
    const listen = await freePort();
    await withDatabase(listen);
    const server = startCliProcess(dir, ['serve', '--no-verify', '--port', String(await freePort())]);
    stops.push(() => server.stop());
    const output = await server.waitFor(/database analytics: /);
    expect(output).toContain(
      `database analytics: postgresql://<agent>@127.0.0.1:${listen} (password: the agent token)`,
    );
    const client = new Client({ host: '127.0.0.1', port: listen, user: 'x', password: 'not-a-token' });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    await client.end().catch(() => undefined);
  });

  it('names a taken listen port by its place in the config', async () => {
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    stops.push(() => new Promise((done) => taken.close(done)));
    const port = (taken.address() as { port: number }).port;
    await withDatabase(port);
    const result = await cli(dir, ['serve', '--no-verify', '--port', String(await freePort())]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `COFRE_PORT_IN_USE: port ${port} on 127.0.0.1 (databases.analytics.listen) is already in use`,
    );
  });
});
