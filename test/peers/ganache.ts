/**
 * A local EVM chain for tests: ganache 7.9.2 (devDependency, runs on Node 20) as a child process on a free loopback
 * port, behind a small counting proxy.
 *
 * `url` is the proxy: it forwards every JSON-RPC request to ganache and counts the transactions offered to the node
 * (`eth_sendRawTransaction`, `eth_sendTransaction`), accepted or not, so a test can prove that a refused request was
 * never broadcast (`sendAttempts()`), and it can fail the next calls of a method on demand (`failNext`), for tests of
 * RPC failures. `nodeUrl` talks to ganache directly (not counted, never failed). `txCount()` counts what the node
 * itself holds: transactions in every block plus its pool.
 *
 * ganache runs in instamine mode ("eager"): a valid transaction is mined before its hash is returned. Accounts are
 * deterministic (`--wallet.deterministic`), unlocked, 1000 ETH each; `fund` sends ETH from the first of them.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

import {
  freePort,
  makeRunDir,
  peerEnv,
  PeerUnavailableError,
  REPO_ROOT,
  spawnPeer,
  type StopHandle,
  stopper,
  waitReady,
  withPortRetry,
} from './peers.js';

export interface GanachePeer extends StopHandle {
  /** JSON-RPC through the counting proxy, e.g. http://127.0.0.1:41236 — give this one to cofre. */
  readonly url: string;
  /** JSON-RPC straight to ganache: not counted, never failed. */
  readonly nodeUrl: string;
  readonly chainId: number;
  /** The node's unlocked, funded accounts (deterministic). */
  readonly accounts: readonly `0x${string}`[];
  /** Sends `wei` from the first unlocked account to `address`; resolves once mined. */
  fund(address: string, wei: bigint): Promise<void>;
  /** Every transaction the node has: in all blocks plus pending and queued in its pool. */
  txCount(): Promise<number>;
  /** Transactions offered through the proxy (`eth_sendRawTransaction` + `eth_sendTransaction`), accepted or not. */
  sendAttempts(): number;
  /**
   * The next `times` calls of `method` through the proxy fail: with `mode: 'error'` (default) the proxy answers a
   * JSON-RPC error without forwarding; with `mode: 'drop-after'` it forwards the call to the node and then cuts the
   * connection without an answer (the outcome is unknown to the caller, but the node got it); with `mode: 'delay'` it
   * forwards the call two seconds late (to catch a request in flight).
   */
  failNext(method: string, times?: number, mode?: 'error' | 'drop-after' | 'delay'): void;
  /** One JSON-RPC call straight to the node; throws on a JSON-RPC error. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
}

const GANACHE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'ganache');

/** Starts ganache (default chain id 1337) and its counting proxy. */
export async function startGanache(
  opts: { chainId?: number; readyTimeoutMs?: number } = {},
): Promise<GanachePeer> {
  if (!existsSync(GANACHE_BIN)) {
    throw new PeerUnavailableError(`ganache not found at ${GANACHE_BIN}; run npm install (devDependency)`);
  }
  const chainId = opts.chainId ?? 1337;
  return withPortRetry(async () => {
    const runDir = await makeRunDir('ganache');
    const logPath = join(runDir, 'ganache.log');
    const port = await freePort();
    const nodeUrl = `http://127.0.0.1:${port}`;
    const spawned = spawnPeer(
      process.execPath,
      [
        GANACHE_BIN,
        '--server.host',
        '127.0.0.1',
        '--server.port',
        String(port),
        '--chain.chainId',
        String(chainId),
        '--wallet.deterministic',
        '--wallet.totalAccounts',
        '5',
        '--logging.quiet',
      ],
      { cwd: runDir, runDir, logPath, env: peerEnv() },
    );
    const rpc = async <T = unknown>(method: string, params: unknown[] = []): Promise<T> => {
      const res = await fetch(nodeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { result?: T; error?: { message: string } };
      if (body.error) throw new Error(`ganache ${method}: ${body.error.message}`);
      return body.result as T;
    };
    const stopNode = stopper(spawned, runDir);
    try {
      await waitReady('ganache', spawned, logPath, opts.readyTimeoutMs ?? 60_000, async () => {
        const id = await rpc<string>('eth_chainId');
        return Number(id) === chainId;
      });
    } catch (err) {
      await spawned.kill(1000);
      throw err;
    }
    const accounts = await rpc<`0x${string}`[]>('eth_accounts');
    const proxy = await startProxy(nodeUrl);

    const fund = async (address: string, wei: bigint): Promise<void> => {
      const from = accounts[0];
      if (from === undefined) throw new Error('ganache has no unlocked account');
      const hash = await rpc<string>('eth_sendTransaction', [
        { from, to: address, value: `0x${wei.toString(16)}` },
      ]);
      const receipt = await rpc<{ status: string } | null>('eth_getTransactionReceipt', [hash]);
      if (receipt?.status !== '0x1') throw new Error(`funding ${address} failed`);
    };
    const txCount = async (): Promise<number> => {
      const latest = Number(await rpc<string>('eth_blockNumber'));
      let n = 0;
      for (let b = 0; b <= latest; b++) {
        n += Number(await rpc<string>('eth_getBlockTransactionCountByNumber', [`0x${b.toString(16)}`]));
      }
      const pool = await rpc<{ pending: Record<string, object>; queued: Record<string, object> }>(
        'txpool_content',
      );
      for (const byNonce of [...Object.values(pool.pending), ...Object.values(pool.queued)]) {
        n += Object.keys(byNonce).length;
      }
      return n;
    };
    const stop = async (): Promise<void> => {
      await proxy.close();
      await stopNode();
    };
    return {
      url: proxy.url,
      nodeUrl,
      chainId,
      accounts,
      runDir,
      logPath,
      fund,
      txCount,
      sendAttempts: () => proxy.sendAttempts,
      failNext: proxy.failNext,
      rpc,
      stop,
    };
  });
}

interface Proxy {
  readonly url: string;
  readonly sendAttempts: number;
  readonly failNext: (method: string, times?: number, mode?: 'error' | 'drop-after' | 'delay') => void;
  close(): Promise<void>;
}

interface RpcCall {
  id?: unknown;
  method?: unknown;
}

const SEND_METHODS = new Set(['eth_sendRawTransaction', 'eth_sendTransaction']);

async function startProxy(target: string): Promise<Proxy> {
  const failures = new Map<string, { times: number; mode: 'error' | 'drop-after' | 'delay' }[]>();
  let sendAttempts = 0;
  const takeFailure = (method: string): 'error' | 'drop-after' | 'delay' | undefined => {
    const queue = failures.get(method);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.times -= 1;
    if (head.times <= 0) queue.shift();
    return head.mode;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let parsed: RpcCall | RpcCall[];
    try {
      parsed = JSON.parse(raw) as RpcCall | RpcCall[];
    } catch {
      parsed = {};
    }
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    let mode: 'error' | 'drop-after' | 'delay' | undefined;
    for (const call of calls) {
      const method = typeof call.method === 'string' ? call.method : '';
      if (SEND_METHODS.has(method)) sendAttempts += 1;
      mode ??= takeFailure(method);
    }
    if (mode === 'error') {
      const errors = calls.map((c) => ({
        jsonrpc: '2.0',
        id: c.id ?? null,
        error: { code: -32603, message: 'injected failure (test proxy)' },
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Array.isArray(parsed) ? errors : errors[0]));
      return;
    }
    if (mode === 'delay') await new Promise((resolve) => setTimeout(resolve, 2000));
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    const text = await upstream.text();
    if (mode === 'drop-after') {
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get sendAttempts() {
      return sendAttempts;
    },
    failNext: (method, times = 1, mode = 'error') => {
      const queue = failures.get(method) ?? [];
      queue.push({ times, mode });
      failures.set(method, queue);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
