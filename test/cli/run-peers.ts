// Peers of the `cofre run` tests: local HTTPS upstreams that record what they receive (the stand-in certificate
// for 127.0.0.1, which the test processes and the cofre they spawn trust through NODE_EXTRA_CA_CERTS), and the real
// `cofre run` process with its stdio piped.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { ensureStandInTls } from '../key-vault-standin/certificate.js';
import { cofreArgv } from './cli-harness.js';

/** One request an upstream received. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** An HTTPS server on 127.0.0.1 answering every request with JSON of what it saw. */
export interface Upstream {
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const { certFile, keyFile } = ensureStandInTls();
  const received: Received[] = [];
  const server: Server = createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(seen);
        // Echoes what it saw: the response carries the credential, which cofre must scrub.
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-url': seen.url });
        res.end(JSON.stringify({ echo: seen }));
      });
    },
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => {
          done();
        });
      }),
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `cofre` with `args` in `cwd`, `input` on its stdin. */
export function cofreProcess(
  cwd: string,
  args: readonly string[],
  input = '',
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, cofreArgv(args), {
      cwd,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: cwd,
        NODE_EXTRA_CA_CERTS: process.env['NODE_EXTRA_CA_CERTS'] ?? ensureStandInTls().certFile,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
