// What the tests of `cofre serve` as a process share: a free port, a request on a connection of its own, and the
// process tree read from /proc.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/** A loopback port free right now (taken by nothing until the caller binds it, in practice). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

/** An answer: HTTP status and the JSON body. */
export interface PostAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * POSTs `body` as JSON with the agent's bearer token on a connection of its own (no keep-alive), so that each
 * request may land on another worker of `serve --workers N`.
 */
export function postOnOwnConnection(url: string, token: string, body: unknown): Promise<PostAnswer> {
  const data = JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => {
          done({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        });
      },
    );
    req.on('error', fail);
    req.end(data);
  });
}

/** The parent of process `pid` (Linux, from /proc). */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}
