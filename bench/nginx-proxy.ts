// nginx as a reverse proxy that adds the API key header: the least any proxy in front of an exchange can cost.
// Runs unprivileged with a config of its own in the caller's temp dir, on a loopback port.
import { access, constants, readFile, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

import { hasExited, spawnTracked, stopChild } from './child-process.js';

/** A running nginx. */
export interface NginxProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly version: string;
  /** The master's process id (its worker is a child of it). */
  readonly pid: number;
  stop(): Promise<void>;
}

/** The nginx binary on PATH or in the sbin directories (often missing from an unprivileged PATH), if any. */
export async function findNginx(): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((d) => d !== '')) {
    const candidate = join(dir, 'nginx');
    const usable = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (usable) return candidate;
  }
  return undefined;
}

/**
 * Starts nginx proxying every request to `upstream` with `X-MBX-APIKEY: <apiKey>` added, the way one would deploy
 * it: HTTP/1.1 keep-alive to the upstream, one worker, no access log. Files (config, pid, logs, temp dirs) go in
 * `dir`; the config holds the API key, so it is written mode 600.
 */
export async function startNginx(
  binary: string,
  options: { dir: string; upstream: string; apiKey: string },
): Promise<NginxProxy> {
  const upstream = new URL(options.upstream);
  const port = await freeLoopbackPort();
  const conf = join(options.dir, 'nginx.conf');
  const errorLog = join(options.dir, 'error.log');
  await writeFile(
    conf,
    `worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${options.dir}/client_body;
  proxy_temp_path ${options.dir}/proxy;
  fastcgi_temp_path ${options.dir}/fastcgi;
  uwsgi_temp_path ${options.dir}/uwsgi;
  scgi_temp_path ${options.dir}/scgi;
  upstream exchange {
    server ${upstream.host};
    keepalive 32;
    # Below Node's 5 s server keep-alive, so nginx never reuses a connection the exchange is closing.
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://exchange;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-MBX-APIKEY "${options.apiKey}";
    }
  }
}
`,
    { mode: 0o600 },
  );
  const version = await nginxVersion(binary);
  const child = spawnTracked(binary, [
    '-p',
    options.dir,
    '-c',
    conf,
    '-e',
    errorLog,
    '-g',
    `daemon off; pid ${join(options.dir, 'nginx.pid')}; error_log ${errorLog};`,
  ]);
  child.stdout?.resume();
  child.stderr?.resume();
  const stop = (): Promise<void> => stopChild(child, { signal: 'SIGTERM' });
  try {
    await waitForPort(port, () => hasExited(child));
  } catch (err) {
    await stop();
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${log.trim()}`, { cause: err });
  }
  return { url: `http://127.0.0.1:${port}`, version, pid: child.pid ?? 0, stop };
}

async function nginxVersion(binary: string): Promise<string> {
  // `nginx -v` prints to stderr and exits.
  const child = spawnTracked(binary, ['-v']);
  const line = await new Promise<string>((resolve) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.once('exit', () => {
      resolve(text.trim());
    });
  });
  return line.replace(/^nginx version: /, '');
}

/** A loopback TCP port that was free a moment ago (bound and released). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects when `gaveUp()` (`what` exited) or at the timeout. */
export async function waitForPort(
  port: number,
  gaveUp: () => boolean,
  options: { what?: string; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error(`${options.what ?? 'nginx'} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}
