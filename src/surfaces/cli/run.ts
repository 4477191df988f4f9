import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

import { AuditHasher } from '../../audit/audit-hasher.js';
import { loadAuditKeys } from '../../audit/audit-keys.js';
import type { AuditSink } from '../../audit/audit-log.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { openResolver } from '../../secrets/open-backend.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { startEgressProxy } from '../run/egress-proxy.js';
import { newPlaceholder } from '../run/placeholder-swap.js';
import { RunCa } from '../run/run-ca.js';
import {
  type AllowedHost,
  type EgressHooks,
  type RunService,
  serviceTarget,
  unbracket,
} from '../run/run-service.js';
import { openCliAudit } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { ExitWith, GlobalOptions } from './command-spec.js';
import { secretLookingNames } from './doctor-secret-env.js';
import { describeError } from './exit-code.js';
import { promptHidden } from './read-secret-input.js';

/** Signals passed on to the child: it decides how to stop, and its exit status becomes ours. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * `cofre run --env VAR=service … -- <command> [args…]`: runs a tool with a placeholder in place of each credential
 * and its egress through a loopback proxy of this run that swaps the placeholder for the real value on the way to
 * the service's host only (see run/egress-proxy.ts). stdin, stdout and stderr are the tool's own (an MCP stdio
 * server can be wrapped); the exit status is the tool's (128 + signal when a signal ended it).
 */
export async function run(
  io: CliIo,
  global: GlobalOptions,
  argv: readonly string[],
  options: { env?: string[]; allowHost?: string[] },
): Promise<ExitWith> {
  const [command, ...args] = argv;
  if (command === undefined || command === '') {
    throw new CofreError(
      'COFRE_USAGE',
      'no command to run; usage: cofre run --env VAR=service -- <command> [args...]',
    );
  }
  const pairs = parseEnvPairs(options.env ?? []);
  const allowHosts = (options.allowHost ?? []).map(parseAllowHost);
  const config = await loadCliConfig(io, global);
  const services = runServices(config, pairs);
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  const audit = openCliAudit(config, { promptPassphrase: (q) => promptHidden(io, q) });
  const dir = mkdtempSync(join(tmpdir(), 'cofre-run-'));
  try {
    const keys = await loadAuditKeys({ audit: { ...config.audit, signingKey: undefined } }, resolver);
    const hasher = new AuditHasher(keys.hmacKey);
    keys.hmacKey?.fill(0);
    // Fail at start, naming the reference, rather than at the tool's first request.
    for (const service of services) (await resolver.resolve(service.config.secret)).zero();
    const ca = new RunCa();
    const proxyHooks = hooks(io, resolver, audit, hasher);
    const proxy = await startEgressProxy({ services, allowHosts, ca, hooks: proxyHooks });
    try {
      const { env, withheld } = childEnv(
        services,
        proxy.url,
        writeRunFiles(dir, ca.certificatePem, proxy.url),
      );
      if (withheld.length > 0) {
        println(
          io.stderr,
          `cofre run: not passed to the tool (their names look like secrets): ${withheld.join(', ')}`,
        );
      }
      return { exitWith: await runChild(command, args, env) };
    } finally {
      await proxy.close();
      await proxyHooks.settle();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await audit.close();
    await resolver.close();
  }
}

/** `VAR=service` pairs, each checked. */
function parseEnvPairs(pairs: readonly string[]): { variable: string; service: string }[] {
  if (pairs.length === 0) throw new CofreError('COFRE_USAGE', 'give at least one --env VAR=service');
  return pairs.map((pair) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^=\s]+)$/.exec(pair);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new CofreError(
        'COFRE_USAGE',
        `invalid --env "${pair}"; expected VAR=service, e.g. CRYPTOPANIC_API_KEY=cryptopanic`,
      );
    }
    return { variable: match[1], service: match[2] };
  });
}

function parseAllowHost(value: string): AllowedHost {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  const port = Number(match?.[2] ?? '443');
  if (match?.[1] === undefined || port < 1 || port > 65_535) {
    throw new CofreError('COFRE_USAGE', `invalid --allow-host "${value}"; expected host or host:port`);
  }
  return { host: unbracket(match[1].toLowerCase()), port };
}

function runServices(
  config: CofreConfig,
  pairs: readonly { variable: string; service: string }[],
): RunService[] {
  const byName = new Map<string, RunService>();
  for (const { variable, service: name } of pairs) {
    const service = config.services[name];
    if (service === undefined) {
      const known = Object.keys(config.services).join(', ') || 'none';
      throw new CofreError(
        'COFRE_USAGE',
        `--env ${variable}=${name}: no service "${name}" in the config (configured: ${known})`,
      );
    }
    const known = byName.get(name);
    byName.set(name, {
      name,
      config: service,
      variables: [...(known?.variables ?? []), variable],
      placeholder: known?.placeholder ?? newPlaceholder(name),
      ...serviceTarget(service.baseUrl),
    });
  }
  const services = [...byName.values()];
  for (const service of services) {
    const twin = services.find((s) => s !== service && s.host === service.host && s.port === service.port);
    if (twin !== undefined) {
      // The proxy tells services apart by host and port (what a CONNECT names): two on one would be ambiguous.
      throw new CofreError(
        'COFRE_USAGE',
        `services ${service.name} and ${twin.name} share the host ${service.host}:${service.port}; one run can inject only one of them`,
      );
    }
  }
  return services;
}

/**
 * The proxy's hooks: reads through the resolver, swaps and refusals recorded in the audit log. `settle` waits for
 * the records still being written, so none is cut off by the log closing when the tool exits.
 */
function hooks(
  io: CliIo,
  resolver: SecretResolver,
  audit: AuditSink,
  hasher: AuditHasher,
): EgressHooks & { settle(): Promise<unknown> } {
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  };
  const requestId = (): string => `run_${randomBytes(9).toString('base64url')}`;
  return {
    readSecret: (service) => resolver.resolve(service.config.secret),
    onSwap: (event) =>
      track(
        audit.append({
          kind: 'secret-access',
          requestId: requestId(),
          agent: '-',
          action: 'cofre-run',
          reference: hasher.reference(event.reference),
          purpose: 'cofre-run',
          detail: { service: event.service, host: event.host, method: event.method, path: event.path },
        }),
      ),
    onRefusal: ({ code, ...event }) =>
      track(
        audit.append({
          kind: 'outcome',
          requestId: requestId(),
          agent: '-',
          action: 'cofre-run',
          status: 'refused',
          detail: { code: code ?? 'COFRE_EGRESS_REFUSED', ...event },
        }),
      ).catch((err: unknown) => {
        // The refusal stands; say that its record is missing (on stderr: stdout is the tool's).
        println(
          io.stderr,
          `cofre run: a refusal could not be recorded in the audit log: ${describeError(err)}`,
        );
      }),
    settle: () => Promise.allSettled([...pending]),
  };
}

/**
 * Writes the run's CA certificate (public part only) and the Node preload into the private directory (mode 700,
 * removed at exit), each mode 600.
 */
function writeRunFiles(dir: string, caPem: string, proxyUrl: string): { caFile: string; preload: string } {
  const caFile = join(dir, 'ca.pem');
  // A bundle, not the run's CA alone: SSL_CERT_FILE and REQUESTS_CA_BUNDLE replace a tool's trust store, and an
  // --allow-host tunnel reaches a host with its own certificate. So: the run's CA, Node's public roots and what
  // cofre itself trusts through NODE_EXTRA_CA_CERTS. Certificates only; no key is ever written.
  writeFileSync(caFile, [caPem, ...rootCertificates, extraCas()].join('\n'), { mode: 0o600 });
  // Node 20's fetch ignores HTTPS_PROXY: this preload makes an undici ProxyAgent to the run's proxy the global
  // dispatcher, which Node's built-in fetch shares through a global symbol. The `undici` package is cofre's own
  // (6.x, the line Node 20 bundles), loaded by absolute path so the tool needs nothing installed. ProxyAgent, not
  // EnvHttpProxyAgent: every host goes to the proxy anyway, and the latter warns that it is experimental.
  const undici = createRequire(import.meta.url).resolve('undici');
  const preload = join(dir, 'fetch-proxy.cjs');
  writeFileSync(
    preload,
    `'use strict';\ntry {\n  const undici = require(${JSON.stringify(undici)});\n  undici.setGlobalDispatcher(new undici.ProxyAgent(${JSON.stringify(proxyUrl)}));\n} catch (err) {\n  process.emitWarning('cofre run: fetch is not routed through the proxy: ' + err.message);\n}\n`,
    { mode: 0o600 },
  );
  return { caFile, preload };
}

/** The certificates of cofre's own NODE_EXTRA_CA_CERTS file, if any (`''` when unset or unreadable). */
function extraCas(): string {
  const file = process.env['NODE_EXTRA_CA_CERTS'];
  if (file === undefined || file === '') return '';
  try {
    // Certificate blocks only: whatever else that file holds is not passed on.
    const blocks = readFileSync(file, 'utf8').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    );
    return (blocks ?? []).join('\n');
  } catch {
    return '';
  }
}

/**
 * The child's environment: ours without secret-looking variables, with placeholders, the proxy and the run's CA;
 * no real credential.
 */
function childEnv(
  services: readonly RunService[],
  proxyUrl: string,
  files: { caFile: string; preload: string },
): { env: NodeJS.ProcessEnv; withheld: string[] } {
  // SECURITY: cofre's own environment may hold what its backends authenticate with (AZURE_CLIENT_SECRET,
  // VAULT_TOKEN, AWS_SECRET_ACCESS_KEY…): variables whose names look like secrets are not passed on.
  const placeholders = new Set(services.flatMap((s) => s.variables));
  const withheld = secretLookingNames(Object.keys(process.env)).filter((name) => !placeholders.has(name));
  const skip = new Set(['NO_PROXY', 'no_proxy', ...withheld]);
  // Every host goes through the proxy (NO_PROXY dropped), which refuses what is not a service of this run.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !skip.has(name)),
  );
  for (const service of services)
    for (const variable of service.variables) env[variable] = service.placeholder;
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'ALL_PROXY', 'all_proxy']) {
    env[name] = proxyUrl;
  }
  for (const name of ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) {
    env[name] = files.caFile;
  }
  env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --require "${files.preload}"`.trim();
  return { env, withheld };
}

/** Runs the tool with our stdio, forwarding signals; resolves with its exit status. */
function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const stop = (): void => {
      for (const signal of FORWARDED) process.off(signal, forward);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      stop();
      fail(new CofreError('COFRE_USAGE', `could not run ${command}: ${err.code ?? err.message}`));
    });
    child.on('exit', (code, signal) => {
      stop();
      done(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
